package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report"
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
	f.StringVar(&opts.Calibrate, "calibrate", "", "a live run's directory: its measured service times replace model.service_time")
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
		d, err := sim.EmpiricalFromRun(opts.Calibrate)
		if err != nil {
			return usageErr(err)
		}
		o.ServiceTime = d
	}
	if _, err := sim.Prepare(s, o.Options); err != nil {
		return usageErr(err)
	}
	start := time.Now()
	o.Trial = func(t sim.PlanTrial) {
		verdict := "pass"
		if !t.Pass {
			verdict = "FAIL " + failedGates(t.Summary)
		}
		shards := ""
		if t.Shards > 0 {
			shards = fmt.Sprintf(", %d shards", t.Shards)
		}
		fmt.Fprintf(opts.Err, "plan: %d replicas%s: %s (%s)\n", t.Replicas, shards, verdict, time.Since(start).Round(time.Millisecond))
	}
	res, err := sim.Plan(ctx, s, o)
	if errors.Is(err, sim.ErrNoCapacity) {
		return gateErr(err)
	}
	if err != nil {
		var te *report.ThresholdError
		if errors.As(err, &te) {
			return usageErr(err)
		}
		return err
	}
	w := opts.Out
	fmt.Fprintf(w, "plan for %q: %d simulations in %s\n", s.Name, res.Trials, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(w, "  replicas  %d (the model has %d: %s)\n", res.Replicas, res.ModelReplicas, headroom(res.ModelReplicas, res.Replicas))
	if res.ModelShards > 0 {
		fmt.Fprintf(w, "  shards    %d (the model has %d: %s)\n", res.Shards, res.ModelShards, headroom(res.ModelShards, res.Shards))
	}
	fmt.Fprintf(w, "margin at the answer:\n")
	printGates(w, res.Passing)
	if res.Failing != nil {
		fmt.Fprintf(w, "one step below (%d replicas) fails:\n", res.Replicas-1)
		printGates(w, res.Failing)
	}
	return nil
}

func headroom(model, least int) string {
	switch {
	case model > least:
		return fmt.Sprintf("%d spare, %.0f%% over the least", model-least, float64(model-least)/float64(least)*100)
	case model < least:
		return fmt.Sprintf("%d short: its gates fail", least-model)
	}
	return "no headroom"
}

func printGates(w io.Writer, s *report.Summary) {
	for _, g := range s.Gates {
		mark := "PASS"
		if !g.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-32s %s\n", mark, g.Expr, report.FormatGateValue(g))
	}
	fmt.Fprintf(w, "        replicas %d..%d, p99 %s, availability %.3f%%\n", s.Replicas.Min, s.Replicas.Max,
		report.FormatMs(s.LatencyMs.P99), planAvailability(s)*100)
}

func failedGates(s *report.Summary) string {
	var f []string
	for _, g := range s.Gates {
		if !g.Pass {
			f = append(f, g.Expr+" ("+report.FormatGateValue(g)+")")
		}
	}
	return strings.Join(f, ", ")
}

// planAvailability is the gates' availability: ok / (requests + dropped).
func planAvailability(s *report.Summary) float64 {
	d := float64(s.Requests.Total + s.Requests.Dropped)
	if d == 0 {
		return 0
	}
	return float64(s.Requests.OK) / d
}
