package result

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// publish plays a recorder like a generator that publishes: a Seal after each window (and
// snapshots in between, which harvest too), a late answer to an already published window, then
// Finish and the final Seal. Every Sealed goes through JSON, as it does through Redis.
func publish(t *testing.T, seed int, live *Live, source string) *Run {
	t.Helper()
	rec := NewRecorder(RecorderOptions{Name: "live", Mode: "live", Workers: 2, Window: time.Second, Publish: true,
		TargetRate: func(time.Duration) float64 { return 400 }})
	add := func(s Sealed) {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Sealed
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := live.Add(source, &back); err != nil {
			t.Fatal(err)
		}
	}
	feed(rec, 4, 300+seed*50, func(now time.Duration) {
		rec.Snapshot(now)
		add(rec.Seal(now + 10*time.Millisecond))
	})
	late := Result{Intended: 1200 * time.Millisecond, Sent: 1300 * time.Millisecond, Done: 1900 * time.Millisecond, Status: 503, First: true}
	rec.Shard(1).Record(&late)
	rec.Shard(0).Drop(2500 * time.Millisecond)
	run := rec.Finish(4 * time.Second)
	fin := rec.Seal(4 * time.Second)
	if !fin.Final {
		t.Error("the Seal after Finish is not Final")
	}
	add(fin)
	return run
}

// TestLiveEqualsMerge: the live view of two publishing generators, once their final Seals are
// in, holds exactly the merged run: the same counts, percentiles and per-window percentiles.
func TestLiveEqualsMerge(t *testing.T) {
	live := NewLive()
	a, b := publish(t, 1, live, "1/2"), publish(t, 2, live, "2/2")
	merged, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	got, want := live.Summary(), merged.Summary
	if !reflect.DeepEqual(got.Requests, want.Requests) {
		t.Errorf("requests\nlive   %+v\nmerged %+v", got.Requests, want.Requests)
	}
	if !reflect.DeepEqual(got.LatencyMs, want.LatencyMs) || !reflect.DeepEqual(got.ServiceTimeMs, want.ServiceTimeMs) {
		t.Errorf("latency\nlive   %+v\nmerged %+v", got.LatencyMs, want.LatencyMs)
	}
	if want.ServerTimeMs == nil || !reflect.DeepEqual(got.ServerTimeMs, want.ServerTimeMs) {
		t.Errorf("server time\nlive   %+v\nmerged %+v", got.ServerTimeMs, want.ServerTimeMs)
	}
	if len(got.Timeline) != len(want.Timeline) {
		t.Fatalf("timeline %d points, merged %d", len(got.Timeline), len(want.Timeline))
	}
	for i := range want.Timeline {
		g, w := got.Timeline[i], want.Timeline[i]
		if g.P99Ms != w.P99Ms || g.P50Ms != w.P50Ms || g.Requests != w.Requests || g.Dropped != w.Dropped || g.Shed != w.Shed {
			t.Errorf("window %d\nlive   %+v\nmerged %+v", i, g, w)
		}
		if d := g.TargetRPS - w.TargetRPS; d > 1e-6 || d < -1e-6 {
			t.Errorf("window %d target %v, merged %v", i, g.TargetRPS, w.TargetRPS)
		}
	}
	if p, ok := live.Window(3); !ok || p.P99Ms != want.Timeline[3].P99Ms {
		t.Errorf("Window(3) = %+v %v", p, ok)
	}
	snap := live.Snapshot([]string{"p(99) < 1h", "oversold == 0"})
	if len(snap.Gates) != 2 || !snap.Gates[0].Pass || snap.Gates[1].Pass || snap.Total.Requests != want.Requests.Total {
		t.Errorf("snapshot gates %+v total %+v", snap.Gates, snap.Total)
	}
}

// TestLiveAbort: a failed gate aborts; one the run cannot measure yet (no audit reading) does not.
func TestLiveAbort(t *testing.T) {
	live := NewLive()
	publish(t, 1, live, "1/1")
	if g, ok := live.Abort([]string{"oversold == 0", "p(99) < 1h"}); ok {
		t.Errorf("aborted on %+v", g)
	}
	if g, ok := live.Abort([]string{"p(99) < 1h", "shed == 0"}); !ok || g.Expr != "shed == 0" || g.Value != 1 {
		t.Errorf("abort = %+v %v, want shed == 0 failed with 1", g, ok)
	}
	s := Sealed{Window: time.Second, Wall: 5 * time.Second, Gauges: &Gauges{Stock: 10, Sold: 12, Oversold: 2}}
	if err := live.Add("gauge", &s); err != nil {
		t.Fatal(err)
	}
	if g, ok := live.Abort([]string{"oversold == 0"}); !ok || g.Value != 2 {
		t.Errorf("abort = %+v %v, want oversold 2", g, ok)
	}
}
