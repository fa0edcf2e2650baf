package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/result"
)

const runScenario = `name: run-cli
skus: [{sku: cup, stock: 50, price: 5, limit_per_user: 1}]
traffic: {arrivals: uniform, start_rps: 200, stages: [{duration: 1s, rps: 200}]}
journeys:
  - name: buyer
    steps: [{purchase: {sku: cup}}, {pay: {probability: 1}}]
gates: [GATES]
`

// startRunTarget starts the reference target as rehearse does; it answers its URL and admin token.
func startRunTarget(t *testing.T, strategy string) (string, string) {
	t.Helper()
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: strategy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Stop(context.Background()) })
	return tgt.URL(), tgt.AdminToken()
}

// TestRunCLI runs `flashload run` through runLive against the in-process target: the run
// directory is written, the audit printed, and a failed gate is exit 3.
func TestRunCLI(t *testing.T) {
	base, token := startRunTarget(t, "memory")
	dir := t.TempDir()
	tests := []struct {
		name, gates string
		code        int
	}{
		{"pass", `"oversold == 0", "lost == 0", "rate(pay_success) > 99%"`, exitOK},
		{"gate fails", `"p(99) < 1us"`, exitGate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(runScenario, "GATES", tt.gates, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			o := &runOptions{Scenario: path, Target: base, AdminToken: token, Out: filepath.Join(dir, tt.name),
				NoTUI: true, Stdout: &out, Stderr: &errb}
			err := runLive(context.Background(), o)
			if code := exitCode(err, io.Discard); code != tt.code {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, tt.code, out.String())
			}
			sum, err := result.ReadSummary(filepath.Join(dir, tt.name, result.SummaryFile))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Requests.Total < 200 || !sum.Audit.Checked || sum.Audit.Sold != 50 || sum.Audit.Oversold != 0 {
				t.Errorf("summary: requests %+v audit %+v", sum.Requests, sum.Audit)
			}
			if !strings.Contains(out.String(), "audit: stock 50  sold 50") {
				t.Errorf("output:\n%s", out.String())
			}
			for _, f := range []string{"histograms.hlog", "report.html"} {
				if _, err := os.Stat(filepath.Join(dir, tt.name, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestRunCLIUsage: bad input is exit 2 before any load.
func TestRunCLIUsage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(runScenario, "GATES", `"oversold == 0"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]*runOptions{
		"remote target":    {Scenario: path, Target: "http://192.0.2.1:8080"},
		"not a URL":        {Scenario: path, Target: "127.0.0.1:8080"},
		"no target":        {Scenario: path},
		"bad segment":      {Scenario: path, Target: "http://127.0.0.1:1", Segment: "3/2"},
		"missing orders":   {Scenario: path, Target: "http://127.0.0.1:1", Orders: "/nonexistent/orders.csv"},
		"unknown scenario": {Scenario: "no-such-scenario", Target: "http://127.0.0.1:1"},
		"empty replica":    {Scenario: path, Target: "http://127.0.0.1:1,,http://127.0.0.1:2"},
		"bad replica":      {Scenario: path, Target: "http://127.0.0.1:1,127.0.0.1:2"},
		"remote replica":   {Scenario: path, Target: "http://127.0.0.1:1,http://192.0.2.1:8080"},
		"replica twice":    {Scenario: path, Target: "http://127.0.0.1:1,http://127.0.0.1:1/"},
		"too few conns":    {Scenario: path, Target: "http://127.0.0.1:1,http://127.0.0.1:2", MaxConns: 1},
	} {
		o.Stdout, o.Stderr = io.Discard, io.Discard
		if code := exitCode(runLive(context.Background(), o), io.Discard); code != exitUsage {
			t.Errorf("%s: exit %d, want %d", name, code, exitUsage)
		}
	}
}

// TestRunCLIReplicas: `run --target A,B` spreads the load over both replicas while setup and the
// audit go to the first only (--admin-url's default): B never got the SKU, yet answered
// purchases (404), and the audit of A is clean.
func TestRunCLIReplicas(t *testing.T) {
	a, token := startRunTarget(t, "memory")
	b, _ := startRunTarget(t, "memory")
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(runScenario, "GATES", `"oversold == 0", "lost == 0"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := &runOptions{Scenario: path, Target: a + "," + b, AdminToken: token, Out: filepath.Join(dir, "run"),
		NoTUI: true, Stdout: &out, Stderr: io.Discard}
	if err := runLive(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	sum, err := result.ReadSummary(filepath.Join(dir, "run", result.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Audit.Checked || sum.Audit.Sold == 0 || sum.Requests.ByStatus["404"] == 0 {
		t.Errorf("requests %+v audit %+v: want sales on A and 404s from B", sum.Requests, sum.Audit)
	}
	for base, want := range map[string]int{a: 200, b: 404} {
		resp, err := http.Get(base + "/v1/skus/cup")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s/v1/skus/cup: %d, want %d (setup on the first target only)", base, resp.StatusCode, want)
		}
	}
}

// TestRunCPUProfile: --cpuprofile writes a pprof CPU profile (gzipped) of the whole run.
func TestRunCPUProfile(t *testing.T) {
	base, token := startRunTarget(t, "memory")
	dir := t.TempDir()
	path := filepath.Join(dir, "view.yaml")
	scen := `name: run-profile
skus: [{sku: cup, stock: 50, price: 5}]
traffic: {arrivals: uniform, start_rps: 100, stages: [{duration: 1s, rps: 100}]}
journeys: [{name: viewer, steps: [{view: {sku: cup}}]}]
`
	if err := os.WriteFile(path, []byte(scen), 0o644); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "cpu.prof")
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"run", path, "--target", base, "--admin-token", token, "--no-tui",
		"--out", filepath.Join(dir, "out"), "--cpuprofile", prof})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("the profile (%d bytes) is not a gzipped pprof profile", len(b))
	}
}
