package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/flashload/flashload/gate"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// DefaultPlanMaxReplicas bounds Plan's search.
const DefaultPlanMaxReplicas = 100_000

// PlanOptions configure Plan: Options for every simulation, and the search's bounds.
type PlanOptions struct {
	Options
	MaxReplicas int                                               // 0: DefaultPlanMaxReplicas
	Trial       func(t PlanTrial)                                 // called after each simulation
	run         func(*scenario.Scenario) (*result.Summary, error) // tests may replace the simulation
}

// PlanTrial is one simulation of the search: Replicas is the floor (with an autoscaler, the
// pre-scale) and Ceiling the autoscaler's maximum (0 without one).
type PlanTrial struct {
	Replicas, Ceiling, Shards int
	Pass                      bool
	Summary                   *result.Summary
}

// PlanResult is the least capacity that passes the scenario's gates.
type PlanResult struct {
	// Replicas is the least fixed replicas, or with an hpa or kpa autoscaler the least
	// pre-scale (PreScale).
	Replicas      int
	ModelReplicas int // what the model had

	// With an hpa or kpa autoscaler in the loop, the peak question:
	Autoscaled bool
	// Ceiling is the least autoscaler.max that passes (the schedule and the minimum capped at
	// it too): the replicas the peak needs, whatever scales them up.
	Ceiling, ModelCeiling int
	// PreScale is the least pre-scale that passes at that ceiling: the schedule's steps
	// and the minimum capped at it (without a schedule, the minimum alone). The model's is its
	// largest scheduled step, else its minimum.
	PreScale, ModelPreScale int
	Peak                    int     // the most replicas the passing run at PreScale used
	ReplicaHours            float64 // that run's replicas integrated over scenario time
	ModelReplicaHours       float64 // the model's own run's
	Hours                   float64 // the scenario's length
	Shards                  int     // the least starting shards (0: the model has no database)
	ModelShards             int
	Passing                 *result.Summary // at (Replicas, Shards)
	Failing                 *result.Summary // at Replicas−1 (nil when a single replica passes)
	Trials                  int
}

// ErrNoCapacity is returned when no capacity up to the bound passes the gates.
var ErrNoCapacity = errors.New("no capacity passes the gates")

// Plan searches the model for the least capacity that passes the scenario's gates: the replica
// floor (model.replicas), or with an hpa or kpa autoscaler the peak (the least autoscaler.max,
// then the least pre-scale at it), and then the database's starting shards. It assumes more
// capacity never fails a gate that less capacity passes. Every trial uses the same seed.
//
// A long run is first searched at a coarse tick (a pilot, a fraction of the cost), whose answers
// are the first guesses of the search at the run's own tick; the simulations of a round run at
// once, one per core; failing ones stop as soon as a gate can no longer pass.
func Plan(ctx context.Context, s *scenario.Scenario, o PlanOptions) (*PlanResult, error) {
	if len(s.Gates) == 0 {
		return nil, errors.New("plan: the scenario has no gates to pass")
	}
	for _, g := range s.Gates {
		if _, err := gate.Parse(g); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
	}
	if o.MaxReplicas <= 0 {
		o.MaxReplicas = DefaultPlanMaxReplicas
	}
	res, base := newPlanResult(s)
	o.Tick = planTick(s, o.Options)
	model := func(c capacity) *scenario.Model {
		switch {
		case c.ceiling == 0 && c.replicas == 0:
			return base
		case res.Autoscaled:
			return withCeiling(base, c.ceiling, c.prescale, c.shards)
		}
		return withCapacity(base, c.replicas, c.shards)
	}
	p := newPlanner(ctx, s, o, model)
	// The model as it is, beside the pilot: its replica-hours are the reference.
	var baseSum *result.Summary
	var baseErr error
	baseDone := make(chan struct{})
	go func() {
		defer close(baseDone)
		if res.Autoscaled {
			_, baseSum, baseErr = p.try(capacity{tick: o.Tick})
		}
	}()
	guess := planAnswer{replicas: res.ModelReplicas, ceiling: res.ModelCeiling, prescale: res.ModelPreScale, shards: res.ModelShards}
	spread := 0.5 // the model's own capacity is a rough guess
	sm, err := Prepare(s, o.Options)
	if err != nil {
		return nil, err
	}
	var pilots []time.Duration // only the fluid mode has a tick to coarsen
	if sm.Mode() == ModeFluid {
		pilots = pilotTicks(s, o.Tick)
	}
	for _, pt := range pilots {
		pilot, err := planSearch(p, res, guess, spread, pt, func(k int) int { return max(1, k/20) })
		switch {
		case err == nil:
			guess, spread = pilot, 0.03
		case !errors.Is(err, ErrNoCapacity):
			return nil, err
		}
	}
	ans, err := planSearch(p, res, guess, spread, o.Tick, func(k int) int { return max(1, k/50) })
	<-baseDone
	if err == nil {
		err = baseErr
	}
	if err == nil && ans.failing != nil && ans.failing.Partial {
		ans.failing, err = p.full(ans.failAt) // the margin below the answer is shown in full
	}
	res.Trials = p.count
	if err != nil {
		return nil, err
	}
	res.Passing, res.Failing, res.Shards = ans.passing, ans.failing, ans.shards
	res.Replicas = ans.replicas
	if res.Autoscaled {
		res.ModelReplicaHours = ReplicaHours(baseSum)
		res.Ceiling, res.PreScale = ans.ceiling, ans.prescale
		res.Peak, res.ReplicaHours = ans.prescaleSum.Replicas.Max, ReplicaHours(ans.prescaleSum)
	}
	return res, nil
}

// newPlanResult reads the model's own capacity, the reference of every answer.
func newPlanResult(s *scenario.Scenario) (*PlanResult, *scenario.Model) {
	base := s.Model
	if base == nil {
		base = &scenario.Model{}
	}
	res := &PlanResult{ModelReplicas: base.Replicas}
	if res.ModelReplicas <= 0 {
		res.ModelReplicas = DefaultReplicas
		if a := base.Autoscaler; a != nil && a.Min > 0 {
			res.ModelReplicas = a.Min
		}
	}
	if base.DB != nil {
		res.ModelShards = base.DB.Shards
	}
	if a := base.Autoscaler; a != nil && (a.Type == "hpa" || a.Type == "kpa") {
		res.Autoscaled, res.Hours = true, s.Duration.D().Hours()
		res.ModelCeiling, res.ModelPreScale = max(a.Max, 1), a.Min
		for _, st := range a.Schedule {
			res.ModelPreScale = max(res.ModelPreScale, st.Replicas)
		}
		res.ModelPreScale = max(res.ModelPreScale, 1)
	}
	return res, base
}

// planAnswer is what a search found: the least replicas (or ceiling and pre-scale) and shards,
// with the passing run at the answer and the failing one a step below it (failAt).
type planAnswer struct {
	replicas, ceiling, prescale, shards int
	passing, failing, prescaleSum       *result.Summary
	failAt                              capacity
}

// planSearch answers the plan's questions in order at one tick, starting from the guesses.
func planSearch(p *planner, res *PlanResult, guess planAnswer, spread float64, tick time.Duration, coarse func(int) int) (planAnswer, error) {
	ans := planAnswer{shards: res.ModelShards}
	exact := func(int) int { return 1 }
	at := func(replicas, ceiling, prescale, shards int) capacity {
		return capacity{replicas: replicas, ceiling: ceiling, prescale: prescale, shards: shards, tick: tick}
	}
	if res.Autoscaled {
		// The peak question. An autoscaler scales up whatever the floor, so the floor is no
		// answer: the capacity is the ceiling, and what must be ready before the spike.
		c, err := p.least(search{limit: p.o.MaxReplicas, guess: guess.ceiling, spread: spread, prec: coarse,
			at: func(k int) capacity { return at(0, k, k, res.ModelShards) }})
		if err != nil {
			return ans, err
		}
		ceil := c.hi
		pre, err := p.least(search{limit: ceil, guess: min(guess.prescale, ceil), spread: spread, prec: coarse,
			at: func(k int) capacity { return at(0, ceil, k, res.ModelShards) }, hi: ceil, hiSum: c.hiSum})
		if err != nil {
			return ans, err
		}
		ans.ceiling, ans.prescale, ans.replicas = ceil, pre.hi, pre.hi
		ans.passing, ans.failing, ans.prescaleSum = pre.hiSum, pre.loSum, pre.hiSum
		ans.failAt = at(0, ceil, pre.lo, res.ModelShards)
	} else {
		// The replica floor.
		rep, err := p.least(search{limit: p.o.MaxReplicas, guess: guess.replicas, spread: spread, prec: exact,
			at: func(k int) capacity { return at(k, 0, 0, res.ModelShards) }})
		if err != nil {
			return ans, err
		}
		ans.replicas, ans.passing, ans.failing = rep.hi, rep.hiSum, rep.loSum
		ans.failAt = at(rep.lo, 0, 0, res.ModelShards)
	}
	// The database's starting shards at that capacity (the model's pass: the last search's
	// answer ran with them).
	if res.ModelShards > 0 {
		sh, err := p.least(search{limit: res.ModelShards, guess: min(guess.shards, res.ModelShards), spread: spread, prec: exact,
			at: func(k int) capacity { return at(ans.replicas*boolInt(!res.Autoscaled), ans.ceiling, ans.prescale, k) },
			hi: res.ModelShards, hiSum: ans.passing})
		if err != nil {
			return ans, err
		}
		ans.shards, ans.passing = sh.hi, sh.hiSum
		if res.Autoscaled {
			ans.prescaleSum = sh.hiSum
		}
	}
	return ans, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// planTick is the tick of the plan's answer: the options', else the model's, else DefaultTick
// (the fluid mode's step; the request mode has none, and ignores it).
func planTick(s *scenario.Scenario, o Options) time.Duration {
	switch {
	case o.Tick > 0:
		return o.Tick
	case s.Model != nil && s.Model.Tick.D() > 0:
		return s.Model.Tick.D()
	}
	return DefaultTick
}

// pilotTicks are the coarse ticks of the pilot searches, coarsest first: 32 and 4 times the
// plan's own, each while the run still has a thousand ticks at it (a day: 32 s, then 4 s). A
// coarse tick costs that much less, and averages the spike over its length: its answers are
// first guesses, which the next search confirms.
func pilotTicks(s *scenario.Scenario, tick time.Duration) []time.Duration {
	var out []time.Duration
	for _, k := range []time.Duration{32, 4} {
		if pt := k * tick; s.Duration.D()/pt >= 1000 {
			out = append(out, pt)
		}
	}
	return out
}

// withCapacity copies the model with a replica floor and starting shards.
func withCapacity(m *scenario.Model, replicas, shards int) *scenario.Model {
	c := *m
	c.Replicas = replicas
	if a := m.Autoscaler; a != nil {
		ac := *a
		if ac.Type == "hpa" || ac.Type == "kpa" {
			ac.Min = replicas
			ac.Max = max(ac.Max, replicas)
		} else {
			ac.Min = min(ac.Min, replicas)
		}
		c.Autoscaler = &ac
	}
	if d := m.DB; d != nil && shards > 0 {
		dc := *d
		dc.Shards = shards
		dc.MaxShards = max(dc.MaxShards, shards)
		c.DB = &dc
	}
	return &c
}

// withCeiling copies an autoscaled model with its maximum at ceiling (0: the model's) and its
// schedule's steps, its minimum and its starting replicas capped at prescale, and starting
// shards.
func withCeiling(m *scenario.Model, ceiling, prescale, shards int) *scenario.Model {
	c := withCapacity(m, max(m.Replicas, 1), shards)
	a := *m.Autoscaler
	if ceiling > 0 {
		a.Max = ceiling
	}
	if prescale > 0 {
		a.Min = min(max(a.Min, 1), prescale)
		a.Schedule = slices.Clone(a.Schedule)
		for i := range a.Schedule {
			a.Schedule[i].Replicas = min(a.Schedule[i].Replicas, prescale)
		}
	}
	c.Replicas = min(max(m.Replicas, a.Min), a.Max)
	if m.Replicas == 0 {
		c.Replicas = a.Min
	}
	c.Autoscaler = &a
	return c
}

// ReplicaHours integrates a run's replicas over its timeline in scenario hours.
func ReplicaHours(s *result.Summary) float64 {
	if s == nil || len(s.Timeline) == 0 || s.DurationS <= 0 {
		return 0
	}
	var h float64
	scale := s.ScenarioTimeS / s.DurationS // scenario seconds per run-clock second, on average
	for i, p := range s.Timeline {
		end := s.DurationS
		if i+1 < len(s.Timeline) {
			end = s.Timeline[i+1].Wall
		}
		h += float64(p.Replicas) * math.Max(0, end-p.Wall) * scale
	}
	return h / 3600
}
