package result

import (
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/flashload/flashload/outcome"
)

// TestStepStats: each step and journey gets its own counts and percentiles, read from its own
// histogram (the same figures a histogram of only its latencies gives), the plain count maps
// stay, and Steps() counts answers by step and code.
func TestStepStats(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Window: time.Second, Workers: 2})
	want := map[string]*hdr.Histogram{"view": hdr.New(HistLowest, HistHighest, HistSigFigs), "purchase": hdr.New(HistLowest, HistHighest, HistSigFigs)}
	for i := range 1000 {
		step, journey := "view", "browser"
		r := Result{Intended: time.Duration(i) * time.Millisecond, Status: 200, Code: "OK"}
		if i%4 == 0 {
			step, journey = "purchase", "rusher"
			r.Status, r.Code = 201, "RESERVED"
			if i%20 == 0 {
				r.Status, r.Code = 503, "SHED"
			}
		}
		r.Step, r.Journey = step, journey
		lat := time.Duration(100+i*i%7000) * time.Microsecond
		if step == "purchase" {
			lat *= 10
		}
		r.Sent, r.Done = r.Intended, r.Intended+lat
		_ = want[step].RecordValue(micros(lat))
		rec.Shard(i % 2).Record(&r)
	}
	run := rec.Finish(time.Second)
	s := run.Summary
	if s.Requests.ByStep["purchase"] != 250 || s.Requests.ByStep["view"] != 750 || s.Requests.ByJourney["rusher"] != 250 {
		t.Fatalf("by_step %v by_journey %v", s.Requests.ByStep, s.Requests.ByJourney)
	}
	p := s.Steps["purchase"]
	if p.Count != 250 || p.Failed != 50 || p.OK != 200 {
		t.Errorf("purchase %+v", p)
	}
	for step, h := range want {
		got := s.Steps[step].LatencyMs
		if got.P99 != usToMs(h.ValueAtQuantile(99)) || got.P50 != usToMs(h.ValueAtQuantile(50)) || got.Max != usToMs(h.Max()) {
			t.Errorf("%s: %+v, want p50 %v p99 %v max %v", step, got, usToMs(h.ValueAtQuantile(50)), usToMs(h.ValueAtQuantile(99)), usToMs(h.Max()))
		}
	}
	if s.Journeys["rusher"].LatencyMs.P99 != p.LatencyMs.P99 || s.Journeys["rusher"].LatencyMs.Mean != p.LatencyMs.Mean {
		t.Errorf("journey rusher %+v, want the purchase step's %+v", s.Journeys["rusher"].LatencyMs, p.LatencyMs)
	}
	views := rec.Steps()
	if len(views) != 2 || views[0].Step != "purchase" || views[0].Codes["SHED"] != 50 || views[0].Codes["RESERVED"] != 200 || views[1].Codes["OK"] != 750 {
		t.Errorf("Steps() = %+v", views)
	}

	// The step histograms go through histograms.hlog and come back.
	dir := t.TempDir()
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Summary.Warnings) > 0 || back.Steps["purchase"] == nil || !sameHist(back.Steps["purchase"], run.Steps["purchase"]) || !sameHist(back.Journeys["browser"], run.Journeys["browser"]) {
		t.Errorf("step histograms after a round trip: %v %v", back.Summary.Warnings, back.Steps)
	}
}

// TestCodeLabel: a code names the answer, else its error class, else its status.
func TestCodeLabel(t *testing.T) {
	for _, c := range []struct {
		r    Result
		want string
	}{
		{Result{Status: 410, Code: "SOLD_OUT"}, "SOLD_OUT"},
		{Result{Err: outcome.ErrTimeout}, "timeout"},
		{Result{Status: 502}, "HTTP_502"},
		{Result{Status: 999}, "HTTP_999"},
	} {
		if got := CodeLabel(&c.r); got != c.want {
			t.Errorf("%+v: %q, want %q", c.r, got, c.want)
		}
	}
}

// TestRecordStepsAllocFree: recording into known steps, journeys and codes allocates nothing.
func TestRecordStepsAllocFree(t *testing.T) {
	sh := NewRecorder(RecorderOptions{Window: time.Hour}).Shard(0)
	r := Result{Intended: time.Millisecond, Sent: time.Millisecond, Done: 3 * time.Millisecond, Step: "purchase", Journey: "rusher", Status: 502}
	sh.Record(&r)
	if n := testing.AllocsPerRun(200, func() { sh.Record(&r) }); n != 0 {
		t.Errorf("%v allocations per Record", n)
	}
}

// TestSKUSellOut: per-SKU readings become the summary's skus (flash first) and the timeline's
// stock per SKU; a SKU sells out at the earliest of its first empty reading and the engine's
// first SOLD_OUT mark, in scenario time; the audit's counts replace the readings'.
func TestSKUSellOut(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Window: time.Second, ScenarioAt: func(w time.Duration) time.Duration { return 60 * w }})
	for w := range 5 {
		rec.SetGauges(time.Duration(w)*time.Second+time.Millisecond, Gauges{SKUs: []SKUStats{
			{SKU: "catalogue", Stock: 1000, Left: 1000 - int64(w)},
			{SKU: "phone", Flash: true, Stock: 10, Left: max(0, 10-4*int64(w))},
		}})
	}
	rec.MarkSoldOut("phone", 2500*time.Millisecond) // marked before the reading at 3.001 s
	rec.MarkSoldOut("phone", 2700*time.Millisecond)
	snap := rec.Snapshot(5 * time.Second)
	if len(snap.SKUs) != 2 || snap.SKUs[0].SKU != "phone" || !snap.SKUs[0].SoldOut() || *snap.SKUs[0].SoldOutAtS != 150 || snap.SKUs[1].SoldOut() {
		t.Fatalf("snapshot skus %+v", snap.SKUs)
	}
	run := rec.Finish(5 * time.Second)
	s := run.Summary
	if len(s.SKUs) != 2 || s.SKUs[0].SKU != "phone" || *s.SKUs[0].SoldOutAtS != 150 || s.SKUs[1].SoldOutAtS != nil {
		t.Fatalf("summary skus %+v", s.SKUs)
	}
	if got := s.Timeline[1].SKULeft; got["phone"] != 6 || got["catalogue"] != 999 {
		t.Errorf("timeline[1] sku_left %v", got)
	}
	ApplySKUAudit(s, []SKUStats{{SKU: "phone", Stock: 10, Sold: 10, Paid: 9, Lost: 1}, {SKU: "gift", Stock: 5}})
	if k := s.SKUs[0]; k.Sold != 10 || k.Paid != 9 || k.Lost != 1 || !k.Flash || *k.SoldOutAtS != 150 || len(s.SKUs) != 3 {
		t.Errorf("after the audit: %+v", s.SKUs)
	}
}

// TestSkippedMergesExactly: journeys that ended at a step for want of a value are counted per
// step with their reasons, over shards, through summary.json and across a merge of runs.
func TestSkippedMergesExactly(t *testing.T) {
	runOf := func(n int) *Run {
		rec := NewRecorder(RecorderOptions{Window: time.Second, Workers: 2})
		for i := range n {
			r := Result{Intended: time.Duration(i) * time.Millisecond, Status: 200, Step: "checkout", Journey: "buyer"}
			r.Sent, r.Done = r.Intended, r.Intended+time.Millisecond
			rec.Shard(i % 2).Record(&r)
			if i%3 == 0 {
				rec.Shard(i%2).Skip("checkout", "code: json $.code not found")
			}
		}
		rec.Shard(1).SkipN("me", "token: no value kept for this user yet (scope: user)", 4) // a step never sent
		return rec.Finish(time.Second)
	}
	a, b := runOf(30), runOf(9)
	if c := a.Summary.Steps["checkout"]; c.Skipped != 10 || c.SkippedReasons["code: json $.code not found"] != 10 || c.Count != 30 {
		t.Fatalf("checkout %+v", c)
	}
	if m := a.Summary.Steps["me"]; m.Skipped != 4 || m.Count != 0 {
		t.Fatalf("me %+v", m)
	}
	dir := t.TempDir()
	if err := a.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Merge(back, b)
	if err != nil {
		t.Fatal(err)
	}
	c := merged.Summary.Steps["checkout"]
	if c.Skipped != 13 || c.SkippedReasons["code: json $.code not found"] != 13 || c.Count != 39 || merged.Summary.Steps["me"].Skipped != 8 {
		t.Errorf("merged checkout %+v, me %+v", c, merged.Summary.Steps["me"])
	}
}
