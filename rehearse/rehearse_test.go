package rehearse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// rehearsalScenario is a short sale: a crowd of distinct users racing for a small stock.
const rehearsalScenario = `name: tiny-sale
description: a few seconds of a crowd racing for a small stock
seed: 5
skus:
  - {sku: mug, stock: STOCK, price: 20, cost: 10, limit_per_user: 1}
traffic:
  arrivals: uniform
  start_rps: RATE
  stages: [{duration: 2s, rps: RATE}]
users: 100000
journeys:
  - name: buyer
    steps: [{purchase: {sku: mug}}, {pay: {probability: 1}}]
model:
  replicas: 2
  workers_per_replica: 16
  service_time: {dist: lognormal, p50: 2ms, p99: 20ms}
gates: ["oversold == 0", "lost == 0", "p(99) < 10s"]
`

func tinySale(t *testing.T, stock, rate string) *scenario.Scenario {
	t.Helper()
	src := strings.NewReplacer("STOCK", stock, "RATE", rate).Replace(rehearsalScenario)
	s, err := scenario.Parse("tiny-sale.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readSummary(t *testing.T, dir string) *result.Summary {
	t.Helper()
	s, err := result.ReadSummary(filepath.Join(dir, result.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunMemory runs the main job end to end on the memory strategy: requests are sent,
// nothing is oversold, every report file is written, the simulations sit beside the measurement.
func TestRunMemory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Options{Scenario: tinySale(t, "300", "400"), Out: out, Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Failed()) > 0 || len(res.Rehearsals) != 1 {
		t.Fatalf("%v, failed %v\nstdout:\n%s\nstderr:\n%s", err, res.Failed(), stdout.String(), stderr.String())
	}
	for _, f := range []string{result.SummaryFile, result.HistogramsFile, render.HTMLFile,
		"sim-played/" + result.SummaryFile, "sim-full/" + result.SummaryFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	s := readSummary(t, out)
	if s.Mode != "live" || s.Requests.Total < 400 {
		t.Errorf("mode %q, %d requests; want a live run of at least 400 requests", s.Mode, s.Requests.Total)
	}
	if !s.Audit.Checked || s.Audit.Oversold != 0 || s.Audit.Lost != 0 || s.Audit.Sold == 0 {
		t.Errorf("audit %+v: want checked, something sold, nothing oversold or lost", s.Audit)
	}
	if s.Strategy != "memory" {
		t.Errorf("strategy %q, want memory", s.Strategy)
	}
	if p := readSummary(t, filepath.Join(out, "sim-played")); p.Mode != "sim" || p.Requests.Total == 0 {
		t.Errorf("played simulation: mode %q, %d requests", p.Mode, p.Requests.Total)
	}
	for _, want := range []string{"measured", "predicted", "full scale (simulated)", "audit:", "PASS  oversold == 0",
		"report: " + filepath.Join(out, render.HTMLFile), "gates: all passed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestRunStrategiesCatchesNaive rehearses memory and naive side by side: the shoot-out shows
// naive overselling and failing its gates, memory exact.
func TestRunStrategiesCatchesNaive(t *testing.T) {
	out := filepath.Join(t.TempDir(), "shootout")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Options{Scenario: tinySale(t, "100", "1500"), Out: out, NoSim: true,
		Strategies: []string{"memory", "naive"}, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if f := res.Failed(); len(f) != 1 || f[0] != "naive" {
		t.Errorf("failed %v, want [naive]", f)
	}
	mem, naive := readSummary(t, filepath.Join(out, "memory")), readSummary(t, filepath.Join(out, "naive"))
	if mem.Audit.Oversold != 0 || mem.Audit.Sold != 100 {
		t.Errorf("memory: sold %d oversold %d; want exactly the stock of 100 and nothing oversold", mem.Audit.Sold, mem.Audit.Oversold)
	}
	if naive.Audit.Oversold == 0 {
		t.Errorf("naive: the audit did not catch it overselling: %+v", naive.Audit)
	}
	table, err := os.ReadFile(filepath.Join(out, ShootoutFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(table), "| naive |") || !strings.Contains(string(table), "**FAIL**") ||
		!strings.Contains(string(table), "(naive/report.html)") {
		t.Errorf("shoot-out table does not show naive failing:\n%s", table)
	}
	if !strings.Contains(stdout.String(), "architecture shoot-out") || strings.Contains(stdout.String(), "gates: all passed") {
		t.Errorf("stdout: want the shoot-out table and no all-passed line:\n%s", stdout.String())
	}
}

// TestRunBadInput: unknown strategies, "all" beside another name, a fleet of an in-process
// strategy, negative wall time and closed-model scenarios are *InputError, before anything
// starts. (A strategy on Redis without a URL is not: the rehearsal starts its own redis-server.)
func TestRunBadInput(t *testing.T) {
	closed := tinySale(t, "1", "1")
	closed.Traffic.Model = "closed"
	for name, o := range map[string]Options{
		"unknown strategy":        {Scenario: tinySale(t, "1", "1"), Strategies: []string{"quantum"}},
		"all and more":            {Scenario: tinySale(t, "1", "1"), Strategies: []string{"all", "naive"}},
		"fleet of memory":         {Scenario: tinySale(t, "1", "1"), Strategies: []string{"memory"}, Replicas: 2},
		"fleet of all in-process": {Scenario: tinySale(t, "1", "1"), Strategies: []string{"redis-lua", "sharded"}, Replicas: 3},
		"negative replicas":       {Scenario: tinySale(t, "1", "1"), Replicas: -2},
		"twice":                   {Scenario: tinySale(t, "1", "1"), Strategies: []string{"memory", "memory"}},
		"negative wall":           {Scenario: tinySale(t, "1", "1"), Wall: -time.Second},
		"closed model":            {Scenario: closed},
		"no scenario":             {},
	} {
		o.Out = t.TempDir()
		_, err := Run(context.Background(), o)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an *InputError", name, err)
		}
	}
}

// TestRunRedisLua rehearses on the redis-lua strategy against a real redis-server: the crowd
// sells exactly the stock, through Redis.
func TestRunRedisLua(t *testing.T) {
	addr := testenv.RedisAddr(t)
	out := filepath.Join(t.TempDir(), "redis")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Options{Scenario: tinySale(t, "150", "600"), Out: out, NoSim: true,
		Target: TargetOptions{Redis: "redis://" + addr + "/0"}, Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("%v, failed %v\nstdout:\n%s\nstderr:\n%s", err, res.Failed(), stdout.String(), stderr.String())
	}
	s := readSummary(t, out)
	if s.Strategy != "redis-lua" || s.Audit.Sold != 150 || s.Audit.Oversold != 0 || s.Audit.Lost != 0 {
		t.Errorf("strategy %q audit %+v: want redis-lua selling exactly 150, nothing oversold or lost", s.Strategy, s.Audit)
	}
}

// TestTargetStartStop: a started target answers on loopback with its admin token, and after Stop
// its port is closed.
func TestTargetStartStop(t *testing.T) {
	tgt, err := StartTarget(context.Background(), TargetOptions{Strategy: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tgt.URL(), "http://127.0.0.1:") || len(tgt.AdminToken()) != 32 || tgt.Strategy() != "memory" {
		t.Errorf("url %q token %q strategy %q", tgt.URL(), tgt.AdminToken(), tgt.Strategy())
	}
	if err := httpGet(tgt.URL() + "/healthz"); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	if err := tgt.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := httpGet(tgt.URL() + "/healthz"); err == nil {
		t.Error("the target still answers after Stop")
	}
}

func httpGet(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
