package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/flashload/flashload/internal/feed"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// herd is the countdown crowd of a run: its plan, and what its journeys did after the opening.
type herd struct {
	plan     *scenario.CrowdPlan
	journey  int          // index in the program
	watchers atomic.Int64 // watchers this generator played
	opened   atomic.Int64 // run-clock ns of the first watcher's receipt of the opening, +1; 0: none yet

	mu        sync.Mutex
	lat       *hdrhistogram.Histogram // the herd's purchase latency, µs
	first     int64                   // purchases intended within 1 s of the opening
	purchases int64
}

// newHerd plans the scenario's crowd for this run, nil without one. A crowd needs a file per
// watcher besides the load's connections: a limit too low for it is an error before the run.
func newHerd(play *scenario.Play, prog *scenario.Program, maxConns int) (*herd, error) {
	plan := play.CrowdPlan()
	if plan == nil {
		return nil, nil
	}
	h := &herd{plan: plan, journey: prog.JourneyIndex(plan.Journey), lat: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
	if h.journey < 0 {
		return nil, fmt.Errorf("crowd: no journey %q", plan.Journey)
	}
	if err := feed.RaiseFileLimit(plan.Watchers + maxConns + 256); err != nil {
		return nil, fmt.Errorf("crowd of %d watchers: %w", plan.Watchers, err)
	}
	return h, nil
}

// purchase counts one of the herd's purchase requests: intended when it was due, done when
// its answer came (run clock).
func (h *herd) purchase(intended, done time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.purchases++
	if o := h.opened.Load(); o > 0 && intended-time.Duration(o-1) < time.Second {
		h.first++
	}
	_ = h.lat.RecordValue(max(1, int64((done-intended)/time.Microsecond)))
}

func (h *herd) summary() *result.Herd {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := &result.Herd{Watchers: h.watchers.Load(), PurchasesFirst: h.first, Purchases: h.purchases}
	if o := h.opened.Load(); o > 0 {
		out.OpenedAtS = time.Duration(o - 1).Seconds()
	}
	if h.lat.TotalCount() > 0 {
		out.LatencyMs.P50 = float64(h.lat.ValueAtQuantile(50)) / 1000
		out.LatencyMs.P99 = float64(h.lat.ValueAtQuantile(99)) / 1000
	}
	return out
}

// runCrowd releases the watchers of this generator's segment at their arrival times and waits
// for them: each holds the SKU's feed until the opening, then plays the herd's journey. One
// goroutine per watcher: a waiting watcher is its goroutine's small stack and its connection.
func (r *run) runCrowd(ctx context.Context) {
	h := r.herd
	seg := r.play.Segment()
	var wg sync.WaitGroup
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for i := 0; i < h.plan.Watchers; i++ {
		if !seg.Contains(int64(i)) {
			continue
		}
		if d := h.plan.Arrive(i) - r.now(); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-t.C:
			}
		}
		h.watchers.Add(1)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r.watch(ctx, i)
		}(i)
	}
	wg.Wait()
}

// watchCond is what a watcher waits for: the opening.
var watchCond = scenario.Cond{Until: scenario.UntilOpen}

// watch is one watcher: subscribe (again, after a short pause, when the feed drops: a browser
// reconnects), and at the opening play the herd's journey.
func (r *run) watch(ctx context.Context, i int) {
	h := r.herd
	via := feed.Via(h.plan.Via)
	u := skuFeed(&r.targets[i%len(r.targets)], h.plan.SKU, via)
	r.push.used.Store(true)
	for ctx.Err() == nil {
		conn, err := feed.Dial(ctx, u, feed.Options{Via: via})
		if err != nil {
			r.push.meter.Failed()
			if !sleepCtx(ctx, 500*time.Millisecond) {
				return
			}
			continue
		}
		r.push.meter.Connected()
		met, _ := wait(ctx, conn, &watchCond, r.push.meter)
		conn.Close()
		r.push.meter.Disconnected()
		if met {
			now := r.now()
			h.opened.CompareAndSwap(0, int64(now)+1)
			r.herdSession(ctx, i, now)
			return
		}
		if ctx.Err() != nil {
			return
		}
		r.push.closes.Add(1)
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return
		}
	}
}

// herdSession plays the herd's journey for watcher i on a worker of its own.
func (r *run) herdSession(ctx context.Context, i int, at time.Duration) {
	w := r.newWorker(i)
	w.herd = r.herd
	defer w.retire()
	w.play(ctx, r.herd.journey, scenario.Arrival{Seq: scenario.HerdSeq(i), Wall: at}, at)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
