// Package faults applies a scenario's faults (scenario.Fault) at their moments of a live run:
// a Scheduler turns each fault's scenario time into the run's wall time (scenario.Play.WallAt),
// asks an Injector to start it and, for a fault that lasts, to end it, and records what
// happened as result.Fault. The Injector is whoever owns the broken parts: the rehearsal (its
// stores, its fleet of target replicas, the proxies between them) or an external target's
// admin API (Admin), which offers only some kinds; Supported tells which, before any load.
package faults

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Injector applies faults. Start begins f; End undoes it (resumes a paused process, starts a
// killed one again, removes a network toxic, ends a stall). End is called for every fault that
// started and lasts (f.End() > f.AtTime), and at the end of the run for every fault still in
// effect, so that the audit reads stores and targets that are up.
type Injector interface {
	Start(ctx context.Context, f *scenario.Fault) error
	End(ctx context.Context, f *scenario.Fault) error
}

// ErrUnsupported is wrapped by the errors of kinds an injector cannot apply.
var ErrUnsupported = errors.New("not supported")

// Schedule plays faults against in: each at play.WallAt(f.AtTime) after start, each lasting
// one ended at play.WallAt(f.End()). When ctx ends (the load is over), faults still in effect
// are ended at once. It returns every fault's record, in the scenario's order; it never stops
// the run: a fault that fails is recorded with its error. Events, when set, receives each
// record as it changes (for the dashboard).
func Schedule(ctx context.Context, start time.Time, play *scenario.Play, faults []scenario.Fault, in Injector, events func(result.Fault)) []result.Fault {
	s := &scheduler{start: start, play: play, in: in, events: events, recs: make([]result.Fault, len(faults))}
	type step struct {
		wall time.Duration
		i    int
		end  bool
	}
	var steps []step
	for i := range faults {
		f := &faults[i]
		s.recs[i] = result.Fault{AtS: f.AtTime.Seconds(), Kind: f.Kind(), Detail: f.Detail()}
		steps = append(steps, step{play.WallAt(f.AtTime), i, false})
		if f.End() > f.AtTime {
			s.recs[i].EndS = f.End().Seconds()
			steps = append(steps, step{play.WallAt(f.End()), i, true})
		}
	}
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].wall < steps[b].wall })
	started := make([]bool, len(faults))
	ended := make([]bool, len(faults))
	// Faults are applied in a goroutine each, so that a slow start (a restart waiting for its
	// server) does not delay the next fault; a fault's end waits for its start.
	var wg sync.WaitGroup
	done := make([]chan struct{}, len(faults))
	for i := range done {
		done[i] = make(chan struct{})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for _, st := range steps {
		if wait := time.Until(start.Add(st.wall)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break loop
		}
		f, i := &faults[st.i], st.i
		wg.Add(1)
		if !st.end {
			started[i] = true
			go func() { defer wg.Done(); defer close(done[i]); s.begin(ctx, f, i) }()
		} else {
			ended[i] = true
			go func() { defer wg.Done(); <-done[i]; s.finish(context.WithoutCancel(ctx), f, i) }()
		}
	}
	// The load is over: undo what is still in effect (a store down for good, a partition to the
	// end), with a context of its own, so the audit finds everything up.
	for i := range faults {
		if started[i] && !ended[i] {
			wg.Add(1)
			go func() { defer wg.Done(); <-done[i]; s.finish(context.WithoutCancel(ctx), &faults[i], i) }()
		}
	}
	wg.Wait()
	return s.recs
}

type scheduler struct {
	start  time.Time
	play   *scenario.Play
	in     Injector
	events func(result.Fault)

	mu   sync.Mutex
	recs []result.Fault
}

func (s *scheduler) now() float64 { return s.play.ScenarioAt(time.Since(s.start)).Seconds() }

func (s *scheduler) begin(ctx context.Context, f *scenario.Fault, i int) {
	err := s.in.Start(context.WithoutCancel(ctx), f)
	s.mu.Lock()
	r := &s.recs[i]
	r.AppliedAtS, r.OK = s.now(), err == nil
	if err != nil {
		r.Error = err.Error()
	}
	rec := *r
	s.mu.Unlock()
	if s.events != nil {
		s.events(rec)
	}
}

// finish ends a fault that started (even one whose start failed part-way: a kill that killed
// and then could not restart still needs its restart).
func (s *scheduler) finish(ctx context.Context, f *scenario.Fault, i int) {
	s.mu.Lock()
	needs := f.End() > f.AtTime || s.recs[i].OK
	s.mu.Unlock()
	if !needs {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := s.in.End(cctx, f)
	cancel()
	if errors.Is(err, ErrNothingToEnd) {
		return
	}
	s.mu.Lock()
	r := &s.recs[i]
	r.EndedAtS = max(s.now(), r.AppliedAtS)
	if err != nil {
		r.OK = false
		r.Error = joinErr(r.Error, "ending it: "+err.Error())
	}
	rec := *r
	s.mu.Unlock()
	if s.events != nil {
		s.events(rec)
	}
}

// ErrNothingToEnd is what an Injector's End answers for an instant fault that left nothing to
// undo (a failover, a restart): the record keeps no end.
var ErrNothingToEnd = errors.New("nothing to end")

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Unsupported lists the faults that supported rejects, each as its Problem at its line:col, so
// a run refuses them before any load. supported gets each fault and answers nil or why not.
func Unsupported(faults []scenario.Fault, supported func(*scenario.Fault) error) error {
	var errs []error
	for i := range faults {
		if err := supported(&faults[i]); err != nil {
			errs = append(errs, faults[i].Problem("%v", err))
		}
	}
	return errors.Join(errs...)
}

// Log keeps the latest record of every fault as Schedule reports it (its events), for the
// dashboard: Records is safe to call while the run goes on.
type Log struct {
	mu   sync.Mutex
	recs []result.Fault
	idx  map[string]int
}

// Event records r (Schedule's events callback).
func (l *Log) Event(r result.Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.idx == nil {
		l.idx = map[string]int{}
	}
	key := r.Kind + "@" + strconv.FormatFloat(r.AtS, 'f', -1, 64)
	if i, ok := l.idx[key]; ok {
		l.recs[i] = r
		return
	}
	l.idx[key] = len(l.recs)
	l.recs = append(l.recs, r)
}

// Records is a copy of what happened so far, in the order faults were applied.
func (l *Log) Records() []result.Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.recs)
}

// Run is engine.Options.Faults for faults applied by in, reporting to log (nil: none).
func Run(faults []scenario.Fault, in Injector, log *Log) func(context.Context, time.Time, *scenario.Play) []result.Fault {
	return func(ctx context.Context, start time.Time, play *scenario.Play) []result.Fault {
		var ev func(result.Fault)
		if log != nil {
			ev = log.Event
		}
		return Schedule(ctx, start, play, faults, in, ev)
	}
}
