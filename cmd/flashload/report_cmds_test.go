package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
)

// TestReportCLI runs report, gate, compare and merge through the real binary (built once) and
// checks their exit codes: 0 ok, 2 bad input, 3 a failed gate or a regression.
func TestReportCLI(t *testing.T) {
	bin := testenv.FlashloadBinary(t)
	t.Run("gate", func(t *testing.T) { testGateExitCodes(t, bin) })
	t.Run("report", func(t *testing.T) { testReportCommand(t, bin) })
	t.Run("compare", func(t *testing.T) { testCompareCommand(t, bin) })
	t.Run("merge", func(t *testing.T) { testMergeCommand(t, bin) })
}

// writeRun records a small run whose service time is scaled by slow and writes it to a directory.
func writeRun(t *testing.T, slow float64, segment string) string {
	t.Helper()
	rec := result.NewRecorder(result.RecorderOptions{Name: "cli", Mode: "live", Seed: 3, Window: time.Second, Workers: 2,
		StartedAt: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC), Segment: segment,
		TargetRate: func(time.Duration) float64 { return 100 }})
	for i := range 2000 {
		at := time.Duration(i) * 10 * time.Millisecond
		svc := time.Duration(slow*float64(time.Millisecond)) * time.Duration(5+i%17)
		rec.Shard(i % 2).Record(&result.Result{Intended: at, Sent: at, Done: at + svc, Status: 201, Code: "RESERVED"})
	}
	run := rec.Finish(20 * time.Second)
	run.Summary.Audit.Checked = true
	if _, err := run.Complete(result.Completion{Gates: []string{"p(99) < 1s", "oversold == 0"}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := render.WriteAll(dir, run); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCLI(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

func testGateExitCodes(t *testing.T, bin string) {
	dir := writeRun(t, 1, "")
	summary := filepath.Join(dir, result.SummaryFile)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"gate", summary}, 0, "PASS  p(99) < 1s", ""},
		{[]string{"gate", dir, "--threshold", "p(99) < 10s", "-t", "error_rate < 1%"}, 0, "PASS  error_rate < 1%  0.00%", ""},
		{[]string{"gate", summary, "--threshold", "p(99) < 10ms", "--threshold", "oversold == 0"}, 3, "FAIL  p(99) < 10ms", "1 of 2 gates failed"},
		{[]string{"gate", summary, "--threshold", "p(99 < 1s"}, 2, "", `col 5: expected ")"`},
		{[]string{"gate", filepath.Join(dir, "nope.json")}, 2, "", "no such file"},
		{[]string{"gate"}, 2, "", "accepts 1 arg"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, bin, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("flashload %s: exit %d (want %d)\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), code, tt.code, out, errOut)
		}
	}
	// The failing gate prints its measured value.
	_, out, _ := runCLI(t, bin, "gate", summary, "-t", "p(99) < 10ms")
	if !strings.Contains(out, "ms") || !strings.Contains(out, "FAIL") {
		t.Errorf("no measured value: %s", out)
	}
}

func testReportCommand(t *testing.T, bin string) {
	dir := writeRun(t, 1, "")
	for format, want := range map[string]string{"text": "latency    p50", "json": `"schema": "flashload.summary/v1"`,
		"markdown": "### flashload `cli`", "junit": "<testsuites", "csv": "t,wall,target_rps", "html": `id="flashload-data"`} {
		code, out, errOut := runCLI(t, bin, "report", dir, "--format", format)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("report --format %s: exit %d %s\n%.300s", format, code, errOut, out)
		}
	}
	if code, _, _ := runCLI(t, bin, "report", dir, "--format", "pdf"); code != 2 {
		t.Errorf("report --format pdf: exit %d, want 2", code)
	}
}

func testCompareCommand(t *testing.T, bin string) {
	base, same, slow := writeRun(t, 1, ""), writeRun(t, 1, ""), writeRun(t, 2, "")
	code, out, errOut := runCLI(t, bin, "compare", base, same, "--max-regression", "10%")
	if code != 0 || !strings.Contains(out, "p99") {
		t.Errorf("compare equal runs: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, bin, "compare", base, same, slow, "--max-regression", "10%", "--label", "a,b,c")
	if code != 3 || !strings.Contains(errOut, "regression: c: p50") || !strings.Contains(out, "a (base)") {
		t.Errorf("compare with a 2x slower run: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, bin, "compare", base, slow, "--max-regression", "ten"); code != 2 {
		t.Errorf("bad --max-regression: exit %d, want 2", code)
	}
}

func testMergeCommand(t *testing.T, bin string) {
	a, b := writeRun(t, 1, "1/2"), writeRun(t, 1.5, "2/2")
	out := filepath.Join(t.TempDir(), "merged")
	code, stdout, errOut := runCLI(t, bin, "merge", a, b, "--out", out)
	if code != 0 || !strings.Contains(stdout, "4000 total") {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, errOut)
	}
	m, err := result.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary.Requests.Total != 4000 || m.Latency.TotalCount() != 4000 || len(m.Summary.Gates) != 2 {
		t.Errorf("merged: %+v", m.Summary.Requests)
	}
	if _, err := os.Stat(filepath.Join(out, render.HTMLFile)); err != nil {
		t.Error(err)
	}
	if code, _, _ := runCLI(t, bin, "merge", a, b, "--out", out, "-t", "p(50) < 1ms"); code != 3 {
		t.Errorf("merge with a failing gate: exit %d, want 3", code)
	}
	if code, _, _ := runCLI(t, bin, "merge", a); code != 2 {
		t.Errorf("merge without --out: exit %d, want 2", code)
	}
}
