package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
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
	NoTUI       bool
}

func newPlanCmd() *cobra.Command {
	opts := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan SCENARIO",
		Short: "Search the capacity model for the least capacity that passes the scenario's gates",
		Long: "Simulate the scenario again and again to find the least capacity that passes its gates:\n" +
			"the replica floor (model.replicas, or autoscaler.min for hpa and kpa) by doubling and\n" +
			"bisection, then the database's starting shards. Prints the answer, the model's own\n" +
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
	return cmd
}

func planRun(ctx context.Context, opts *planOptions, arg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := scenario.Load(arg)
	if err != nil {
		return usageErr(err)
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
	start := time.Now()
	o.Trial = func(t sim.PlanTrial) {
		_ = render.PlanTrial(opts.Err, t.Replicas, t.Shards, t.Pass, t.Summary, time.Since(start))
	}
	res, err := sim.Plan(ctx, s, o)
	if errors.Is(err, sim.ErrNoCapacity) {
		return gateErr(err)
	}
	if err != nil {
		return err
	}
	return render.PlanText(opts.Out, render.Plan{Name: s.Name, Trials: res.Trials, Elapsed: time.Since(start),
		Replicas: res.Replicas, ModelReplicas: res.ModelReplicas, Shards: res.Shards, ModelShards: res.ModelShards,
		Passing: res.Passing, Failing: res.Failing})
}
