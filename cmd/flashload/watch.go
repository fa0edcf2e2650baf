package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/coord"
	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
)

func init() { register(newWatchCmd) }

// watcherHook, set by tests, receives the watcher of a `flashload watch` run through the command line.
var watcherHook func(*coord.Watcher)

// watchOptions are `flashload watch`'s flags and streams.
type watchOptions struct {
	Coordinate string
	RunID      string
	Out        string
	NoTUI      bool
	LostAfter  time.Duration
	// MetricsAddr serves the merged view's Prometheus metrics while the run goes on.
	MetricsAddr string

	Stdout, Stderr io.Writer
	TTY            bool
	// Watcher, when set, is called with the watcher once it is connected (tests read its live view).
	Watcher func(*coord.Watcher)
	Web     webFlags
}

func newWatchCmd() *cobra.Command {
	opts := &watchOptions{}
	cmd := &cobra.Command{
		Use:   "watch --coordinate URL --run-id ID",
		Short: "One live view of many generators (run --coordinate): merged windows, gates across all, the merged run",
		Long: `watch follows a coordinated run: the generators started with
  flashload run SCENARIO --target URL --coordinate redis://HOST:PORT/0 --run-id ID --segment I/N
publish every closed window to Redis. watch merges them as they arrive (HDR histograms add
exactly) into one dashboard with a line per generator (windows received, lag, dropped, CPU),
evaluates the scenario's gates across all generators while they run, and sends an abort to
every generator when an abort gate ({expr: ..., abort: true}) fails, or on q. A generator
without a heartbeat for --lost-after is marked lost. At the end it writes the merged run
directory (summary.json with generators[], histograms.hlog, report.html): the same as
flashload merge of the segments' directories. Exit 3 when a gate failed or the run was
aborted; 1 when a generator was lost (the result is then marked partial).`,
		Example: `  flashload watch --coordinate redis://127.0.0.1:6379/0 --run-id sale-1 --out runs/sale-1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.TTY = !opts.NoTUI && dashboard.IsTerminal(os.Stdout)
			opts.Watcher = watcherHook
			return watchRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Coordinate, "coordinate", "", "redis://HOST:PORT/DB the generators coordinate through (required)")
	f.StringVar(&opts.RunID, "run-id", "", "the run's id, as given to the generators (required)")
	f.StringVar(&opts.Out, "out", "", "directory for the merged run (default runs/NAME-TIME)")
	f.BoolVar(&opts.NoTUI, "no-tui", false, "plain progress lines on stderr instead of the dashboard")
	f.DurationVar(&opts.LostAfter, "lost-after", coord.DefaultLostAfter, "a generator without a heartbeat for this long is lost")
	f.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve the merged view's Prometheus metrics on HOST:PORT (/metrics): answers by code, dropped, in flight, rates, stock")
	opts.Web.register(cmd)
	return cmd
}

// watchRun is `flashload watch` with its flags parsed: tests call it directly.
func watchRun(ctx context.Context, o *watchOptions) error {
	if o.Coordinate == "" || o.RunID == "" {
		return usageErr(errors.New("watch needs --coordinate URL and --run-id ID"))
	}
	ms, err := listenMetrics(o.MetricsAddr, o.Stderr)
	if err != nil {
		return err
	}
	if ms != nil {
		defer ms.Close()
	}
	srv, err := o.Web.listen(o.Stderr)
	if err != nil {
		return err
	}
	defer closeWeb(srv)
	w, err := coord.NewWatcher(ctx, coord.WatchOptions{URL: o.Coordinate, RunID: o.RunID, LostAfter: o.LostAfter})
	if err != nil {
		return usageErr(err)
	}
	defer w.Close()
	if ms != nil {
		ms.ObserveSnapshots(w.Snapshot)
	}
	if o.Watcher != nil {
		o.Watcher(w)
	}
	dctx, stopDash := context.WithCancel(ctx)
	var views sync.WaitGroup
	views.Add(1)
	go func() {
		defer views.Done()
		err := dashboard.Watch(dctx, w.Snapshot, func() { w.Stop(ctx) }, dashboard.Options{TTY: o.TTY, Out: o.Stdout, Err: o.Stderr})
		if err != nil {
			fmt.Fprintf(o.Stderr, "flashload: dashboard: %v\n", err)
		}
	}()
	if srv != nil {
		views.Add(1)
		go func() {
			defer views.Done()
			srv.Watch(dctx, w.Snapshot, func() { w.Stop(ctx) })
		}()
	}
	out, err := w.Run(ctx)
	stopDash()
	views.Wait()
	if err != nil {
		return err
	}
	if out.Merged == nil {
		return fmt.Errorf("run %s: no generator finished (lost: %s)", o.RunID, strings.Join(out.Lost, ", "))
	}
	sum := out.Merged.Summary
	dir := o.Out
	if dir == "" {
		dir = result.DefaultRunDir(sum.Name, sum.StartedAt)
	}
	if err := render.WriteAll(dir, out.Merged); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	finishWeb(srv, dir, o.Stderr)
	if err := errors.Join(render.RunLine(o.Stdout, dir, sum), render.Outcome(o.Stdout, sum), render.Generators(o.Stdout, sum.Generators)); err != nil {
		return err
	}
	switch {
	case out.Aborted != nil:
		return gateErr(fmt.Errorf("run aborted: %s", out.Aborted))
	case len(render.FailedGates(sum.Gates)) > 0:
		return gateErr(fmt.Errorf("gates failed on the merged run: %s", strings.Join(render.FailedGates(sum.Gates), ", ")))
	case len(out.Lost) > 0:
		return fmt.Errorf("generators %s lost: the merged result is partial", strings.Join(out.Lost, ", "))
	}
	return nil
}
