package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/coord"
	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
)

// The coordinated-run tests drive real processes: the flashload binary built with the
// Dockerfile's build command (testenv.FlashloadBinary), three generators on one in-process
// target, Redis as the coordinator, and watch (in-process, to read its live view).

// dockerBuildCommand is the Dockerfile's `RUN CGO_ENABLED=0 go build ...` line, without RUN.
func dockerBuildCommand(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := testenv.DockerBuildCommand(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

const coordScenario = `name: coordinated
seed: 42
skus: [{sku: cup, stock: 1000000, price: 5}]
traffic: {arrivals: poisson, start_rps: 300, stages: [{duration: DURATION, rps: 300}]}
journeys:
  - name: buyer
    steps: [{purchase: {sku: cup}}]
gates: GATES
`

type coordEnv struct {
	dir, scenario, wall, target, token, redisURL, runID string
}

func newCoordEnv(t *testing.T, duration, gates string) *coordEnv {
	t.Helper()
	addr := testenv.RedisAddr(t)
	testenv.FlashloadBinary(t) // before watch starts its clock: the first build takes a while
	e := &coordEnv{dir: t.TempDir(), wall: duration, redisURL: "redis://" + addr + "/0",
		runID: fmt.Sprintf("%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano())}
	e.target, e.token = startRunTarget(t, "memory")
	e.scenario = filepath.Join(e.dir, "s.yaml")
	src := strings.NewReplacer("DURATION", duration, "GATES", gates).Replace(coordScenario)
	if err := os.WriteFile(e.scenario, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// generatorArgs is one generator's command line: the Indexed Job's (deploy/k8s), with its
// variables filled in for this machine. n must be the Job's completions.
func (e *coordEnv) generatorArgs(t *testing.T, out string) []string {
	return manifestArgs(t, "Job/flashload-generators", map[string]string{"SCENARIO": e.scenario, "WALL": e.wall,
		"TARGET_URL": e.target, "COORDINATE": e.redisURL, "RUN_ID": e.runID, "OUT_DIR": out})
}

type genProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	out    string
	done   chan error
}

// startGenerators starts n generator processes, the i-th with JOB_COMPLETION_INDEX=i.
func (e *coordEnv) startGenerators(t *testing.T, n int) []*genProc {
	t.Helper()
	bin := testenv.FlashloadBinary(t)
	var gens []*genProc
	for i := range n {
		g := &genProc{out: filepath.Join(e.dir, fmt.Sprintf("seg%d", i+1)), done: make(chan error, 1)}
		g.cmd = exec.Command(bin, e.generatorArgs(t, g.out)...)
		g.cmd.Env = append(os.Environ(), coord.IndexEnv+"="+strconv.Itoa(i), "FLASHLOAD_ADMIN_TOKEN="+e.token)
		g.cmd.Stderr = &g.stderr
		if err := g.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { g.done <- g.cmd.Wait() }()
		t.Cleanup(func() { _ = g.cmd.Process.Kill() })
		gens = append(gens, g)
	}
	return gens
}

func (g *genProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-g.done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("generator: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatalf("generator %s did not end\n%s", g.out, g.stderr.String())
	}
	return -1
}

type watchResult struct {
	w    *coord.Watcher
	err  error
	out  bytes.Buffer
	errb bytes.Buffer
}

// startWatch runs the watch Job's command line (deploy/k8s) in-process, to read its live view;
// done closes when it ends.
func (e *coordEnv) startWatch(t *testing.T, out string) (res *watchResult, done chan struct{}) {
	t.Helper()
	res = &watchResult{}
	got := make(chan *coord.Watcher, 1)
	done = make(chan struct{})
	watcherHook = func(w *coord.Watcher) { got <- w }
	t.Cleanup(func() { watcherHook = nil })
	root := newRootCmd()
	root.SetArgs(manifestArgs(t, "Job/flashload-watch", map[string]string{"COORDINATE": e.redisURL, "RUN_ID": e.runID, "OUT_DIR": out, "WEB_ADDR": "127.0.0.1:0"}))
	root.SetOut(&res.out)
	root.SetErr(&res.errb)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	go func() { defer close(done); res.err = root.ExecuteContext(ctx) }()
	select {
	case res.w = <-got:
	case <-done:
		t.Fatalf("watch ended at once: %v", res.err)
	}
	return res, done
}

// TestCoordinatedRun: three generator processes and watch against one target: the merged run
// watch writes equals flashload merge of the three segment directories; the arrivals add up to
// one generator's run of the whole scenario with the same seed; the live view's last window has
// the final p99.
func TestCoordinatedRun(t *testing.T) {
	e := newCoordEnv(t, "3s", `["p(99) < 10s", {expr: "oversold == 0", abort: true}]`)
	merged := filepath.Join(e.dir, "merged")
	wr, wdone := e.startWatch(t, merged)
	gens := e.startGenerators(t, 3)
	for _, g := range gens {
		if code := g.wait(t); code != 0 {
			t.Fatalf("generator %s: exit %d\n%s", g.out, code, g.stderr.String())
		}
	}
	<-wdone
	if wr.err != nil {
		t.Fatalf("watch: %v\n%s\n%s", wr.err, wr.out.String(), wr.errb.String())
	}
	got, err := result.ReadRun(merged)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	byMerge := filepath.Join(e.dir, "by-merge")
	if err := mergeRun(&mergeOptions{Out: &out, OutDir: byMerge}, []string{gens[0].out, gens[1].out, gens[2].out}); err != nil {
		t.Fatal(err)
	}
	want, err := result.ReadRun(byMerge)
	if err != nil {
		t.Fatal(err)
	}
	gs := *got.Summary
	if len(gs.Generators) != 3 {
		t.Errorf("generators %+v", gs.Generators)
	}
	for _, g := range gs.Generators {
		if g.State != "done" || g.Windows < 3 {
			t.Errorf("generator %+v", g)
		}
	}
	gs.Generators = nil
	if !reflect.DeepEqual(&gs, want.Summary) {
		a, _ := json.MarshalIndent(&gs, "", " ")
		b, _ := json.MarshalIndent(want.Summary, "", " ")
		t.Errorf("watch's merged summary differs from flashload merge's:\nwatch %s\nmerge %s", a, b)
	}
	if gs.Audit.Unexpected != 0 || gs.Audit.Lost != 0 || len(gs.Audit.Violations) != 0 {
		t.Errorf("audit of the coordinated run: %+v", gs.Audit)
	}

	// The live view, once every final window is in, ends with the merged run's last window.
	last := len(gs.Timeline) - 1
	p, ok := wr.w.Live().Window(int64(last))
	if !ok || p.P99Ms != gs.Timeline[last].P99Ms || p.Requests != gs.Timeline[last].Requests {
		t.Errorf("live window %d = %+v (%v), merged %+v", last, p, ok, gs.Timeline[last])
	}
	live := wr.w.Live().Summary()
	if live.LatencyMs.P99 != gs.LatencyMs.P99 || live.Requests.Total != gs.Requests.Total {
		t.Errorf("live p99 %v of %d, merged p99 %v of %d", live.LatencyMs.P99, live.Requests.Total, gs.LatencyMs.P99, gs.Requests.Total)
	}

	// One generator playing the whole scenario with the same seed has the same arrivals.
	single := filepath.Join(e.dir, "single")
	c := exec.Command(testenv.FlashloadBinary(t), "run", e.scenario, "--target", e.target, "--admin-token", e.token, "--out", single, "--no-tui")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("single run: %v\n%s", err, b)
	}
	one, err := result.ReadSummary(filepath.Join(single, result.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := one.Requests.Arrivals+one.Requests.Dropped, gs.Requests.Arrivals+gs.Requests.Dropped; a != b {
		t.Errorf("arrivals: one generator %d, three %d", a, b)
	}
	t.Logf("merged: %d arrivals, %d requests, p50 %.2f ms p99 %.2f ms, achieved %.1f/s of %.1f/s; single: %d arrivals, p50 %.2f ms p99 %.2f ms, achieved %.1f/s",
		gs.Requests.Arrivals, gs.Requests.Total, gs.LatencyMs.P50, gs.LatencyMs.P99, gs.Rate.AchievedAvg, gs.Rate.TargetAvg,
		one.Requests.Arrivals, one.LatencyMs.P50, one.LatencyMs.P99, one.Rate.AchievedAvg)
}

// TestCoordinatedAbort: an abort gate that fails on the merged run mid-way stops all three
// generators within 2 s of the abort; each writes a partial summary naming the gate and exits 3,
// and so does watch.
func TestCoordinatedAbort(t *testing.T) {
	e := newCoordEnv(t, "20s", `["p(99) < 10s", {expr: "requests < 600", abort: true}]`)
	wr, wdone := e.startWatch(t, filepath.Join(e.dir, "merged"))
	gens := e.startGenerators(t, 3)
	for _, g := range gens {
		if code := g.wait(t); code != exitGate {
			t.Errorf("generator %s: exit %d, want %d\n%s", g.out, code, exitGate, g.stderr.String())
		}
		if !strings.Contains(g.stderr.String(), `abort gate "requests < 600" failed`) {
			t.Errorf("generator %s does not name the gate:\n%s", g.out, g.stderr.String())
		}
	}
	<-wdone
	if code := exitCode(wr.err, &bytes.Buffer{}); code != exitGate {
		t.Errorf("watch: exit %d (%v), want %d", code, wr.err, exitGate)
	}
	a, ok := wr.w.Aborted()
	if !ok || a.Gate != "requests < 600" {
		t.Fatalf("abort %+v %v", a, ok)
	}
	for _, g := range gens {
		s, err := result.ReadSummary(filepath.Join(g.out, result.SummaryFile))
		if err != nil {
			t.Fatal(err)
		}
		stopped := s.StartedAt.Add(time.Duration(s.DurationS * float64(time.Second)))
		lat := stopped.Sub(a.At)
		t.Logf("generator %s stopped %v after the abort (%d requests, %.2fs of 20s)", s.Segment, lat.Round(time.Millisecond), s.Requests.Total, s.DurationS)
		if !s.Partial || s.Aborted != "requests < 600" {
			t.Errorf("generator %s: partial %v aborted %q", s.Segment, s.Partial, s.Aborted)
		}
		if lat > 2*time.Second {
			t.Errorf("generator %s stopped %v after the abort, want within 2s", s.Segment, lat)
		}
	}
}

// TestCoordinatedLost: a generator killed mid-run is marked lost by watch; the merged result of
// the other two is marked partial and watch exits 1.
func TestCoordinatedLost(t *testing.T) {
	e := newCoordEnv(t, "4s", `["p(99) < 10s"]`)
	merged := filepath.Join(e.dir, "merged")
	wr, wdone := e.startWatch(t, merged)
	gens := e.startGenerators(t, 3)
	// Kill generator 2 once it has published a window.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if gs := wr.w.Generators(); len(gs) >= 2 && gs[1].Windows > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := gens[1].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for i, g := range gens {
		if code := g.wait(t); i != 1 && code != 0 {
			t.Errorf("generator %s: exit %d\n%s", g.out, code, g.stderr.String())
		}
	}
	<-wdone
	if code := exitCode(wr.err, &bytes.Buffer{}); code != exitRuntime || !strings.Contains(wr.err.Error(), "2/3") {
		t.Errorf("watch: exit %d (%v), want %d naming 2/3", code, wr.err, exitRuntime)
	}
	s, err := result.ReadSummary(filepath.Join(merged, result.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Partial || len(s.Generators) != 3 || s.Generators[1].State != "lost" || s.Generators[0].State != "done" {
		t.Errorf("merged: partial %v generators %+v", s.Partial, s.Generators)
	}
	if !regexp.MustCompile(`2/3\s+lost`).MatchString(wr.out.String()) {
		t.Errorf("watch's generator table does not say 2/3 is lost:\n%s", lastLines(wr.out.String(), 8))
	}
}

func lastLines(s string, n int) string {
	var ls []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		ls = append(ls, sc.Text())
	}
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
