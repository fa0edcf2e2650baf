package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const k8sDir = "../../deploy/k8s"

// kustomization is the part of kustomize's Kustomization the manifests use (decoded strictly too).
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// manifests decodes every document of every resource of deploy/k8s strictly (an unknown field is
// an error) into its k8s.io/api type, keyed by kind/name.
func manifests(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%s is not among the kustomization's resources", base)
		}
	}
	out := map[string]any{}
	for _, res := range k.Resources {
		b, err := os.ReadFile(filepath.Join(k8sDir, res))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var meta struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil || meta.Kind == "" {
				t.Fatalf("%s document %d: no kind (%v)", res, i, err)
			}
			var obj any
			switch meta.Kind {
			case "Deployment":
				obj = &appsv1.Deployment{}
			case "Service":
				obj = &corev1.Service{}
			case "Secret":
				obj = &corev1.Secret{}
			case "PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			case "Job":
				obj = &batchv1.Job{}
			case "HorizontalPodAutoscaler":
				obj = &autoscalingv2.HorizontalPodAutoscaler{}
			default:
				t.Fatalf("%s document %d: unexpected kind %s", res, i, meta.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d (%s %s): %v", res, i, meta.Kind, meta.Metadata.Name, err)
			}
			out[meta.Kind+"/"+meta.Metadata.Name] = obj
		}
	}
	return out
}

// TestK8sManifests: the manifests decode strictly; the generators are an Indexed Job with
// parallelism = completions = the N of --segment auto/N; the HPA (autoscaling/v2) scales the
// target Deployment; Services select their Deployments; flashload runs as non-root.
func TestK8sManifests(t *testing.T) {
	m := manifests(t)
	for _, name := range []string{"Deployment/flashload-target", "Service/flashload-target", "HorizontalPodAutoscaler/flashload-target",
		"Deployment/redis", "Service/redis", "Job/flashload-generators", "Job/flashload-watch", "PersistentVolumeClaim/flashload-runs", "Secret/flashload-admin",
		"Service/flashload-watch", "Secret/flashload-web"} {
		if m[name] == nil {
			t.Errorf("missing %s", name)
		}
	}
	job := m["Job/flashload-generators"].(*batchv1.Job)
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("generators: completionMode %v, want Indexed", job.Spec.CompletionMode)
	}
	if job.Spec.Parallelism == nil || job.Spec.Completions == nil || *job.Spec.Parallelism != *job.Spec.Completions {
		t.Errorf("generators: parallelism %v completions %v, want equal", job.Spec.Parallelism, job.Spec.Completions)
	}
	args, _ := containerCommand(t, m, "Job/flashload-generators")
	if i := slices.Index(args, "--segment"); i < 0 || args[i+1] != "auto/"+strconv.Itoa(int(*job.Spec.Completions)) {
		t.Errorf("generators: args %q, want --segment auto/%d", args, *job.Spec.Completions)
	}
	for _, want := range []string{"--coordinate", "--run-id"} {
		if !slices.Contains(args, want) {
			t.Errorf("generators: args %q lack %s", args, want)
		}
	}
	// Behind the Service the generators recycle their connections, or pods the HPA adds idle.
	if i := slices.Index(args, "--conn-max-age"); i < 0 || i+1 >= len(args) {
		t.Errorf("generators: args %q lack --conn-max-age", args)
	} else if d, err := time.ParseDuration(args[i+1]); err != nil || d <= 0 {
		t.Errorf("generators: --conn-max-age %q, want a positive duration", args[i+1])
	}
	wargs, wenv := containerCommand(t, m, "Job/flashload-watch")
	if len(wargs) == 0 || wargs[0] != "watch" {
		t.Errorf("watch job args %q", wargs)
	}
	// The live page: --web on every interface of the pod, its token from the flashload-web
	// Secret, and a Service whose port reaches the container's.
	if i := slices.Index(wargs, "--web"); i < 0 || wargs[i+1] != "$(WEB_ADDR)" || !strings.HasSuffix(wenv["WEB_ADDR"], ":8080") {
		t.Errorf("watch job: args %q, WEB_ADDR %q", wargs, wenv["WEB_ADDR"])
	}
	wc := podSpec(m["Job/flashload-watch"]).Containers[0]
	tokenFromSecret := false
	for _, e := range wc.Env {
		if e.Name == "FLASHLOAD_WEB_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "flashload-web" {
			tokenFromSecret = m["Secret/flashload-web"].(*corev1.Secret).StringData[e.ValueFrom.SecretKeyRef.Key] != ""
		}
	}
	if !tokenFromSecret {
		t.Error("watch job: FLASHLOAD_WEB_TOKEN does not come from the flashload-web Secret")
	}
	wsvc := m["Service/flashload-watch"].(*corev1.Service)
	if len(wsvc.Spec.Ports) != 1 || len(wc.Ports) != 1 || wsvc.Spec.Ports[0].TargetPort.String() != wc.Ports[0].Name ||
		wc.Ports[0].ContainerPort != 8080 || wsvc.Spec.Selector["app"] != m["Job/flashload-watch"].(*batchv1.Job).Spec.Template.Labels["app"] {
		t.Errorf("the flashload-watch Service %+v does not reach the watch container's ports %+v", wsvc.Spec, wc.Ports)
	}
	hpa := m["HorizontalPodAutoscaler/flashload-target"].(*autoscalingv2.HorizontalPodAutoscaler)
	if r := hpa.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.Name != "flashload-target" || hpa.Spec.MaxReplicas <= *hpa.Spec.MinReplicas {
		t.Errorf("hpa %+v", hpa.Spec)
	}
	for _, name := range []string{"flashload-target", "redis"} {
		svc, dep := m["Service/"+name].(*corev1.Service), m["Deployment/"+name].(*appsv1.Deployment)
		for k, v := range svc.Spec.Selector {
			if dep.Spec.Template.Labels[k] != v {
				t.Errorf("service %s selects %s=%s, the deployment's pods are %v", name, k, v, dep.Spec.Template.Labels)
			}
		}
	}
	for _, name := range []string{"Deployment/flashload-target", "Job/flashload-generators", "Job/flashload-watch"} {
		if sc := podSpec(m[name]).SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s does not run as non-root", name)
		}
	}
}

func podSpec(obj any) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	}
	return nil
}

// containerCommand returns the first container's args of a workload and its literal env values.
func containerCommand(t *testing.T, m map[string]any, name string) ([]string, map[string]string) {
	t.Helper()
	ps := podSpec(m[name])
	if ps == nil || len(ps.Containers) == 0 {
		t.Fatalf("%s has no container", name)
	}
	c := ps.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return c.Args, env
}

var varRef = regexp.MustCompile(`\$\(([A-Z_]+)\)`)

// manifestArgs is a workload's command line with its $(VAR) references filled from vars, as the
// kubelet expands them from the container's env; a reference the test does not fill, or a var
// the manifest does not define, fails the test.
func manifestArgs(t *testing.T, name string, vars map[string]string) []string {
	t.Helper()
	args, env := containerCommand(t, manifests(t), name)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = varRef.ReplaceAllStringFunc(a, func(ref string) string {
			v := ref[2 : len(ref)-1]
			if _, ok := env[v]; !ok {
				t.Fatalf("%s: %s is not in the container's env", name, ref)
			}
			val, ok := vars[v]
			if !ok {
				t.Fatalf("%s: the local test has no value for %s", name, ref)
			}
			return val
		})
	}
	return out
}

// TestDockerfile: multi-stage, a static build, a non-root user, flashload as the entrypoint.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	if strings.Count(d, "\nFROM ") < 1 || !strings.HasPrefix(strings.TrimSpace(regexp.MustCompile(`(?m)^#.*\n`).ReplaceAllString(d, "")), "FROM ") {
		t.Error("not multi-stage")
	}
	for _, want := range []string{"AS build", "COPY --from=build", "USER 65532:65532", `ENTRYPOINT ["flashload"]`} {
		if !strings.Contains(d, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	if cmd := dockerBuildCommand(t); !strings.HasPrefix(cmd, "CGO_ENABLED=0 go build ") || !bytes.Contains(b, []byte("./cmd/flashload")) {
		t.Errorf("build command %q", cmd)
	}
}
