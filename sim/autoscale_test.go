package sim

import (
	"testing"
	"time"
)

// The oracle: from 20 pods under a sudden overload, Kubernetes' default behaviour doubles
// once per 15 s sync; once the load drops, nothing scales down for 5 minutes.
func TestHPASuddenOverload(t *testing.T) {
	h := DefaultHPA(0.7, 1, 1000)
	cur := 20
	var got []int
	now := time.Duration(0)
	for i := 0; i < 7; i++ {
		got = append(got, cur)
		d := h.Decide(Observation{Now: now, Current: cur, Ready: cur, Utilization: 1.0 * 50})
		cur = d.Desired
		now += h.Period()
	}
	want := []int{20, 40, 80, 160, 320, 640, 1000}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("replicas per sync = %v, want %v", got, want)
		}
	}
	// The load drops right after the last sync that saw it: utilisation 5%. No scale-down for
	// 300 s, then straight to what the load needs.
	drop := now - h.Period()
	for now < drop+10*time.Minute {
		d := h.Decide(Observation{Now: now, Current: cur, Ready: cur, Utilization: 0.05})
		if now < drop+5*time.Minute && d.Desired < cur {
			t.Fatalf("scaled down to %d at %s, %s after the load dropped", d.Desired, now, now-drop)
		}
		cur = d.Desired
		now += h.Period()
	}
	if want := 72; cur != want { // ceil(1000 × 0.05/0.7)
		t.Fatalf("after the stabilisation window: %d replicas, want %d", cur, want)
	}
}

func TestHPAStepTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  Observation
		hist HPAHistory
		want int
	}{
		{"within tolerance up", Observation{Current: 10, Ready: 10, Utilization: 0.76}, HPAHistory{}, 10},
		{"within tolerance down", Observation{Current: 10, Ready: 10, Utilization: 0.64}, HPAHistory{}, 10},
		{"just over tolerance", Observation{Current: 10, Ready: 10, Utilization: 0.78}, HPAHistory{}, 12},
		{"small pods policy wins", Observation{Current: 2, Ready: 2, Utilization: 7}, HPAHistory{}, 6},
		{"unready pods count as idle", Observation{Current: 20, Ready: 10, Utilization: 1.4}, HPAHistory{}, 20},
		{"unready pods, still over", Observation{Current: 20, Ready: 10, Utilization: 2.8}, HPAHistory{}, 40},
		{"no ready pods", Observation{Current: 5, Ready: 0, Utilization: 0}, HPAHistory{}, 5},
		{"min clamp", Observation{Current: 3, Ready: 3, Utilization: 0.01}, HPAHistory{}, 2},
		{"max clamp", Observation{Current: 90, Ready: 90, Utilization: 7}, HPAHistory{}, 100},
		{"down held by stabilisation", Observation{Now: 100 * time.Second, Current: 50, Ready: 50, Utilization: 0.1},
			HPAHistory{Recs: []TimedValue{{At: 0, Value: 60}}}, 50},
		{"down after the window", Observation{Now: 301 * time.Second, Current: 50, Ready: 50, Utilization: 0.35},
			HPAHistory{Recs: []TimedValue{{At: 0, Value: 60}}}, 25},
		{"policy period counts earlier scale-up", Observation{Now: 10 * time.Second, Current: 40, Ready: 40, Utilization: 7},
			HPAHistory{Events: []TimedValue{{At: 5 * time.Second, Value: 20}}}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := DefaultHPA(0.7, 2, 100)
			d, _ := HPAStep(*h, tc.hist, tc.obs)
			if d.Desired != tc.want {
				t.Errorf("desired %d, want %d (%s)", d.Desired, tc.want, d.Reason)
			}
		})
	}
}

func TestKPA(t *testing.T) {
	k := DefaultKPA(10, 1, 500)
	now := time.Duration(0)
	cur := 10
	// Steady: 100 in flight over 10 pods at target 10 → stays.
	for i := 0; i < 40; i++ {
		d := k.Decide(Observation{Now: now, Current: cur, Ready: cur, Concurrency: 100})
		cur = d.Desired
		now += k.Period()
	}
	if cur != 10 {
		t.Fatalf("steady load: %d pods, want 10", cur)
	}
	// A burst to 1000 in flight: the 6 s panic window (3 samples) averages 400 → 40 pods, 4× the
	// ready ones, so it panics at once.
	d := k.Decide(Observation{Now: now, Current: cur, Ready: cur, Concurrency: 1000})
	if d.Desired != 40 || !k.state.Panicking {
		t.Fatalf("burst: desired %d panicking %v, want 40 in panic (%s)", d.Desired, k.state.Panicking, d.Reason)
	}
	cur = d.Desired
	now += k.Period()
	for i := 0; i < 3; i++ {
		d = k.Decide(Observation{Now: now, Current: cur, Ready: cur, Concurrency: 1000})
		cur = d.Desired
		now += k.Period()
	}
	if cur != 100 {
		t.Fatalf("panic: %d pods, want 100", cur)
	}
	// The burst ends: in panic it never scales down; a stable window after the last time the
	// threshold was crossed it leaves panic and follows the stable window down.
	burstEnd := now
	for now < burstEnd+3*time.Minute {
		d = k.Decide(Observation{Now: now, Current: cur, Ready: cur, Concurrency: 100})
		if k.state.Panicking && d.Desired < cur {
			t.Fatalf("scaled down in panic at %s", now-burstEnd)
		}
		if !k.state.Panicking && now < k.state.PanicTime+k.StableWindow {
			t.Fatalf("left panic at %s, less than %s after it last crossed the threshold", now, k.StableWindow)
		}
		cur = d.Desired
		now += k.Period()
	}
	if cur != 10 {
		t.Fatalf("after the burst: %d pods, want 10", cur)
	}
}

func TestScheduledAndFixed(t *testing.T) {
	s := Scheduled{Initial: 20, Steps: []TimedValue{{At: time.Hour, Value: 200}, {At: 2 * time.Hour, Value: 40}}}
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{0, 20}, {time.Hour - 1, 20}, {time.Hour, 200}, {90 * time.Minute, 200}, {3 * time.Hour, 40}} {
		if got := s.Decide(Observation{Now: tc.at}).Desired; got != tc.want {
			t.Errorf("scheduled at %s: %d, want %d", tc.at, got, tc.want)
		}
	}
	if got := (Fixed{Replicas: 7}).Decide(Observation{Current: 3, Utilization: 9}).Desired; got != 7 {
		t.Errorf("fixed: %d", got)
	}
}

// FuzzHPAStep checks the HPA's invariants over arbitrary observations and histories: the
// answer is within [min, max] (or the current count when that is outside), never grows past the
// scale-up policies' limit, and never shrinks below a recommendation of the last 5 minutes.
func FuzzHPAStep(f *testing.F) {
	f.Add(20, 20, 50.0, int64(0), 40, int64(0))
	f.Add(40, 10, 2.8, int64(10e9), 20, int64(5e9))
	f.Add(50, 50, 0.1, int64(100e9), 60, int64(0))
	f.Add(3, 3, 0.01, int64(0), 0, int64(0))
	f.Fuzz(func(t *testing.T, cur, ready int, util float64, now int64, prevRec int, prevAt int64) {
		if cur < 1 || cur > 10000 || ready < 0 || ready > cur || util < 0 || util > 1000 || now < 0 || prevAt < 0 || prevAt > now || prevRec < 0 || prevRec > 10000 {
			return
		}
		h := DefaultHPA(0.7, 2, 500)
		hist := HPAHistory{Recs: []TimedValue{{At: time.Duration(prevAt), Value: prevRec}}}
		d, next := HPAStep(*h, hist, Observation{Now: time.Duration(now), Current: cur, Ready: ready, Utilization: util})
		if d.Desired < min(h.Min, cur) && d.Desired < h.Min || d.Desired > max(h.Max, cur) && d.Desired > h.Max {
			t.Fatalf("desired %d outside [%d, %d] from %d", d.Desired, h.Min, h.Max, cur)
		}
		if limit := max(cur+4, 2*cur); d.Desired > limit && d.Desired > h.Min {
			t.Fatalf("desired %d from %d beyond the default policies' %d", d.Desired, cur, limit)
		}
		if time.Duration(now)-time.Duration(prevAt) < h.DownStabilization && d.Desired < min(prevRec, cur) && d.Desired < h.Max && prevRec >= h.Min {
			t.Fatalf("desired %d below the recommendation %d of %s ago", d.Desired, prevRec, time.Duration(now-prevAt))
		}
		if len(next.Recs) == 0 || next.Recs[len(next.Recs)-1].At != time.Duration(now) {
			t.Fatalf("the recommendation was not recorded: %+v", next.Recs)
		}
	})
}
