package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
)

const simCLIScenario = `
name: cli-sim
seed: 5
duration: 60s
traffic:
  arrivals: uniform
  start_rps: 2100
  stages: [{duration: 60s, rps: 2100}]
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  replicas: 12
  workers_per_replica: 4
  service_time: {dist: deterministic, mean: 10ms}
  autoscaler: {type: fixed}
gates: ["p(99) < 100ms"]
`

func writeScenario(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runBin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestSimAndPlanCLI runs `flashload sim` and `flashload plan` through the real binary: the files
// a run writes, and the exit codes (0 ok, 2 bad input, 3 a failed gate or no capacity).
func TestSimAndPlanCLI(t *testing.T) {
	bin := testenv.FlashloadBinary(t)
	good := writeScenario(t, simCLIScenario)

	out := filepath.Join(t.TempDir(), "run")
	text, code := runBin(t, bin, "sim", good, "--no-tui", "--out", out, "--mode", "request")
	if code != 0 {
		t.Fatalf("sim: exit %d\n%s", code, text)
	}
	for _, f := range []string{"summary.json", "histograms.hlog", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("sim wrote no %s: %v", f, err)
		}
	}
	run, err := result.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Summary; s.Mode != "sim" || s.Requests.Total != 126000 || len(s.Gates) != 1 || !s.Gates[0].Pass {
		t.Errorf("summary: mode %q, %d requests, gates %+v", s.Mode, s.Requests.Total, s.Gates)
	}

	// Five replicas cannot carry the load: the gate fails, exit 3.
	slow := writeScenario(t, strings.Replace(simCLIScenario, "replicas: 12", "replicas: 5", 1))
	if text, code := runBin(t, bin, "sim", slow, "--no-tui", "--out", t.TempDir()); code != 3 {
		t.Errorf("failing gate: exit %d, want 3\n%s", code, text)
	}
	bad := writeScenario(t, strings.Replace(simCLIScenario, "autoscaler: {type: fixed}", "load_balancer: sticky", 1))
	if text, code := runBin(t, bin, "sim", bad, "--no-tui", "--out", t.TempDir()); code != 2 || !strings.Contains(text, "load_balancer") {
		t.Errorf("invalid model: exit %d, want 2 naming load_balancer\n%s", code, text)
	}
	if text, code := runBin(t, bin, "sim", good, "--no-tui", "--mode", "warp", "--out", t.TempDir()); code != 2 {
		t.Errorf("bad mode: exit %d, want 2\n%s", code, text)
	}

	text, code = runBin(t, bin, "plan", good, "--mode", "fluid")
	if code != 0 || !strings.Contains(text, "replicas  6 (the model has 12") {
		t.Errorf("plan: exit %d\n%s", code, text)
	}
	never := writeScenario(t, strings.Replace(simCLIScenario, "p(99) < 100ms", "p(99) < 1ms", 1))
	if text, code := runBin(t, bin, "plan", never, "--mode", "fluid", "--max-replicas", "32"); code != 3 {
		t.Errorf("no capacity: exit %d, want 3\n%s", code, text)
	}
}

// TestPlanCrowd: plan on a scenario with a countdown crowd also answers how many replicas its
// watchers need at full scale (the push tier's plan) and what the herd is.
func TestPlanCrowd(t *testing.T) {
	var out, errs strings.Builder
	if err := planRun(context.Background(), &planOptions{Out: &out, Err: &errs}, "countdown"); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	got := out.String()
	if !strings.Contains(got, "crowd on phone-x: 300000 watchers on ") || !strings.Contains(got, "herd: 300000 buyers") {
		t.Errorf("plan countdown printed no crowd plan:\n%s", got)
	}
}
