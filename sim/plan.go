package sim

import (
	"context"
	"errors"
	"fmt"

	"github.com/flashload/flashload/report"
	"github.com/flashload/flashload/scenario"
)

// DefaultPlanMaxReplicas bounds Plan's search.
const DefaultPlanMaxReplicas = 100_000

// PlanOptions configure Plan: Options for every simulation, and the search's bounds.
type PlanOptions struct {
	Options
	MaxReplicas int                                               // 0: DefaultPlanMaxReplicas
	Trial       func(t PlanTrial)                                 // called after each simulation
	run         func(*scenario.Scenario) (*report.Summary, error) // tests may replace the simulation
}

// PlanTrial is one simulation of the search.
type PlanTrial struct {
	Replicas, Shards int
	Pass             bool
	Summary          *report.Summary
}

// PlanResult is the least capacity that passes the scenario's gates.
type PlanResult struct {
	Replicas      int // the replica floor: fixed replicas, or the autoscaler's minimum
	ModelReplicas int // what the model had
	Shards        int // the least starting shards (0: the model has no database)
	ModelShards   int
	Passing       *report.Summary // at (Replicas, Shards)
	Failing       *report.Summary // at Replicas−1 (nil when a single replica passes)
	Trials        int
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
		if _, err := report.ParseThreshold(g); err != nil {
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
	run := func(sc *scenario.Scenario) (*report.Summary, error) {
		r, err := Run(ctx, sc, o.Options)
		if err != nil {
			return nil, err
		}
		return r.Summary, nil
	}
	try := func(replicas, shards int) (bool, *report.Summary, error) {
		if err := ctx.Err(); err != nil {
			return false, nil, err
		}
		sc := *s
		sc.Model = withCapacity(base, replicas, shards)
		sum, err := run(&sc)
		if err != nil {
			return false, nil, err
		}
		pass, err := report.EvaluateGates(sum, s.Gates)
		if err != nil {
			return false, nil, err
		}
		res.Trials++
		if o.Trial != nil {
			o.Trial(PlanTrial{Replicas: replicas, Shards: shards, Pass: pass, Summary: sum})
		}
		return pass, sum, nil
	}

	shards := res.ModelShards
	// The replica floor: find a passing bound by doubling, then bisect down to the least.
	lo, hi := 0, max(res.ModelReplicas, 1)
	var hiSum, loSum *report.Summary
	for {
		pass, sum, err := try(hi, shards)
		if err != nil {
			return nil, err
		}
		if pass {
			hiSum = sum
			break
		}
		lo, loSum = hi, sum
		if hi >= o.MaxReplicas {
			return nil, fmt.Errorf("%w: up to %d replicas", ErrNoCapacity, o.MaxReplicas)
		}
		hi = min(hi*2, o.MaxReplicas)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		pass, sum, err := try(mid, shards)
		if err != nil {
			return nil, err
		}
		if pass {
			hi, hiSum = mid, sum
		} else {
			lo, loSum = mid, sum
		}
	}
	res.Replicas, res.Passing, res.Failing = hi, hiSum, loSum

	// The database's starting shards at that floor.
	if shards > 0 {
		slo, shi := 0, shards
		for shi-slo > 1 {
			mid := slo + (shi-slo)/2
			pass, sum, err := try(res.Replicas, mid)
			if err != nil {
				return nil, err
			}
			if pass {
				shi, res.Passing = mid, sum
			} else {
				slo = mid
			}
		}
		res.Shards = shi
	}
	return res, nil
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
