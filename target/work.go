package target

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flashload/flashload/internal/clock"
	"github.com/flashload/flashload/internal/dist"
)

// workSlots give the service a known capacity (`serve --workers N --work DIST`): every
// business request holds one of N slots for a time drawn from DIST, the real work running
// inside it, and waits first come, first served for a free slot. The service is then an
// M/G/N queue whatever the machine's cores, which the simulator can model exactly;
// utilisation is busy slots / N.
type workSlots struct {
	n    int
	work dist.Spec

	mu    sync.Mutex
	free  int
	queue []*waiter // waiting requests, oldest first

	// late is the wait's mean lateness (ns, an exponentially weighted mean over holds): a hold
	// waits until that much before its end, so a slot is held for the drawn time on average, not
	// the drawn time plus the lateness, which would quietly lower the capacity below the model's.
	// The wait is clock.Until (about 0.1 ms late): a Go timer alone was 0.5 ms late per hold
	// (10.49 ms for const:10ms), and compensating that much left every draw under 0.5 ms unslept
	// (p5 of exp:10ms held 0.22 ms against 0.51 drawn; mean 9.96 ms).
	late atomic.Int64

	served atomic.Int64 // holds completed
	waited atomic.Int64 // nanoseconds spent waiting for a slot, summed
	held   atomic.Int64 // nanoseconds slots were held, summed: utilisation over a span is its growth / (N × span)
}

// waiter is a request waiting for a slot: ch is closed when it is handed one, at time at.
type waiter struct {
	ch chan struct{}
	at time.Time
}

// maxLate bounds the timer-lateness compensation.
const maxLate = 5 * time.Millisecond

func newWorkSlots(n int, work dist.Spec) *workSlots {
	return &workSlots{n: n, work: work, free: n}
}

// acquire takes a slot, waiting behind every earlier request, and returns when it got it: now
// for a free slot, else the moment the previous holder released it — not when this goroutine
// woke, so the hand-over's scheduling delay is part of this hold, as in the model, where the next
// service starts the instant the last ends (counted after waking, it would leave each slot idle
// for the wake-up; docs/benchmarks.md has its size). false when done closes first (the server is
// shutting down), holding nothing then.
func (w *workSlots) acquire(done <-chan struct{}) (time.Time, bool) {
	w.mu.Lock()
	if w.free > 0 && len(w.queue) == 0 {
		w.free--
		w.mu.Unlock()
		return time.Now(), true
	}
	me := &waiter{ch: make(chan struct{})}
	w.queue = append(w.queue, me)
	w.mu.Unlock()
	start := time.Now()
	select {
	case <-me.ch:
		w.waited.Add(int64(me.at.Sub(start)))
		return me.at, true
	case <-done:
	}
	w.mu.Lock()
	if i := slices.Index(w.queue, me); i >= 0 {
		w.queue = slices.Delete(w.queue, i, i+1)
		w.mu.Unlock()
		return time.Time{}, false
	}
	w.mu.Unlock()
	w.release() // handed a slot while leaving: pass it on
	return time.Time{}, false
}

// release frees a slot, handing it straight to the oldest waiter when there is one (so a
// newcomer never overtakes the queue).
func (w *workSlots) release() {
	w.mu.Lock()
	if len(w.queue) > 0 {
		next := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		if len(w.queue) == 0 {
			w.queue = nil
		}
		w.mu.Unlock()
		next.at = time.Now()
		close(next.ch)
		return
	}
	w.free++
	w.mu.Unlock()
}

// hold takes a slot for one request and draws its work time; the returned func waits out the
// rest of that time (the request's own work ran meanwhile) and frees the slot. nil when done
// closed while waiting.
func (w *workSlots) hold(done <-chan struct{}) func() {
	start, ok := w.acquire(done)
	if !ok {
		return nil
	}
	until := start.Add(w.work.Sample(nil))
	return func() {
		if at := until.Add(-time.Duration(w.late.Load())); time.Until(at) > 0 {
			t := time.NewTimer(time.Hour)
			t.Stop()
			if clock.Until(done, t, at) {
				// Move the estimate 1/32 of this hold's error (positive: still late), kept
				// within 0..maxLate.
				l := w.late.Load() + int64(time.Since(until))/32
				w.late.Store(min(max(l, 0), int64(maxLate)))
			}
		}
		w.served.Add(1)
		w.held.Add(int64(time.Since(start)))
		w.release()
	}
}

// state is (busy slots, waiting requests).
func (w *workSlots) state() (busy, waiting int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n - w.free, len(w.queue)
}

// collectors are the slots' metrics: capacity, busy, waiting, served, time waited.
func (w *workSlots) collectors() []prometheus.Collector {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		gauge("flashload_target_work_slots", "Work slots (--workers): the service's known concurrency.",
			func() float64 { return float64(w.n) }),
		gauge("flashload_target_work_busy", "Work slots held now; utilisation is busy / slots.",
			func() float64 { b, _ := w.state(); return float64(b) }),
		gauge("flashload_target_work_waiting", "Requests waiting for a work slot now.",
			func() float64 { _, q := w.state(); return float64(q) }),
		counter("flashload_target_work_served_total", "Requests that held a work slot to the end.",
			func() float64 { return float64(w.served.Load()) }),
		counter("flashload_target_work_busy_seconds_total", "Time work slots were held, summed (utilisation: its rate / slots).",
			func() float64 { return time.Duration(w.held.Load()).Seconds() }),
		counter("flashload_target_work_wait_seconds_total", "Time requests spent waiting for a work slot, summed.",
			func() float64 { return time.Duration(w.waited.Load()).Seconds() }),
	}
}
