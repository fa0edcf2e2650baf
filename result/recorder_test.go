package result

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/outcome"
)

func TestRecorderSummary(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Name: "t", Mode: "sim", Workers: 2, Window: time.Second,
		TargetRate: func(time.Duration) float64 { return 4 }})
	ms := time.Millisecond
	res := []Result{
		{Intended: 0, Sent: 0, Done: 10 * ms, Status: 201, Code: "RESERVED", Step: "purchase", Journey: "rusher"},
		{Intended: 100 * ms, Sent: 150 * ms, Done: 250 * ms, Status: 410, Code: "SOLD_OUT", Step: "purchase", Journey: "rusher"},
		{Intended: 1100 * ms, Sent: 1100 * ms, Done: 1200 * ms, Status: 503, Code: "SHED", Step: "view", Retry: true},
		{Intended: 1500 * ms, Sent: 1500 * ms, Done: 1600 * ms, Err: outcome.ErrTimeout, Step: "view"},
	}
	for i := range res {
		rec.Shard(i % 2).Record(&res[i])
	}
	rec.Shard(1).Drop(1900 * ms)
	rec.Shard(0).Ratio("pay_success", true)
	rec.Shard(1).Ratio("pay_success", false)
	rec.SetGauges(500*ms, Gauges{Stock: 10, StockLeft: 9, Replicas: 3})
	rec.SetGauges(1500*ms, Gauges{Stock: 10, StockLeft: 8, Replicas: 5})
	run := rec.Finish(2 * time.Second)
	s := run.Summary
	want := Requests{Total: 4, OK: 2, Failed: 2, Errors: 1, Shed: 1, Dropped: 1, Retries: 1,
		ByStatus:  map[string]int64{"201": 1, "410": 1, "503": 1, "0": 1},
		ByCode:    map[string]int64{"RESERVED": 1, "SOLD_OUT": 1, "SHED": 1},
		ByError:   map[string]int64{"timeout": 1},
		ByStep:    map[string]int64{"purchase": 2, "view": 2},
		ByJourney: map[string]int64{"rusher": 2}}
	if !reflect.DeepEqual(s.Requests, want) {
		t.Errorf("requests\n got %+v\nwant %+v", s.Requests, want)
	}
	if s.Rates["pay_success"] != (Ratio{Num: 1, Den: 2, Value: 0.5}) {
		t.Errorf("rates %+v", s.Rates)
	}
	if s.Rate.TargetAvg != 4 || s.Rate.AchievedAvg != 2 || s.Rate.PeakAchieved != 2 {
		t.Errorf("rate %+v", s.Rate)
	}
	// Latencies from the intended time: 10, 150, 100, 100 ms; service times 10, 100, 100, 100 ms.
	if s.LatencyMs.Max < 150 || s.LatencyMs.Max > 150.1 || s.LatencyMs.P50 < 100 || s.LatencyMs.P50 > 100.1 {
		t.Errorf("latency %+v", s.LatencyMs)
	}
	if s.ServiceTimeMs.Max > 100.1 {
		t.Errorf("service %+v", s.ServiceTimeMs)
	}
	if len(s.Timeline) != 2 {
		t.Fatalf("timeline %+v", s.Timeline)
	}
	p0, p1 := s.Timeline[0], s.Timeline[1]
	if p0.AchievedRPS != 2 || p0.StockLeft != 9 || p0.Replicas != 3 || p0.TargetRPS != 4 {
		t.Errorf("window 0 %+v", p0)
	}
	if p1.Errors != 1 || p1.Shed != 1 || p1.Dropped != 1 || p1.StockLeft != 8 || p1.Replicas != 5 || p1.T != 1 {
		t.Errorf("window 1 %+v", p1)
	}
	if s.Replicas != (Replicas{Min: 3, Max: 5}) {
		t.Errorf("replicas %+v", s.Replicas)
	}
}

// TestAchievedCountsArrivals: with journeys of several requests, achieved rates count the
// journeys' first requests (arrivals), which is what the target rate counts.
func TestAchievedCountsArrivals(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Window: time.Second, TargetRate: func(time.Duration) float64 { return 10 }})
	for i := range 20 { // 10 journeys per second for 2 s: view (first), purchase, and a retried purchase
		at := time.Duration(i) * 100 * time.Millisecond
		for k, step := range []string{"view", "purchase", "purchase"} {
			r := Result{Intended: at, Sent: at, Done: at + time.Millisecond, Status: 200, Step: step, First: k == 0, Retry: k == 2}
			rec.Shard(0).Record(&r)
		}
	}
	s := rec.Finish(2 * time.Second).Summary
	if s.Requests.Arrivals != 20 || s.Rate.AchievedAvg != 10 || s.Rate.RequestsAvg != 30 || s.Timeline[1].AchievedRPS != 10 || s.Timeline[1].Requests != 30 {
		t.Errorf("arrivals %d, rate %+v, window %+v", s.Requests.Arrivals, s.Rate, s.Timeline[1])
	}
	gates, _, err := EvaluateGates(s, []string{"achieved_rate >= 95% of target"})
	s.Gates = gates
	if err != nil || !s.Gates[0].Pass {
		t.Errorf("gate %+v", s.Gates)
	}
}

func TestSnapshot(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Name: "snap", Workers: 1, Window: time.Second, Duration: 10 * time.Second})
	for i := range 25 {
		d := time.Duration(i) * 100 * time.Millisecond
		rec.Shard(0).Record(&Result{Intended: d, Sent: d, Done: d + 5*time.Millisecond, Status: 201, Code: "RESERVED"})
	}
	snap := rec.Snapshot(2500 * time.Millisecond)
	if snap.Total.Requests != 25 || snap.Last.Requests != 10 || len(snap.Timeline) != 2 || snap.Progress != 0.25 {
		t.Errorf("snapshot total %d last %d timeline %d progress %v", snap.Total.Requests, snap.Last.Requests, len(snap.Timeline), snap.Progress)
	}
	if snap.ByCode["RESERVED"] != 25 {
		t.Errorf("by code %v", snap.ByCode)
	}
	run := rec.Finish(3 * time.Second)
	if run.Summary.Requests.Total != 25 || len(run.Summary.Timeline) != 3 || run.Latency.TotalCount() != 25 {
		t.Errorf("finish %+v", run.Summary.Requests)
	}
}

func TestWindowFor(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{time.Minute: time.Second, 24 * time.Hour: time.Minute, time.Hour: 5 * time.Second} {
		if got := WindowFor(d); got != want {
			t.Errorf("WindowFor(%v) = %v, want %v", d, got, want)
		}
	}
}

func TestRunWriteRead(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Name: "rw", Mode: "live", Workers: 3, Window: 500 * time.Millisecond,
		StartedAt: time.Date(2026, 11, 11, 0, 0, 0, 123e6, time.UTC)})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		d := time.Duration(rng.Int64N(int64(5 * time.Second)))
		r := Result{Intended: d, Sent: d + time.Duration(rng.Int64N(1e6)), Done: d + time.Duration(rng.Int64N(3e8)), Status: 201}
		if i%2 == 0 {
			r.Server = time.Duration(1 + rng.Int64N(2e8))
		}
		rec.Shard(i % 3).Record(&r)
	}
	run := rec.Finish(5 * time.Second)
	dir := t.TempDir()
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got.Summary)
	b, _ := json.Marshal(run.Summary)
	if string(a) != string(b) {
		t.Errorf("summary round trip differs:\n%s\n%s", a, b)
	}
	if len(got.Windows) != len(run.Windows) || got.Latency.TotalCount() != 5000 || got.ServiceTime.TotalCount() != 5000 {
		t.Fatalf("windows %d/%d latency %d", len(got.Windows), len(run.Windows), got.Latency.TotalCount())
	}
	for i := range got.Windows {
		a, b := got.Windows[i], run.Windows[i]
		if a.Index != b.Index || a.Latency.TotalCount() != b.Latency.TotalCount() || a.Latency.ValueAtPercentile(99) != b.Latency.ValueAtPercentile(99) {
			t.Errorf("window %d: %d/%d", i, a.Index, b.Index)
		}
	}
	if !reflect.DeepEqual(percentiles(got.Latency), percentiles(run.Latency)) {
		t.Errorf("latency differs after the round trip")
	}
	if got.ServerTime == nil || got.ServerTime.TotalCount() != 2500 || !reflect.DeepEqual(percentiles(got.ServerTime), percentiles(run.ServerTime)) {
		t.Errorf("server time differs after the round trip: %+v", got.ServerTime)
	}
}

// TestServerTime: the target's own times (Result.Server) give the summary's server_time_ms and,
// per in-flight row, their count, mean, deviation and mean round trip (service − server); answers
// without one count in the row's service time only. A run without any has neither.
func TestServerTime(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Mode: "live", Workers: 2, Window: time.Second})
	ms := time.Millisecond
	for i, r := range []Result{
		{Sent: 0, Done: 10 * ms, Server: 9800 * time.Microsecond, InFlight: 1, Status: 201},
		{Sent: 0, Done: 12 * ms, Server: 11700 * time.Microsecond, InFlight: 1, Status: 201},
		{Sent: 0, Done: 11 * ms, InFlight: 1, Status: 201},
		{Sent: 0, Done: 30 * ms, Server: 29 * ms, InFlight: 2, Status: 201},
	} {
		rec.Shard(i % 2).Record(&r)
	}
	s := rec.Finish(time.Second).Summary
	if s.ServerTimeMs == nil || s.ServerTimeMs.Max < 29 || s.ServerTimeMs.Max > 29.1 || s.ServerTimeMs.P50 < 11.6 || s.ServerTimeMs.P50 > 11.8 {
		t.Errorf("server_time_ms %+v", s.ServerTimeMs)
	}
	want := []ConcurrencyBin{
		{InFlight: 1, Count: 3, ServiceMsMean: 11, ServiceMsSD: math.Sqrt(2.0 / 3), ServerCount: 2, ServerMsMean: 10.75, ServerMsSD: 0.95, RoundTripMsMean: 0.25},
		{InFlight: 2, Count: 1, ServiceMsMean: 30, ServerCount: 1, ServerMsMean: 29, RoundTripMsMean: 1},
	}
	if !sameBins(s.Concurrency, want) {
		t.Errorf("concurrency\n got %+v\nwant %+v", s.Concurrency, want)
	}
	var back concTable // what merging summaries reads back
	back.addBins(s.Concurrency)
	if !sameBins(back.bins(), want) {
		t.Errorf("read back from the summary\n got %+v\nwant %+v", back.bins(), want)
	}
	none := NewRecorder(RecorderOptions{Mode: "live", Window: time.Second})
	none.Shard(0).Record(&Result{Sent: 0, Done: 10 * ms, InFlight: 1, Status: 201})
	run := none.Finish(time.Second)
	b, _ := json.Marshal(run.Summary)
	if run.ServerTime != nil || run.Summary.ServerTimeMs != nil || strings.Contains(string(b), "server_") || strings.Contains(string(b), "round_trip") {
		t.Errorf("a run without server times has them: %s", b)
	}
	var hlog strings.Builder
	if err := run.WriteHistograms(&hlog); err != nil || strings.Contains(hlog.String(), TagServerTime) {
		t.Errorf("histograms.hlog of a run without server times: %v\n%s", err, hlog.String())
	}
}

func BenchmarkShardRecord(b *testing.B) {
	rec := NewRecorder(RecorderOptions{Workers: 1, Window: time.Second})
	sh := rec.Shard(0)
	res := Result{Intended: 0, Sent: time.Millisecond, Done: 12 * time.Millisecond, Status: 201, Code: "RESERVED", Step: "purchase", Journey: "rusher"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// 1000 results per window of run clock, latencies spread over ~30 buckets.
		t := time.Duration(i) * time.Millisecond
		res.Intended, res.Sent, res.Done = t, t+time.Duration(i%7)*time.Millisecond, t+time.Duration(10+i%30)*time.Millisecond
		sh.Record(&res)
	}
}

func BenchmarkShardRecordParallel(b *testing.B) {
	rec := NewRecorder(RecorderOptions{Workers: 64, Window: time.Second})
	var next int64
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		<-mu
		sh := rec.Shard(int(next))
		next++
		mu <- struct{}{}
		res := Result{Status: 201, Code: "RESERVED", Step: "purchase"}
		for i := 0; pb.Next(); i++ {
			t := time.Duration(i) * time.Microsecond * 100
			res.Intended, res.Sent, res.Done = t, t, t+time.Duration(1000+i%20000)*time.Microsecond
			sh.Record(&res)
		}
	})
}

// BenchmarkSnapshot is what the dashboard pays once per window in a steady run: 64 shards record
// a second of 2000 results/s (in the loop), then one Snapshot harvests that window.
func BenchmarkSnapshot(b *testing.B) {
	rec := NewRecorder(RecorderOptions{Workers: 64, Window: time.Second, TargetRate: func(time.Duration) float64 { return 2000 }})
	sec := 0
	record := func() {
		for i := range 2000 {
			t := time.Duration(sec)*time.Second + time.Duration(i)*500*time.Microsecond
			rec.Shard(i % 64).Record(&Result{Intended: t, Sent: t, Done: t + time.Duration(1+(i*7919)%50000)*time.Microsecond, Status: 201})
		}
		sec++
	}
	for range 60 {
		record()
	}
	_ = rec.Snapshot(time.Duration(sec) * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		record()
		_ = rec.Snapshot(time.Duration(sec) * time.Second)
	}
}

// TestConcurrentRecordSnapshot records from several goroutines while another takes snapshots
// (run it with -race); nothing is lost or counted twice.
func TestConcurrentRecordSnapshot(t *testing.T) {
	const workers, per = 4, 3000
	rec := NewRecorder(RecorderOptions{Workers: workers, Window: 100 * time.Millisecond})
	done := make(chan struct{})
	var snaps int
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			s := rec.Snapshot(time.Duration(i) * 10 * time.Millisecond)
			snaps++
			if s.Total.Requests == workers*per {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := rec.Shard(w)
			for i := range per {
				at := time.Duration(i) * time.Millisecond
				sh.Record(&Result{Intended: at, Sent: at, Done: at + time.Millisecond, Status: 201, Code: "RESERVED"})
				if i%100 == 0 {
					sh.Ratio("x", true)
				}
			}
		}()
	}
	wg.Wait()
	<-done
	run := rec.Finish(3 * time.Second)
	if run.Summary.Requests.Total != workers*per || run.Latency.TotalCount() != workers*per || run.Summary.Rates["x"].Den != workers*per/100 {
		t.Errorf("total %d, histogram %d, ratio %+v after %d snapshots", run.Summary.Requests.Total, run.Latency.TotalCount(), run.Summary.Rates["x"], snaps)
	}
	var n int64
	for _, p := range run.Summary.Timeline {
		n += p.Requests
	}
	if n != workers*per {
		t.Errorf("timeline holds %d requests", n)
	}
}
