package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
)

// replicaFixture: two replicas from the start and a third, ready from 10 s, that took a tenth
// of its share.
func replicaFixture() *result.Run {
	rec := result.NewRecorder(result.RecorderOptions{Name: "spread", Mode: "live", Window: time.Second, Workers: 1})
	rec.SetReplicaReady("replica-0", 0, true)
	rec.SetReplicaReady("replica-1", 0, true)
	rec.SetReplicaReady("replica-10", 10*time.Second, true)
	for i := range 2000 {
		at := time.Duration(i) * 10 * time.Millisecond
		id := []string{"replica-0", "replica-1"}[i%2]
		if at >= 10*time.Second && i%30 == 0 {
			id = "replica-10"
		}
		r := result.Result{Intended: at, Sent: at, Done: at + time.Millisecond, Status: 200, Replica: id}
		rec.Shard(0).Record(&r)
	}
	return rec.Finish(20 * time.Second)
}

// TestReplicaOutputs: the load per replica is a table in the text and Markdown outputs (in ID
// order, the late replica's fair share and replica_spread said in words) and a chart of answers
// per second per replica in the HTML report.
func TestReplicaOutputs(t *testing.T) {
	run := replicaFixture()
	s := run.Summary
	var b bytes.Buffer
	if err := Text(&b, s, nil); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	i0, i1, i10 := strings.Index(text, "replica-0 "), strings.Index(text, "replica-1 "), strings.Index(text, "replica-10 ")
	if i0 < 0 || i1 < i0 || i10 < i1 || !strings.Contains(text, "load per replica") || !strings.Contains(text, "replica_spread") {
		t.Fatalf("text output without the replica table in order:\n%s", text)
	}
	if !strings.Contains(text, "the least-loaded ready replica, replica-10") {
		t.Errorf("the spread line does not name replica-10:\n%s", text)
	}
	b.Reset()
	if err := Markdown(&b, s, nil); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); !strings.Contains(md, "| replica | answers |") || !strings.Contains(md, "| replica-10 |") {
		t.Errorf("markdown without the replica table:\n%s", md)
	}
	charts, err := Charts(run, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range charts {
		if c.ID == "by-replica" {
			found = true
			for _, id := range []string{"replica-0", "replica-1", "replica-10"} {
				if !strings.Contains(string(c.SVG), "<title>"+id+" at") {
					t.Errorf("the by-replica chart has no %s line", id)
				}
			}
			if !strings.Contains(c.Note, "replica_spread") {
				t.Errorf("chart note %q", c.Note)
			}
		}
	}
	if !found {
		t.Error("no by-replica chart")
	}
	// One replica takes all, or none is named: no table.
	plain := fixture("live", 1)
	b.Reset()
	if err := Text(&b, plain.Summary, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "load per replica") {
		t.Error("a replica table without replicas")
	}
}
