package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// capacityFlags are the flags of a capacity search (run and plan --find-capacity).
type capacityFlags struct {
	Find      bool
	Step      time.Duration
	StartRate float64
	Precision float64
}

func (c *capacityFlags) register(cmd *cobra.Command, step time.Duration, what string) {
	f := cmd.Flags()
	f.BoolVar(&c.Find, "find-capacity", false, "search the highest constant rate at which every gate holds: "+what+" one step per rate, doubling from --start-rate until a step fails, then bisecting")
	f.DurationVar(&c.Step, "step", step, "--find-capacity: the length of each constant-rate step")
	f.Float64Var(&c.StartRate, "start-rate", 0, "--find-capacity: the first rate (default: the scenario's played peak)")
	f.Float64Var(&c.Precision, "precision", 0.05, "--find-capacity: stop when the bracket is this narrow, relative to its top")
}

// search runs the capacity search with try playing one step, each step's run written under
// dir/steps (none when dir is ""); start defaults to the played peak of s.
func (c *capacityFlags) search(ctx context.Context, dir string, s *scenario.Scenario, po scenario.PlayOptions,
	try func(ctx context.Context, step *scenario.Scenario) (*result.Run, error)) (*result.Capacity, *result.Run, error) {
	if c.Step <= 0 || c.Precision <= 0 || c.Precision >= 1 || c.StartRate < 0 {
		return nil, nil, usageErr(errors.New("--step must be positive, --precision in (0, 1), --start-rate not negative"))
	}
	start := c.StartRate
	if start == 0 {
		p, err := s.Play(po)
		if err != nil {
			return nil, nil, usageErr(err)
		}
		start = p.PeakRate()
	}
	runs := map[float64]*result.Run{}
	capa, best, err := result.FindCapacity(ctx, result.CapacitySearch{Start: start, Precision: c.Precision,
		Try: func(ctx context.Context, rate float64) (*result.Summary, bool, error) {
			r, err := try(ctx, s.AtRate(rate, c.Step))
			if err != nil {
				return nil, false, err
			}
			pass, err := r.Complete(result.Completion{Gates: s.Gates})
			if err != nil {
				return nil, false, usageErr(err)
			}
			if dir != "" {
				if err := render.WriteAll(stepDir(dir, len(runs), rate), r); err != nil {
					return nil, false, err
				}
			}
			runs[rate] = r
			return r.Summary, pass, nil
		}})
	if err != nil {
		return capa, nil, err
	}
	run := runs[capa.MaxRate]
	if best == nil || run == nil {
		return capa, nil, errors.New("capacity search: no passing step")
	}
	run.Summary.Capacity = capa
	return capa, run, nil
}

// stepDir is where a capacity search keeps step i's run.
func stepDir(dir string, i int, rate float64) string {
	return filepath.Join(dir, "steps", fmt.Sprintf("%02d-%.0f", i+1, rate))
}

// finishCapacity writes the highest passing step's run (with the search) to dir and prints the
// search; no passing step is a gate failure (exit 3).
func finishCapacity(w io.Writer, dir string, s *scenario.Scenario, capa *result.Capacity, run *result.Run, err error) error {
	if capa != nil {
		if perr := render.CapacityText(w, s.Name, capa); perr != nil {
			return perr
		}
	}
	if errors.Is(err, result.ErrNoPassingRate) {
		return gateErr(err)
	}
	if err != nil {
		return err
	}
	return finishRun(w, dir, s, run)
}
