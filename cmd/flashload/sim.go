package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

func init() { register(newSimCmd) }

// simOptions holds the flags and streams of `flashload sim`.
type simOptions struct {
	Out, Err  io.Writer
	TTY       bool
	Dir       string
	NoTUI     bool
	Mode      string
	Played    bool
	Calibrate string
	Traffic   string
	Seed      int64
}

func newSimCmd() *cobra.Command {
	opts := &simOptions{}
	cmd := &cobra.Command{
		Use:   "sim SCENARIO [--out DIR] [--no-tui] [--mode fluid|request|auto]",
		Short: "Simulate the scenario at full scale against its capacity model, in virtual time",
		Long: "Play the scenario in virtual time against its capacity model (model: in the file):\n" +
			"replicas × workers, cache, database shards, shedding, circuit breaker, inventory, retries\n" +
			"and the autoscaler. Writes summary.json (mode \"sim\"), histograms.hlog and report.html,\n" +
			"evaluates the scenario's gates (exit 3 when one fails). --mode request simulates every\n" +
			"request (the reference, for small scale); fluid steps through time with queueing formulas\n" +
			"(a 24 h day at 350k/s in seconds); auto picks by size. --played plays the live run's scale\n" +
			"and compression instead of full scale; --calibrate DIR takes the service time from a live\n" +
			"run's measured histogram.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Err = c.OutOrStdout(), c.ErrOrStderr()
			opts.TTY = !opts.NoTUI && dashboard.IsTerminal(os.Stdout)
			return simRun(c.Context(), opts, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "out", "", "directory for summary.json, histograms.hlog, report.html (default sim-NAME)")
	f.BoolVar(&opts.NoTUI, "no-tui", false, "plain progress lines on stderr instead of the dashboard")
	f.StringVar(&opts.Mode, "mode", sim.ModeAuto, "fluid, request or auto")
	f.BoolVar(&opts.Played, "played", false, "play the live scale and compression (rate_scale, compress) instead of full scale")
	f.StringVar(&opts.Calibrate, "calibrate", "", "a live run's directory: its fitted service time and concurrency replace the model's (flashload calibrate)")
	f.Int64Var(&opts.Seed, "seed", 0, "seed of every random choice (default: the scenario's)")
	f.StringVar(&opts.Traffic, "traffic", "", "a t,rps replay curve (flashload traffic import/forecast) that replaces the scenario's traffic")
	return cmd
}

// loadWithTraffic loads a scenario and, given a replay curve, replaces its traffic with it;
// errors are usage errors.
func loadWithTraffic(arg, curve string) (*scenario.Scenario, error) {
	s, err := scenario.Load(arg)
	if err != nil {
		return nil, usageErr(err)
	}
	if curve != "" {
		if s, err = s.WithReplay(curve); err != nil {
			return nil, usageErr(err)
		}
	}
	return s, nil
}

// simPrepare loads the scenario and resolves the simulation; errors are usage errors.
func simPrepare(arg, curve string, o sim.Options, calibrate string) (*scenario.Scenario, *sim.Prepared, error) {
	s, err := loadWithTraffic(arg, curve)
	if err != nil {
		return nil, nil, err
	}
	if calibrate != "" {
		if s, err = calibrated(s, calibrate); err != nil {
			return nil, nil, err
		}
	}
	sm, err := sim.Prepare(s, o)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	return s, sm, nil
}

func simRun(ctx context.Context, opts *simOptions, arg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var vnow atomic.Int64
	s, sm, err := simPrepare(arg, opts.Traffic, sim.Options{Mode: opts.Mode, Played: opts.Played, Seed: opts.Seed,
		Progress: func(v time.Duration) { vnow.Store(int64(v)) }}, opts.Calibrate)
	if err != nil {
		return err
	}
	dir := opts.Dir
	if dir == "" {
		dir = "sim-" + s.Name
	}
	rec := sm.NewRecorder()
	var done atomic.Bool
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	watchCtx, stopWatch := context.WithCancel(ctx)
	source := func() result.Snapshot {
		snap := rec.Snapshot(time.Duration(vnow.Load()))
		snap.Done = done.Load()
		return snap
	}
	watched := make(chan error, 1)
	go func() {
		watched <- dashboard.Watch(watchCtx, source, stopRun, dashboard.Options{TTY: opts.TTY, Out: opts.Out, Err: opts.Err})
	}()

	start := time.Now()
	run, runErr := sm.Run(runCtx, rec)
	elapsed := time.Since(start)
	done.Store(true)
	stopWatch()
	<-watched
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	pass, gerr := run.Complete(result.Completion{Gates: s.Gates})
	if err := render.WriteAll(dir, run); err != nil {
		return err
	}
	events := ""
	if n := sm.Events(); n > 0 {
		// The kernel alone plays 12-16 M events per CPU second (BenchmarkKernel): the rest is the model.
		events = fmt.Sprintf(", %s events, %s events/s", render.Count(float64(n)), render.Count(float64(n)/elapsed.Seconds()))
	}
	fmt.Fprintf(opts.Out, "simulated %s of %q in %s (%s mode, seed %d%s): %s\n", sm.Play().WallDuration(), s.Name,
		elapsed.Round(time.Millisecond), sm.Mode(), sm.Seed(), events, dir)
	if err := render.Text(opts.Out, run.Summary, nil); err != nil {
		return err
	}
	steps := map[string][]render.StepWindow{}
	for k, ws := range sm.StepLatency() {
		for _, sw := range ws {
			steps[k] = append(steps[k], render.StepWindow(sw))
		}
	}
	if err := render.StepLatency(opts.Out, steps); err != nil {
		return err
	}
	if gerr != nil {
		return usageErr(gerr)
	}
	if runErr != nil {
		return fmt.Errorf("simulation stopped early: %w", runErr)
	}
	if !pass {
		return gateErr(errors.New("a gate failed (see above)"))
	}
	return nil
}

// calibrated returns a copy of s whose model is calibrated by the live run at dir.
func calibrated(s *scenario.Scenario, dir string) (*scenario.Scenario, error) {
	cal, err := sim.CalibrateDir(dir)
	if err != nil {
		return nil, usageErr(err)
	}
	c := *s
	c.Model = cal.Apply(s.Model)
	return &c, nil
}
