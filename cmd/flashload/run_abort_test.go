package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flashload/flashload/result"
)

// TestRunAbortGate: a single generator evaluates its abort gates on every window: a gate that
// fails stops the run early, the partial summary names it, and the exit is 3.
func TestRunAbortGate(t *testing.T) {
	base, token := startRunTarget(t, "memory")
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	src := strings.NewReplacer("DURATION", "20s", "GATES", `["p(99) < 10s", {expr: "requests < 300", abort: true}]`).Replace(coordScenario)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	o := &runOptions{Scenario: path, Target: base, AdminToken: token, Out: filepath.Join(dir, "run"), NoTUI: true, Stdout: &out, Stderr: &errb}
	err := runLive(context.Background(), o)
	if code := exitCode(err, io.Discard); code != exitGate || !strings.Contains(err.Error(), `abort gate "requests < 300" failed`) {
		t.Fatalf("exit %d (%v), want %d naming the gate", code, err, exitGate)
	}
	s, err := result.ReadSummary(filepath.Join(dir, "run", result.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Partial || s.Aborted != "requests < 300" || s.DurationS > 10 || s.Requests.Total < 300 {
		t.Errorf("summary: partial %v aborted %q after %.1fs with %d requests", s.Partial, s.Aborted, s.DurationS, s.Requests.Total)
	}
}
