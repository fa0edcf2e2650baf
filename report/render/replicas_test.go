package render

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/browser"
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
// order, the late replica's fair share and replica_spread said in words).
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

// TestReplicaChartInChromium: report.html draws a chart of answers per second per replica, one
// line each in ID order, with replica_spread in its note, and none with a single replica.
func TestReplicaChartInChromium(t *testing.T) {
	br := browser.Start(t)
	p, _ := openReport(t, br, replicaFixture(), nil)
	noErrorsNoRequests(t, p)
	c, ok := charts(t, p)["by-replica"]
	if !ok {
		t.Fatalf("no by-replica chart (have %v)", keys(charts(t, p)))
	}
	if want := []string{"replica-0", "replica-1", "replica-10"}; !slices.Equal(c.Series, want) || c.Points < 20 {
		t.Errorf("by-replica chart: series %v, %d points; want %v over the run", c.Series, c.Points, want)
	}
	var note string
	p.Eval(t, `document.querySelector("#chart-by-replica p.note:not(.faultnote)").textContent`, &note)
	if !strings.Contains(note, "replica_spread") {
		t.Errorf("the chart's figure does not say replica_spread: %q", note)
	}
	one, _ := openReport(t, br, fixture("live", 1), nil)
	if _, ok := charts(t, one)["by-replica"]; ok {
		t.Error("a by-replica chart without replicas")
	}
}
