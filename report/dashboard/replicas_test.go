package dashboard

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestReplicaLine: the dashboard shows each replica's share of the last window's answers, a
// ready replica with none as idle, in ID order; the plain progress line says the range and
// the idle count; no replica named, no line.
func TestReplicaLine(t *testing.T) {
	s := liveSnapshot()
	s.ByReplica = map[string]int64{"replica-0": 300, "replica-1": 100, "replica-10": 100}
	s.ReplicasReady = []string{"replica-0", "replica-1", "replica-2", "replica-10"}
	got := ansi.Strip(testModel(s, 140, 45).replicaLine(120))
	want := "load replica-0 60.0% · replica-1 20.0% · replica-2 idle · replica-10 20.0%"
	if strings.TrimSpace(got) != want {
		t.Errorf("replica line %q, want %q", got, want)
	}
	if narrow := ansi.Strip(testModel(s, 140, 45).replicaLine(30)); ansi.StringWidth(strings.TrimSpace(narrow)) > 30 {
		t.Errorf("line %q wider than 30", narrow)
	}
	if p := ProgressLine(s); !strings.Contains(p, "load per replica 0.0%..60.0% (1 idle)") {
		t.Errorf("progress line %q", p)
	}
	s.ByReplica, s.ReplicasReady = nil, nil
	if got := testModel(s, 140, 45).replicaLine(120); got != "" {
		t.Errorf("a replica line without replicas: %q", got)
	}
	if p := ProgressLine(s); strings.Contains(p, "per replica") {
		t.Errorf("progress line %q", p)
	}
}
