package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// How Plan searches: every question is "the least k that passes" under one assumption, that
// more capacity never fails a gate that less capacity passes. The simulations of a round run at
// once, one per core; identical models are simulated once; failing ones stop as soon as a gate
// can no longer pass (Options.FailFast).

// planStrata is the fewest latency samples per class and tick of a plan's simulations (a long
// run's; short ones get more, strataFor): a verdict reads the whole run's percentiles, and a
// day at one sample per tick gives each class 86,400 draws. flashload sim keeps DefaultStrata.
const planStrata = 1

// capacity is one point of the search: a model is a function of it (withCapacity, withCeiling).
type capacity struct {
	replicas, ceiling, prescale, shards int
	tick                                time.Duration
}

// planner runs the trials of one Plan.
type planner struct {
	ctx   context.Context
	s     *scenario.Scenario
	o     PlanOptions
	par   int
	model func(capacity) *scenario.Model

	mu     sync.Mutex
	trials map[capacity]*planTrial
	count  int // simulations run
}

type planTrial struct {
	done chan struct{}
	pass bool
	sum  *result.Summary
	err  error
}

func newPlanner(ctx context.Context, s *scenario.Scenario, o PlanOptions, model func(capacity) *scenario.Model) *planner {
	return &planner{ctx: ctx, s: s, o: o, par: max(1, runtime.GOMAXPROCS(0)), model: model, trials: map[capacity]*planTrial{}}
}

// try simulates the model of c once (a second caller waits for the first) and says whether
// every gate passed. A run stopped by a gate that could no longer pass is a failure; its
// summary is the run up to there (Partial).
func (p *planner) try(c capacity) (bool, *result.Summary, error) {
	p.mu.Lock()
	t := p.trials[c]
	if t != nil {
		p.mu.Unlock()
		<-t.done
		return t.pass, t.sum, t.err
	}
	t = &planTrial{done: make(chan struct{})}
	p.trials[c] = t
	p.mu.Unlock()
	defer close(t.done)
	if t.err = p.ctx.Err(); t.err != nil {
		return false, nil, t.err
	}
	m := p.model(c)
	sc := *p.s
	sc.Model = m
	opts := p.o.Options
	opts.Tick, opts.FailFast = c.tick, p.s.Gates
	if opts.Strata == 0 {
		opts.Strata = strataFor(p.s.Duration.D(), c.tick, planStrata) // the answer's margins come from these runs too
	}
	run, err := p.run(&sc, opts)
	if err != nil && !errors.Is(err, ErrGateFailed) {
		t.err = err
		return false, nil, err
	}
	gates, pass, err := result.EvaluateGates(run.Summary, p.s.Gates)
	run.Summary.Gates = gates
	if err != nil {
		t.err = err
		return false, nil, err
	}
	t.pass, t.sum = pass && !run.Summary.Partial, run.Summary
	p.mu.Lock()
	p.count++
	if p.o.Trial != nil && c.tick == p.o.Tick {
		tr := PlanTrial{Replicas: m.Replicas, Pass: t.pass, Summary: t.sum}
		if a := m.Autoscaler; a != nil && (a.Type == "hpa" || a.Type == "kpa") {
			tr.Replicas, tr.Ceiling = a.Min, a.Max
			for _, st := range a.Schedule {
				tr.Replicas = max(tr.Replicas, st.Replicas)
			}
		}
		if m.DB != nil {
			tr.Shards = m.DB.Shards
		}
		p.o.Trial(tr)
	}
	p.mu.Unlock()
	return t.pass, t.sum, nil
}

// run is one simulation (tests may replace it through PlanOptions.run).
func (p *planner) run(sc *scenario.Scenario, opts Options) (*result.Run, error) {
	if p.o.run != nil {
		sum, err := p.o.run(sc)
		if err != nil {
			return nil, err
		}
		return &result.Run{Summary: sum}, nil
	}
	return Run(p.ctx, sc, opts)
}

// tryAll simulates the points at once, a core each.
func (p *planner) tryAll(cs []capacity) ([]bool, []*result.Summary, error) {
	pass := make([]bool, len(cs))
	sums := make([]*result.Summary, len(cs))
	errs := make([]error, len(cs))
	sem := make(chan struct{}, p.par)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pass[i], sums[i], errs[i] = p.try(c)
		}()
	}
	wg.Wait()
	return pass, sums, errors.Join(errs...)
}

// search is one "least k that passes" question: at(k) is its point, k in (lo, limit].
type search struct {
	lo, limit int
	guess     int           // a first guess of the answer (0: none)
	spread    float64       // how far apart the first two points lie around the guess (a share of it)
	prec      func(int) int // stop when the passing and failing bounds are this close
	at        func(int) capacity
	hi        int             // a known passing k (0: none yet)
	hiSum     *result.Summary // its run
	loSum     *result.Summary // the run at lo, when one failed there
}

// least answers the search: q.hi is the least passing k to within prec, with its run, and q.lo
// the failing bound below it, with its run (loSum, nil when no run failed below the answer).
func (p *planner) least(q search) (search, error) {
	record := func(ks []int) error {
		cs := make([]capacity, len(ks))
		for i, k := range ks {
			cs[i] = q.at(k)
		}
		pass, sums, err := p.tryAll(cs)
		if err != nil {
			return err
		}
		for i, k := range ks {
			switch {
			case pass[i] && (q.hi == 0 || k < q.hi):
				q.hi, q.hiSum = k, sums[i]
			case !pass[i] && k > q.lo:
				q.lo, q.loSum = k, sums[i]
			}
		}
		if q.hi != 0 && q.lo >= q.hi { // not monotone here: trust the passing point
			q.lo, q.loSum = q.hi-1, nil
		}
		return nil
	}
	// A first guess: a point on each side of it, a few percent apart.
	if q.guess > q.lo && (q.hi == 0 || q.guess < q.hi) {
		d := max(1, int(float64(q.guess)*q.spread))
		top := q.limit + 1
		if q.hi != 0 {
			top = q.hi
		}
		if err := record(pointsIn(q.lo, top, []int{q.guess - d, q.guess + d})); err != nil {
			return q, err
		}
		// Widen towards the side that did not bracket it, doubling the step.
		for step := 2 * d; q.hi != 0 && q.loSum == nil && q.lo+1 < q.hi; step *= 2 {
			if err := record(pointsIn(q.lo, q.hi, []int{max(q.lo+1, q.hi-step), max(q.lo+1, q.hi-2*step)})); err != nil {
				return q, err
			}
		}
	}
	// No passing point yet: step up from the failing bound, doubling the step, to the limit.
	step := max(1, q.lo)
	if q.guess > 0 {
		step = max(1, q.guess*6/100)
	}
	for q.hi == 0 {
		if q.lo >= q.limit {
			return q, fmt.Errorf("%w: up to %d", ErrNoCapacity, q.limit)
		}
		if err := record(pointsIn(q.lo, q.limit+1, []int{min(q.lo+step, q.limit), min(q.lo+2*step, q.limit)})); err != nil {
			return q, err
		}
		step *= 4
	}
	// Split what is left between the bounds into as many parts as run at once, plus one.
	for q.hi-q.lo > q.prec(q.hi) {
		var ks []int
		for i := 1; i <= p.par; i++ {
			ks = append(ks, q.lo+(q.hi-q.lo)*i/(p.par+1))
		}
		if err := record(pointsIn(q.lo, q.hi, ks)); err != nil {
			return q, err
		}
	}
	return q, nil
}

// pointsIn keeps the distinct ks strictly between lo and hi, in order.
func pointsIn(lo, hi int, ks []int) []int {
	var out []int
	for _, k := range ks {
		if k > lo && k < hi && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// full plays the model of c to its end without stopping at a failed gate, with its gates
// evaluated.
func (p *planner) full(c capacity) (*result.Summary, error) {
	sc := *p.s
	sc.Model = p.model(c)
	opts := p.o.Options
	opts.Tick = c.tick
	if opts.Strata == 0 {
		opts.Strata = strataFor(p.s.Duration.D(), c.tick, planStrata) // as the search ran it
	}
	run, err := p.run(&sc, opts)
	if err != nil {
		return nil, err
	}
	gates, _, err := result.EvaluateGates(run.Summary, p.s.Gates)
	if err != nil {
		return nil, err
	}
	run.Summary.Gates = gates
	p.mu.Lock()
	p.count++
	p.mu.Unlock()
	return run.Summary, nil
}
