package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

func init() { register(newPlanCmd) }

// planOptions holds the flags and streams of `flashload plan`.
type planOptions struct {
	Out, Err    io.Writer
	Mode        string
	Seed        int64
	Tick        time.Duration
	MaxReplicas int
	Calibrate   string
	Traffic     string
	NoTUI       bool
	Capacity    capacityFlags
}

func newPlanCmd() *cobra.Command {
	opts := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan SCENARIO",
		Short: "Search the capacity model for the least capacity that passes the scenario's gates",
		Long: "Simulate the scenario again and again to find the least capacity that passes its gates:\n" +
			"the fixed replicas, then the database's starting shards (a simulation per core at once, a\n" +
			"long run first searched at a coarse tick, a failing run stopped once a gate can no longer\n" +
			"pass). With an hpa or kpa autoscaler in the loop the answer is the peak's: the least\n" +
			"autoscaler.max (the schedule and minimum capped at it), the least pre-scale at that max (the\n" +
			"schedule's steps and the minimum capped at it; a floor the autoscaler scales away from is\n" +
			"no answer), and the replica-hours over the day. Prints the answer, the model's own\n" +
			"figures, and the margin: the gates at the answer and one replica below it. Exit 3 when no\n" +
			"capacity up to --max-replicas passes.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Err = c.OutOrStdout(), c.ErrOrStderr()
			return planRun(c.Context(), opts, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Mode, "mode", sim.ModeAuto, "fluid, request or auto")
	f.Int64Var(&opts.Seed, "seed", 0, "seed of every random choice (default: the scenario's)")
	f.DurationVar(&opts.Tick, "tick", 0, "fluid mode step (default: the model's, else 1s); a coarser tick searches faster")
	f.IntVar(&opts.MaxReplicas, "max-replicas", sim.DefaultPlanMaxReplicas, "give up above this many replicas")
	f.StringVar(&opts.Calibrate, "calibrate", "", "a live run's directory: its fitted service time and concurrency replace the model's (flashload calibrate)")
	f.BoolVar(&opts.NoTUI, "no-tui", false, "accepted as by every command that shows progress; plan's progress is always one plain line per simulation on stderr")
	f.StringVar(&opts.Traffic, "traffic", "", "a t,rps replay curve (flashload traffic import/forecast) that replaces the scenario's traffic")
	opts.Capacity.register(cmd, time.Minute, "simulates (at full scale)")
	return cmd
}

func planRun(ctx context.Context, opts *planOptions, arg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := loadWithTraffic(arg, opts.Traffic)
	if err != nil {
		return err
	}
	o := sim.PlanOptions{Options: sim.Options{Mode: opts.Mode, Seed: opts.Seed, Tick: opts.Tick}, MaxReplicas: opts.MaxReplicas}
	if opts.Calibrate != "" {
		if s, err = calibrated(s, opts.Calibrate); err != nil {
			return err
		}
	}
	if _, err := sim.Prepare(s, o.Options); err != nil {
		return usageErr(err)
	}
	if opts.Capacity.Find {
		// The simulator's answer to run --find-capacity: the same steps, against the model.
		capa, _, err := opts.Capacity.search(ctx, "", s, scenario.PlayOptions{RateScale: 1, Uncompressed: true},
			func(ctx context.Context, step *scenario.Scenario) (*result.Run, error) {
				return sim.Run(ctx, step, o.Options)
			})
		if capa != nil {
			if perr := render.CapacityText(opts.Out, s.Name+" (model)", capa); perr != nil {
				return perr
			}
		}
		if errors.Is(err, result.ErrNoPassingRate) {
			return gateErr(err)
		}
		return err
	}
	start := time.Now()
	o.Trial = func(t sim.PlanTrial) {
		_ = render.PlanTrial(opts.Err, t.Replicas, t.Ceiling, t.Shards, t.Pass, t.Summary, time.Since(start))
	}
	res, err := sim.Plan(ctx, s, o)
	if errors.Is(err, sim.ErrNoCapacity) {
		return gateErr(err)
	}
	if err != nil {
		return err
	}
	if err := render.PlanText(opts.Out, render.Plan{Name: s.Name, Trials: res.Trials, Elapsed: time.Since(start),
		Replicas: res.Replicas, ModelReplicas: res.ModelReplicas, Shards: res.Shards, ModelShards: res.ModelShards,
		Passing: res.Passing, Failing: res.Failing,
		Autoscaled: res.Autoscaled, Ceiling: res.Ceiling, ModelCeiling: res.ModelCeiling, PreScale: res.PreScale,
		ModelPreScale: res.ModelPreScale, Peak: res.Peak, ReplicaHours: res.ReplicaHours,
		ModelReplicaHours: res.ModelReplicaHours, Hours: res.Hours}); err != nil {
		return err
	}
	if c := s.Crowd; c != nil && s.Model != nil {
		// The push tier's answer for the crowd at full scale: the replicas its watchers need
		// (connections, fan-out, connects) and the herd at the opening.
		wp, err := sim.PlanWatchers(s.Model, sim.WatchersOptions{Watchers: int64(c.Watchers), Arrive: c.From.D()})
		if err != nil {
			return err
		}
		return render.CrowdPlan(opts.Out, c.SKU, wp)
	}
	return nil
}
