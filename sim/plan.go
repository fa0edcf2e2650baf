package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

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

// Plan searches the model for the least capacity that passes the scenario's gates: first the
// replica floor (model.replicas, or autoscaler.min for hpa and kpa), by doubling then bisection,
// then, at that floor, the database's starting shards by bisection. It assumes more capacity
// never fails a gate that less capacity passes. Every trial uses the same seed.
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
	run := func(sc *scenario.Scenario) (*result.Summary, error) {
		r, err := Run(ctx, sc, o.Options)
		if err != nil {
			return nil, err
		}
		return r.Summary, nil
	}
	try := func(m *scenario.Model) (bool, *result.Summary, error) {
		if err := ctx.Err(); err != nil {
			return false, nil, err
		}
		sc := *s
		sc.Model = m
		sum, err := run(&sc)
		if err != nil {
			return false, nil, err
		}
		gates, pass, err := result.EvaluateGates(sum, s.Gates)
		sum.Gates = gates
		if err != nil {
			return false, nil, err
		}
		res.Trials++
		if o.Trial != nil {
			t := PlanTrial{Replicas: m.Replicas, Pass: pass, Summary: sum}
			if a := m.Autoscaler; a != nil && (a.Type == "hpa" || a.Type == "kpa") {
				t.Replicas, t.Ceiling = a.Min, a.Max
				for _, st := range a.Schedule {
					t.Replicas = max(t.Replicas, st.Replicas)
				}
			}
			if m.DB != nil {
				t.Shards = m.DB.Shards
			}
			o.Trial(t)
		}
		return pass, sum, nil
	}

	shards := res.ModelShards
	// least finds the least k in (lo, ∞) up to MaxReplicas at which mk(k) passes: doubling
	// from start until one passes, then bisection, to within prec(k).
	least := func(lo, start int, prec func(int) int, mk func(int) *scenario.Model) (int, *result.Summary, *result.Summary, error) {
		hi := max(start, lo+1)
		var hiSum, loSum *result.Summary
		for {
			pass, sum, err := try(mk(hi))
			if err != nil {
				return 0, nil, nil, err
			}
			if pass {
				hiSum = sum
				break
			}
			lo, loSum = hi, sum
			if hi >= o.MaxReplicas {
				return 0, nil, nil, fmt.Errorf("%w: up to %d replicas", ErrNoCapacity, o.MaxReplicas)
			}
			hi = min(hi*2, o.MaxReplicas)
		}
		for hi-lo > prec(hi) {
			mid := lo + (hi-lo)/2
			pass, sum, err := try(mk(mid))
			if err != nil {
				return 0, nil, nil, err
			}
			if pass {
				hi, hiSum = mid, sum
			} else {
				lo, loSum = mid, sum
			}
		}
		return hi, hiSum, loSum, nil
	}
	exact := func(int) int { return 1 }
	if a := base.Autoscaler; a != nil && (a.Type == "hpa" || a.Type == "kpa") {
		// The peak question. An autoscaler scales up whatever the floor, so the floor is no
		// answer: the capacity is the ceiling, and what must be ready before the spike.
		res.Autoscaled = true
		res.Hours = s.Duration.D().Hours()
		res.ModelCeiling = max(a.Max, 1)
		res.ModelPreScale = a.Min
		for _, st := range a.Schedule {
			res.ModelPreScale = max(res.ModelPreScale, st.Replicas)
		}
		res.ModelPreScale = max(res.ModelPreScale, 1)
		_, sum, err := try(base)
		if err != nil {
			return nil, err
		}
		res.ModelReplicaHours = ReplicaHours(sum)
		// Within 2%: each trial is a whole day.
		coarse := func(k int) int { return max(1, k/50) }
		ceil, _, _, err := least(0, res.ModelCeiling, coarse, func(k int) *scenario.Model { return withCeiling(base, k, k, shards) })
		if err != nil {
			return nil, err
		}
		res.Ceiling = ceil
		pre, pSum, fSum, err := least(0, min(res.ModelPreScale, ceil), coarse, func(k int) *scenario.Model {
			return withCeiling(base, ceil, k, shards)
		})
		if err != nil {
			return nil, err
		}
		res.PreScale, res.Replicas, res.Passing, res.Failing = pre, pre, pSum, fSum
		res.Peak, res.ReplicaHours = pSum.Replicas.Max, ReplicaHours(pSum)
		if err := leastShards(res, shards, try, func(k int) *scenario.Model { return withCeiling(base, ceil, pre, k) }); err != nil {
			return nil, err
		}
		return res, nil
	}
	// The replica floor: find a passing bound by doubling, then bisect down to the least.
	hi, hiSum, loSum, err := least(0, max(res.ModelReplicas, 1), exact, func(k int) *scenario.Model { return withCapacity(base, k, shards) })
	if err != nil {
		return nil, err
	}
	res.Replicas, res.Passing, res.Failing = hi, hiSum, loSum

	// The database's starting shards at that floor.
	if err := leastShards(res, shards, try, func(k int) *scenario.Model { return withCapacity(base, res.Replicas, k) }); err != nil {
		return nil, err
	}
	return res, nil
}

// leastShards bisects the database's starting shards between 0 and shards (which passes, as
// res.Passing does) down to the least that still passes, and records it in res.
func leastShards(res *PlanResult, shards int, try func(*scenario.Model) (bool, *result.Summary, error), model func(shards int) *scenario.Model) error {
	if shards <= 0 {
		return nil
	}
	lo, hi := 0, shards
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		pass, sum, err := try(model(mid))
		if err != nil {
			return err
		}
		if pass {
			hi, res.Passing = mid, sum
		} else {
			lo = mid
		}
	}
	res.Shards = hi
	return nil
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
