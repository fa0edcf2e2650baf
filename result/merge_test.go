package result

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/flashload/flashload/outcome"
)

// randomResult draws a result with latencies spread over five orders of magnitude, so the
// histograms populate many buckets, sent with 1..12 in flight, and for most answers a server
// time (Server-Timing) some round trip below the service time.
func randomResult(rng *rand.Rand, span time.Duration) Result {
	intended := time.Duration(rng.Int64N(int64(span)))
	wait := time.Duration(math.Exp(rng.Float64()*12)) * time.Microsecond
	svc := time.Duration(math.Exp(rng.Float64()*11)) * time.Microsecond
	codes := []string{"RESERVED", "SOLD_OUT", "SHED", "", "LIMIT_EXCEEDED"}
	statuses := []int{201, 410, 503, 500, 403}
	k := rng.IntN(len(codes))
	r := Result{Intended: intended, Sent: intended + wait, Done: intended + wait + svc, Code: codes[k], Status: statuses[k],
		Step: []string{"view", "purchase", "pay"}[rng.IntN(3)], Journey: []string{"rusher", "bot"}[rng.IntN(2)], Retry: rng.IntN(10) == 0}
	r.First = !r.Retry && r.Step != "pay" && rng.IntN(2) == 0
	r.InFlight = 1 + rng.Int32N(12)
	if rng.IntN(50) == 0 {
		r.Status, r.Code, r.Err = 0, "", outcome.ErrTimeout
	} else if rng.IntN(5) != 0 {
		r.Server = max(time.Microsecond, svc-time.Duration(50+rng.IntN(200))*time.Microsecond)
	}
	return r
}

// TestMergeEqualsUnion records the same stream once into one recorder and split into N segment
// recorders (each with several shards), merges the segments and expects the same summary and
// the same histograms.
func TestMergeEqualsUnion(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		seed := uint64(n)
		rng := rand.New(rand.NewPCG(seed, 42))
		span := 10 * time.Second
		end := 10*time.Second + 300*time.Millisecond
		target := func(time.Duration) float64 { return 128 }
		opts := func(workers int, share float64) RecorderOptions {
			return RecorderOptions{Name: "merge", Mode: "live", Seed: 7, Window: time.Second, Workers: workers,
				TargetRate: func(d time.Duration) float64 { return target(d) * share }}
		}
		one := NewRecorder(opts(1, 1))
		segs := make([]*Recorder, n)
		for i := range segs {
			segs[i] = NewRecorder(opts(3, 1/float64(n)))
		}
		for i := range 5000 {
			r := randomResult(rng, span)
			seg := rng.IntN(n)
			if i%97 == 0 {
				one.Shard(0).Drop(r.Intended)
				segs[seg].Shard(i % 3).Drop(r.Intended)
				continue
			}
			one.Shard(0).Record(&r)
			segs[seg].Shard(i % 3).Record(&r)
			if r.Step == "pay" {
				one.Shard(0).Ratio("pay_success", r.Status < 500)
				segs[seg].Shard(i%3).Ratio("pay_success", r.Status < 500)
			}
		}
		for w := range 10 { // the shared target's gauges, seen by every generator
			g := Gauges{Stock: 100, StockLeft: int64(100 - 10*w), Replicas: 2 + w%3,
				SKUs: []SKUStats{{SKU: "bar", Stock: 1000, Left: 900}, {SKU: "phone", Flash: true, Stock: 100, Left: max(0, int64(100-15*w))}}}
			one.SetGauges(time.Duration(w)*time.Second+time.Millisecond, g)
			for _, s := range segs {
				s.SetGauges(time.Duration(w)*time.Second+time.Millisecond, g)
			}
		}
		gates := []string{"p(99) < 1s", "error_rate < 5%", "rate(pay_success) > 50%"}
		want := one.Finish(end)
		want.Summary.Audit = Audit{Checked: true, Violations: []string{}}
		want.Summary.Gates, _, _ = EvaluateGates(want.Summary, gates)
		runs := make([]*Run, n)
		for i, s := range segs {
			runs[i] = s.Finish(end)
			runs[i].Summary.Audit = Audit{Checked: true, Violations: []string{}}
			runs[i].Summary.Gates, _, _ = EvaluateGates(runs[i].Summary, gates)
			if n > 1 { // merge what flashload merge reads: the files
				dir := t.TempDir()
				if err := runs[i].Write(dir); err != nil {
					t.Fatal(err)
				}
				var err error
				if runs[i], err = ReadRun(dir); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := Merge(runs...)
		if err != nil {
			t.Fatal(err)
		}
		// Target rates are sums of floats: compare them with a tolerance, then as JSON.
		for _, s := range []*Summary{got.Summary, want.Summary} {
			s.Segment = ""
			if math.Abs(s.Rate.TargetAvg-128) > 1e-9 || math.Abs(s.Rate.PeakTarget-128) > 1e-9 {
				t.Errorf("n=%d: target %+v", n, s.Rate)
			}
			s.Rate.TargetAvg, s.Rate.PeakTarget = 0, 0
			for i := range s.Timeline {
				if math.Abs(s.Timeline[i].TargetRPS-128) > 1e-9 {
					t.Errorf("n=%d: window %d target %v", n, i, s.Timeline[i].TargetRPS)
				}
				s.Timeline[i].TargetRPS = 0
			}
		}
		// The concurrency table merges from the segments' means and deviations: exact up to
		// float rounding. Compare it so, then as JSON with the rest.
		if !sameBins(got.Summary.Concurrency, want.Summary.Concurrency) {
			t.Errorf("n=%d: concurrency\nmerged %+v\nunion  %+v", n, got.Summary.Concurrency, want.Summary.Concurrency)
		}
		if len(want.Summary.Concurrency) != 12 || want.Summary.Concurrency[0].ServerCount == 0 || want.Summary.ServerTimeMs == nil {
			t.Fatalf("n=%d: the stream has no concurrency rows or server times: %+v", n, want.Summary.Concurrency)
		}
		got.Summary.Concurrency, want.Summary.Concurrency = nil, nil
		a, _ := json.MarshalIndent(got.Summary, "", " ")
		b, _ := json.MarshalIndent(want.Summary, "", " ")
		if string(a) != string(b) {
			t.Errorf("n=%d: merged summary differs from the union's:\n%s\n---\n%s", n, a, b)
		}
		if !sameHist(got.Latency, want.Latency) || !sameHist(got.ServiceTime, want.ServiceTime) || !sameHist(got.ServerTime, want.ServerTime) {
			t.Errorf("n=%d: merged histograms differ", n)
		}
		if len(got.Windows) != len(want.Windows) {
			t.Fatalf("n=%d: %d windows, want %d", n, len(got.Windows), len(want.Windows))
		}
		for i := range got.Windows {
			if got.Windows[i].Index != want.Windows[i].Index || !sameHist(got.Windows[i].Latency, want.Windows[i].Latency) {
				t.Errorf("n=%d: window %d latency differs", n, i)
			}
		}
	}
}

func TestMergeNeedsHistograms(t *testing.T) {
	r := &Run{Summary: &Summary{Name: "x"}}
	if _, err := Merge(r); err == nil {
		t.Fatal("merge without histograms should fail")
	}
	a := NewRecorder(RecorderOptions{Window: time.Second}).Finish(time.Second)
	b := NewRecorder(RecorderOptions{Window: 2 * time.Second}).Finish(time.Second)
	if _, err := Merge(a, b); err == nil {
		t.Fatal("merge of different windows should fail")
	}
}

func sameHist(a, b *hdr.PackedHistogram) bool {
	x, err1 := a.Encode()
	y, err2 := b.Encode()
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// sameBins: the same rows and counts, and every mean and deviation equal to 1e-9 relative.
func sameBins(a, b []ConcurrencyBin) bool {
	if len(a) != len(b) {
		return false
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	for i := range a {
		x, y := a[i], b[i]
		if x.InFlight != y.InFlight || x.Count != y.Count || x.ServerCount != y.ServerCount ||
			!near(x.ServiceMsMean, y.ServiceMsMean) || !near(x.ServiceMsSD, y.ServiceMsSD) || !near(x.ServerMsMean, y.ServerMsMean) ||
			!near(x.ServerMsSD, y.ServerMsSD) || !near(x.RoundTripMsMean, y.RoundTripMsMean) {
			return false
		}
	}
	return true
}
