package result

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// runWithLatency records a 30 s run whose service times are scaled by f.
func runWithLatency(seed uint64, f float64, strategy string) *Run {
	rng := rand.New(rand.NewPCG(seed, 9))
	rec := NewRecorder(RecorderOptions{Name: "cmp", Strategy: strategy, Window: time.Second, Workers: 2,
		TargetRate: func(time.Duration) float64 { return 200 }})
	for i := range 6000 {
		at := time.Duration(i) * 5 * time.Millisecond
		svc := time.Duration(f * float64(time.Millisecond) * (5 + 20*rng.ExpFloat64()))
		rec.Shard(i % 2).Record(&Result{Intended: at, Sent: at, Done: at + svc, Status: 201, Code: "RESERVED"})
	}
	run := rec.Finish(30 * time.Second)
	run.Summary.Audit.Checked = true
	return run
}

func TestCompare(t *testing.T) {
	base := runWithLatency(1, 1, "redis-lua")
	same := runWithLatency(2, 1, "redis-decr")
	slow := runWithLatency(3, 1.5, "naive")
	slow.Summary.Audit.Oversold = 3
	c, err := Compare([]*Run{base, same, slow}, CompareOptions{MaxRegression: 0.10})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Labels; got[0] != "redis-lua" || got[2] != "naive" {
		t.Errorf("labels %v", got)
	}
	row := func(name string) CompareRow {
		for _, r := range c.Rows {
			if r.Metric == name {
				return r
			}
		}
		t.Fatalf("no row %s", name)
		return CompareRow{}
	}
	p99 := row("p99")
	if p99.Cells[0].Significant || p99.Cells[0].Regression {
		t.Errorf("same distribution flagged: %+v", p99.Cells[0])
	}
	if !p99.Cells[1].Significant || !p99.Cells[1].Regression || p99.Cells[1].Change < 0.3 || p99.Cells[1].N1 < 30 {
		t.Errorf("1.5x slower not flagged: %+v", p99.Cells[1])
	}
	if !row("oversold").Cells[1].Regression {
		t.Errorf("oversold increase not a regression")
	}
	regs := c.Regressions()
	if len(regs) < 2 {
		t.Errorf("regressions %v", regs)
	}
	// Without a threshold nothing is a regression except invariants.
	c, _ = Compare([]*Run{base, slow}, CompareOptions{})
	for _, r := range c.Regressions() {
		if r.Metric != "oversold" {
			t.Errorf("unexpected regression %v", r)
		}
	}
	if ch := change(0, 5); !math.IsInf(ch, 1) {
		t.Errorf("change(0,5) = %v", ch)
	}
}
