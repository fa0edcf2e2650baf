package result

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// feed records n answers per window over windows windows, with latencies spread like a loaded
// target's (lognormal-ish, 0.2 ms to seconds), and calls snap after each window when it is set.
func feed(rec *Recorder, windows, n int, snap func(now time.Duration)) {
	rng := rand.New(rand.NewPCG(7, 7))
	for w := 0; w < windows; w++ {
		for i := 0; i < n; i++ {
			at := time.Duration(w)*time.Second + time.Duration(i)*time.Second/time.Duration(n)
			svc := time.Duration(200e3 * (1 + rng.ExpFloat64()*rng.ExpFloat64()*20))
			res := Result{Intended: at, Sent: at + svc/10, Done: at + svc, Status: 200, First: true, Step: "view"}
			if i%4 != 0 {
				res.Server = svc * 8 / 10 // the target's own time; a quarter of the answers carry none
			}
			rec.Shard(i % rec.Shards()).Record(&res)
		}
		if snap != nil {
			snap(time.Duration(w+1) * time.Second)
		}
	}
}

// Sealing is lossless: a run whose windows were sealed by snapshots along the way finishes with
// the same summary and the same per-window histograms as one that was never snapshotted.
func TestSealedWindowsAreExact(t *testing.T) {
	opts := RecorderOptions{Name: "seal", Mode: "live", Workers: 3, Window: time.Second}
	plain, sealed := NewRecorder(opts), NewRecorder(opts)
	feed(plain, 6, 500, nil)
	feed(sealed, 6, 500, func(now time.Duration) { sealed.Snapshot(now) })
	// A late answer for window 1, after it was sealed, reopens and re-seals it.
	late := Result{Intended: 1200 * time.Millisecond, Sent: 1300 * time.Millisecond, Done: 1900 * time.Millisecond, Status: 200, Server: 550 * time.Millisecond}
	plain.Shard(0).Record(&late)
	sealed.Shard(0).Record(&late)
	if snap := sealed.Snapshot(6 * time.Second); len(snap.Timeline) != 6 {
		t.Fatalf("snapshot timeline %d points, want 6", len(snap.Timeline))
	}
	sealed.mu.Lock()
	for idx := int64(0); idx < 4; idx++ {
		if !sealed.windows[idx].sealed {
			t.Errorf("window %d not sealed", idx)
		}
	}
	if sealed.windows[5].sealed {
		t.Errorf("the last complete window is sealed: the dashboard reads it in full")
	}
	sealed.mu.Unlock()
	a, b := plain.Finish(6*time.Second), sealed.Finish(6*time.Second)
	if !reflect.DeepEqual(a.Summary.Timeline, b.Summary.Timeline) {
		t.Errorf("timelines differ\nplain  %+v\nsealed %+v", a.Summary.Timeline, b.Summary.Timeline)
	}
	if !reflect.DeepEqual(a.Summary.ServerTimeMs, b.Summary.ServerTimeMs) || a.Summary.ServerTimeMs == nil || buckets(a.ServerTime) != buckets(b.ServerTime) {
		t.Errorf("server times differ: %+v vs %+v", a.Summary.ServerTimeMs, b.Summary.ServerTimeMs)
	}
	if !reflect.DeepEqual(a.Summary.LatencyMs, b.Summary.LatencyMs) || a.Summary.Requests.Total != b.Summary.Requests.Total {
		t.Errorf("summaries differ: %+v vs %+v", a.Summary.LatencyMs, b.Summary.LatencyMs)
	}
	if len(a.Windows) != len(b.Windows) {
		t.Fatalf("%d windows vs %d", len(a.Windows), len(b.Windows))
	}
	for i := range a.Windows {
		for _, pair := range [][2]interface {
			ForEachBucket(func(v, c int64) bool)
			TotalCount() int64
		}{{a.Windows[i].Latency, b.Windows[i].Latency}, {a.Windows[i].ServiceTime, b.Windows[i].ServiceTime}} {
			if buckets(pair[0]) != buckets(pair[1]) || pair[0].TotalCount() != pair[1].TotalCount() {
				t.Errorf("window %d: histograms differ", a.Windows[i].Index)
			}
		}
	}
}

func buckets(h interface{ ForEachBucket(func(v, c int64) bool) }) string {
	var out []int64
	h.ForEachBucket(func(v, c int64) bool { out = append(out, v, c); return true })
	return fmt.Sprint(out)
}

// BenchmarkRetainedPerWindow reports the live heap a Recorder keeps per closed 1 s window at
// 10000 answers/s with snapshots every second, as the live engine runs it (bytes/window).
func BenchmarkRetainedPerWindow(b *testing.B) {
	const windows = 30
	b.ReportAllocs()
	var per float64
	for i := 0; i < b.N; i++ {
		rec := NewRecorder(RecorderOptions{Mode: "live", Workers: 9, Window: time.Second})
		var ms runtime.MemStats
		var at5 uint64
		feed(rec, windows, 10000, func(now time.Duration) {
			rec.Snapshot(now)
			if now == 5*time.Second {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				at5 = ms.HeapAlloc
			}
		})
		runtime.GC()
		runtime.ReadMemStats(&ms)
		per = (float64(ms.HeapAlloc) - float64(at5)) / (windows - 5)
		runtime.KeepAlive(rec)
	}
	b.ReportMetric(per, "bytes/window")
}

// Unsealed keeps the harvested windows decoded (the simulator's Recorder), with the same summary.
func TestUnsealedKeepsWindows(t *testing.T) {
	opts := RecorderOptions{Name: "unsealed", Mode: "sim", Window: time.Second}
	sealed := NewRecorder(opts)
	opts.Unsealed = true
	unsealed := NewRecorder(opts)
	feed(sealed, 5, 200, func(now time.Duration) { sealed.Snapshot(now) })
	feed(unsealed, 5, 200, func(now time.Duration) { unsealed.Snapshot(now) })
	unsealed.mu.Lock()
	for idx, w := range unsealed.windows {
		if w.sealed {
			t.Errorf("window %d sealed", idx)
		}
	}
	unsealed.mu.Unlock()
	sealed.mu.Lock()
	if !sealed.windows[0].sealed {
		t.Errorf("the default Recorder did not seal window 0")
	}
	sealed.mu.Unlock()
	a, b := sealed.Finish(5*time.Second).Summary, unsealed.Finish(5*time.Second).Summary
	a.Name, b.Name = "", ""
	if !reflect.DeepEqual(a, b) {
		t.Errorf("summaries differ:\n  sealed %+v\nunsealed %+v", a, b)
	}
}
