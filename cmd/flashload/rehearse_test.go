package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/report"
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

func writeRehearsal(t *testing.T, stock, rate string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny-sale.yaml")
	src := strings.NewReplacer("STOCK", stock, "RATE", rate).Replace(rehearsalScenario)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readSummary(t *testing.T, path string) *report.Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &s
}

// TestRehearseMemory runs the main job end to end on the memory strategy: requests are sent,
// nothing is oversold, every report file is written, the simulations sit beside the measurement,
// and the exit code is 0.
func TestRehearseMemory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	err := rehearseRun(context.Background(), &rehearseOptions{
		Scenario: writeRehearsal(t, "300", "400"), Out: out, NoTUI: true,
		Stdout: &stdout, Stderr: &stderr,
	})
	if code := exitCode(err, &stderr); code != exitOK {
		t.Fatalf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	for _, f := range []string{report.SummaryFile, "histograms.hlog", report.ReportFile,
		"sim-played/" + report.SummaryFile, "sim-full/" + report.SummaryFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	s := readSummary(t, filepath.Join(out, report.SummaryFile))
	if s.Mode != "live" || s.Requests.Total < 400 {
		t.Errorf("mode %q, %d requests; want a live run of at least 400 requests", s.Mode, s.Requests.Total)
	}
	if !s.Audit.Checked || s.Audit.Oversold != 0 || s.Audit.Lost != 0 || s.Audit.Sold == 0 {
		t.Errorf("audit %+v: want checked, something sold, nothing oversold or lost", s.Audit)
	}
	if s.Strategy != "memory" {
		t.Errorf("strategy %q, want memory", s.Strategy)
	}
	if p := readSummary(t, filepath.Join(out, "sim-played", report.SummaryFile)); p.Mode != "sim" || p.Requests.Total == 0 {
		t.Errorf("played simulation: mode %q, %d requests", p.Mode, p.Requests.Total)
	}
	for _, want := range []string{"measured", "predicted", "audit:", "gate pass: oversold == 0", "report: ", "gates: all passed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestRehearseStrategiesCatchesNaive rehearses memory and naive side by side: the shoot-out shows
// naive overselling, memory exact, and the exit code is 3 (naive's oversold gate failed).
func TestRehearseStrategiesCatchesNaive(t *testing.T) {
	out := filepath.Join(t.TempDir(), "shootout")
	var stdout, stderr bytes.Buffer
	err := rehearseRun(context.Background(), &rehearseOptions{
		Scenario: writeRehearsal(t, "100", "1500"), Out: out, NoTUI: true, NoSim: true,
		Strategies: []string{"memory", "naive"}, Stdout: &stdout, Stderr: &stderr,
	})
	if code := exitCode(err, &stderr); code != exitGate {
		t.Fatalf("exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", code, err, exitGate, stdout.String(), stderr.String())
	}
	mem := readSummary(t, filepath.Join(out, "memory", report.SummaryFile))
	naive := readSummary(t, filepath.Join(out, "naive", report.SummaryFile))
	if mem.Audit.Oversold != 0 || mem.Audit.Sold != 100 {
		t.Errorf("memory: sold %d oversold %d; want exactly the stock of 100 and nothing oversold", mem.Audit.Sold, mem.Audit.Oversold)
	}
	if naive.Audit.Oversold == 0 {
		t.Errorf("naive: the audit did not catch it overselling: %+v", naive.Audit)
	}
	table, err := os.ReadFile(filepath.Join(out, "shootout.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(table), "| naive |") || !strings.Contains(string(table), "**FAIL**") {
		t.Errorf("shoot-out table does not show naive failing:\n%s", table)
	}
	if !strings.Contains(stdout.String(), "architecture shoot-out") {
		t.Errorf("stdout lacks the shoot-out table:\n%s", stdout.String())
	}
}

// TestRehearseBadInput: unknown strategies, redis strategies without --redis, and missing
// scenarios are usage errors (exit 2), before anything starts.
func TestRehearseBadInput(t *testing.T) {
	cases := []rehearseOptions{
		{Scenario: "double-eleven", Strategy: "quantum"},
		{Scenario: "double-eleven", Strategy: "redis-lua"},
		{Scenario: "double-eleven", Strategy: "memory", Strategies: []string{"naive"}},
		{Scenario: "no-such-scenario"},
		{Scenario: "double-eleven", Wall: -time.Second},
	}
	for _, o := range cases {
		var buf bytes.Buffer
		o.Stdout, o.Stderr = &buf, &buf
		err := rehearseRun(context.Background(), &o)
		if code := exitCode(err, &buf); code != exitUsage {
			t.Errorf("%+v: exit %d (%v), want %d", o, code, err, exitUsage)
		}
	}
}

// TestUnknownCommandIsUsage: an unknown command exits 2 through the real binary, like an
// unknown flag; no command at all prints the help and exits 0.
func TestUnknownCommandIsUsage(t *testing.T) {
	bin := buildFlashload(t)
	for _, c := range []struct {
		args []string
		code int
	}{{[]string{"bogus"}, exitUsage}, {[]string{"--bogus"}, exitUsage}, {nil, exitOK}, {[]string{"rehearse", "a", "b"}, exitUsage}} {
		if code, _, stderr := runCLI(t, bin, c.args...); code != c.code {
			t.Errorf("flashload %v: exit %d, want %d (%s)", c.args, code, c.code, stderr)
		}
	}
}

// TestRehearseRedisLua rehearses on the redis-lua strategy against the real redis-server that
// scripts/test starts: the crowd sells exactly the stock, through Redis.
func TestRehearseRedisLua(t *testing.T) {
	addr := testenv.RedisAddr(t)
	out := filepath.Join(t.TempDir(), "redis")
	var stdout, stderr bytes.Buffer
	err := rehearseRun(context.Background(), &rehearseOptions{
		Scenario: writeRehearsal(t, "150", "600"), Out: out, NoTUI: true, NoSim: true,
		Redis: "redis://" + addr + "/0", Stdout: &stdout, Stderr: &stderr,
	})
	if code := exitCode(err, &stderr); code != exitOK {
		t.Fatalf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	s := readSummary(t, filepath.Join(out, report.SummaryFile))
	if s.Strategy != "redis-lua" || s.Audit.Sold != 150 || s.Audit.Oversold != 0 || s.Audit.Lost != 0 {
		t.Errorf("strategy %q audit %+v: want redis-lua selling exactly 150, nothing oversold or lost", s.Strategy, s.Audit)
	}
}
