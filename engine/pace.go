package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/internal/clock"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// runOpen paces arrivals. It returns whether the whole schedule was played.
func (r *run) runOpen(ctx context.Context, pacer *result.Shard) bool {
	sessCtx, cancelSess := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSess()
	var wg sync.WaitGroup
	var pool *idlePool
	pool = newIdlePool(r.opts.MaxWorkers, func(id int, ch <-chan scenario.Arrival) {
		wg.Add(1)
		w := r.newWorker(id)
		go func() {
			defer wg.Done()
			for a := range ch {
				w.session(sessCtx, a, a.Wall)
				pool.put(id)
			}
			w.retire()
		}()
	})
	complete := r.pace(ctx, r.play.Arrivals(), pool, pacer)
	pool.close()
	return r.drain(&wg, cancelSess) && complete
}

// idlePool is the bounded set of session workers, so the pacer knows at an arrival's time
// whether one is free: a worker is free exactly from the end of its session (put) until the
// pacer hands it an arrival (offer). Workers start on demand, up to max alive, and the pacer
// retires those idle the longest (trim), so memory follows the sessions actually in flight, not
// the highest burst seen. Each worker has its own one-slot channel: a hand-off never blocks.
type idlePool struct {
	mu    sync.Mutex
	free  []int // ids of free workers, the longest idle first
	chans map[int]chan scenario.Arrival
	next  int // the next worker id
	max   int
	start func(id int, ch <-chan scenario.Arrival)
}

func newIdlePool(max int, start func(id int, ch <-chan scenario.Arrival)) *idlePool {
	return &idlePool{max: max, start: start, chans: map[int]chan scenario.Arrival{}}
}

// offer hands a to a free worker, starting one when none is free and the bound allows; false
// when max workers are alive and busy. Only the pacer calls it.
func (p *idlePool) offer(a scenario.Arrival) bool {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		id := p.free[n-1]
		p.free = p.free[:n-1]
		ch := p.chans[id]
		p.mu.Unlock()
		ch <- a
		return true
	}
	if len(p.chans) >= p.max {
		p.mu.Unlock()
		return false
	}
	id := p.next
	p.next++
	ch := make(chan scenario.Arrival, 1)
	p.chans[id] = ch
	p.mu.Unlock()
	p.start(id, ch)
	ch <- a
	return true
}

func (p *idlePool) put(id int) {
	p.mu.Lock()
	p.free = append(p.free, id)
	p.mu.Unlock()
}

// trim retires free workers beyond keep: half of the excess per call, the longest idle first.
// Only the pacer calls it (once a second).
func (p *idlePool) trim(keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := (len(p.free) - keep) / 2
	if n <= 0 {
		return
	}
	for _, id := range p.free[:n] {
		close(p.chans[id])
		delete(p.chans, id)
	}
	p.free = append(p.free[:0], p.free[n:]...)
}

// close ends the workers once their sessions are over. Only the pacer calls it, after its last offer.
func (p *idlePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.chans {
		close(c)
		delete(p.chans, id)
	}
}

// alive is how many workers are alive.
func (p *idlePool) alive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.chans)
}

// pace hands each arrival to a waiting worker at its intended time, or drops it when none is
// waiting. It never sends early and never waits for a worker: a late pacer (lag) dispatches the
// backlog at once, and the lag is reported. It returns false when ctx ended the schedule early.
func (r *run) pace(ctx context.Context, it arrivals, pool *idlePool, pacer *result.Shard) bool {
	complete := true
	var dropped, droppedWarned int64
	var lagMax time.Duration
	lastCheck := time.Duration(0)
	cpu := &r.cpu
	cpu.sample(0)
	wait := newPacerWait(r.start)
loop:
	for {
		a, ok := it.Next()
		if !ok {
			break
		}
		if a.Wall > r.now() {
			if !wait.until(ctx, a.Wall) {
				complete = false
				break loop
			}
		} else if ctx.Err() != nil {
			complete = false
			break
		}
		now := r.now()
		if lag := now - a.Wall; lag > lagMax {
			lagMax = lag
		}
		if !pool.offer(a) {
			pacer.DropFor(a.Wall, r.dropReason(now-a.Wall))
			dropped++
		}
		if now-lastCheck >= time.Second {
			cpu.sample(now)
			lastCheck = now
			pool.trim(64)
			if dropped > droppedWarned {
				r.warn.say("dropped", fmt.Sprintf("generator saturated: %d arrivals dropped so far (all %d workers busy, by limit in requests.dropped_by); raise --max-workers or --max-conns, or check the target", dropped, r.opts.MaxWorkers))
				droppedWarned = dropped
			}
			if lagMax > 100*time.Millisecond {
				r.warn.say("lag", fmt.Sprintf("generator behind schedule by up to %v: this machine cannot pace the requested rate", lagMax.Round(time.Millisecond)))
			}
			lagMax = 0
		}
	}
	return complete
}

// preciseAbove is the shortest wait always slept precisely (clock.Until). Shorter waits are
// slept precisely while a budget of denseBudget a second lasts, else on the Go timer: arrivals
// dense enough to exhaust it would pay a syscall and a thread hand-off each, which capped the
// pacer near 40k/s (uniform arrivals, 2 cores), and a runtime that busy runs its timers often.
const (
	preciseAbove = 100 * time.Microsecond
	denseBudget  = 5000
)

// pacerWait is the pacer's wait with its budget of precise short waits.
type pacerWait struct {
	timer  *time.Timer
	start  time.Time
	tokens float64
	filled time.Time
}

func newPacerWait(start time.Time) *pacerWait {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacerWait{timer: t, start: start, tokens: denseBudget / 100, filled: time.Now()}
}

// until waits until the run clock reaches at (start + at on the monotonic clock), or ctx ends
// (false). The open model measures latency from the intended send, so the pacer's own lateness
// would count as the target's: a Go timer alone sends 0.6 ms late on average on Linux, 6% of a
// 10 ms service time; clock.Until about 0.1 ms.
func (w *pacerWait) until(ctx context.Context, at time.Duration) bool {
	due := w.start.Add(at)
	d := time.Until(due)
	if d < preciseAbove {
		now := time.Now()
		w.tokens = min(w.tokens+now.Sub(w.filled).Seconds()*denseBudget, denseBudget/100)
		w.filled = now
	}
	if d >= preciseAbove || w.tokens >= 1 {
		if d < preciseAbove {
			w.tokens--
		}
		return clock.Until(ctx.Done(), w.timer, due)
	}
	w.timer.Reset(d)
	select {
	case <-ctx.Done():
		w.timer.Stop()
		return false
	case <-w.timer.C:
		return true
	}
}

// dropReason names the limit that made the pool full when an arrival lag late found no worker:
// no CPU to spare (the pacer behind schedule, or this process using 90% of its cores: cpu),
// every connection busy (requests wait for one: max-conns), else the pool's bound (max-workers).
func (r *run) dropReason(lag time.Duration) string {
	switch {
	case lag > 100*time.Millisecond || r.cpu.busy.Load():
		return "cpu"
	case r.inflight.Load() >= int64(r.opts.MaxConns):
		return "max-conns"
	}
	return "max-workers"
}

// runClosed runs VUs sessions back to back until the play's wall duration or ctx ends.
func (r *run) runClosed(ctx context.Context) bool {
	sessCtx, cancelSess := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSess()
	stopAt := r.play.WallDuration()
	var seq atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < r.opts.Workers; i++ {
		wg.Add(1)
		w := r.newWorker(i)
		go func() {
			defer wg.Done()
			defer w.raw.close()
			w.last = r.now()
			for !stop.Load() {
				// A session is due when the last one ended: the time of its last answer (do
				// reads the clock there), not a fresh clock read per session.
				now := w.last
				if now >= stopAt {
					return
				}
				n := seq.Add(1) - 1
				w.session(sessCtx, scenario.Arrival{Seq: n, Wall: now, Scenario: r.play.ScenarioAt(now)}, now)
				if w.last == now {
					w.last = r.now() // the session sent nothing and slept nothing
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	complete := true
	select {
	case <-done:
	case <-ctx.Done():
		complete = false
		stop.Store(true)
	case <-time.After(stopAt + time.Second):
		stop.Store(true)
	}
	return r.drain(&wg, cancelSess) && complete
}

// drain waits for in-flight sessions for at most Drain, then cancels what is left. It returns
// false when sessions had to be cut.
func (r *run) drain(wg *sync.WaitGroup, cancel context.CancelFunc) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(r.opts.Drain)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	}
	cancel()
	r.warn.say("drain", fmt.Sprintf("drain: %d requests still in flight after %v; cut", r.inflight.Load(), r.opts.Drain))
	// Sessions see the cancel at their next step; a request on the wire ends by its timeout.
	// The caller finishes the Recorder next: answers that come later are not in the Run.
	select {
	case <-done:
	case <-time.After(100 * time.Millisecond):
	}
	return false
}

// arrivals is the schedule the pacer walks (*scenario.Arrivals).
type arrivals interface {
	Next() (scenario.Arrival, bool)
}
