package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/coord"
	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/faults"
	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/report/web"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

func init() { register(newRunCmd) }

// runOptions are `flashload run`'s flags and streams.
type runOptions struct {
	Scenario    string
	Target      string
	Out         string
	Wall        time.Duration
	RateScale   float64
	Segment     string
	NoTUI       bool
	AdminURL    string
	AdminToken  string
	Orders      string
	Seed        int64
	AllowRemote bool
	Setup       bool
	setupSet    bool
	Workers     int
	MaxWorkers  int
	MaxConns    int
	Timeout     time.Duration
	Conn        connFlags
	Coordinate  string // redis:// URL of the coordinator of many generators (run_coord.go)
	RunID       string
	StartAt     string
	Capacity    capacityFlags

	Stdout, Stderr io.Writer
	TTY            bool

	MetricsAddr string
	Web         webFlags
	CPUProfile  string
}

func newRunCmd() *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run SCENARIO --target URL[,URL...]",
		Short: "Play a scenario against a live HTTP target (open model, no coordinated omission) and audit it",
		Long: `run plays a scenario's arrival schedule against a live HTTP target with fasthttp. Arrivals follow
the schedule whether or not the target keeps up: when no worker is free at an arrival's time it
is dropped and counted, never delayed. Latency is measured from the intended send time, service
time from the actual send. Journeys run step by step (think times scaled by compression, retries
with backoff and jitter honouring Retry-After, one idempotency key per purchase attempt).

With the target's admin token (--admin-token, or $FLASHLOAD_ADMIN_TOKEN) the scenario's SKUs are
created first (--setup), the dashboard shows the stock, and the run ends with an audit of the
target's orders: oversold, lost, unexpected, duplicates, undersold. For another service, the
scenario's audit: block names its own store (a PostgreSQL or MySQL query, an HTTP export, a
file; docs/own-service.md), or --orders FILE names an export it writes (NDJSON or CSV with
user,sku,qty[,status,key,id]), read once the load is over. The purchase attempts are kept in the
run directory (attempts.ndjson.gz): flashload audit DIR audits the run again later.

--target may list the replicas of one service (URL,URL,...): every connection goes to one of
them, round robin, so the load spreads over all; setup, the stock gauges and the audit go to
--admin-url, by default the first.

The run directory holds summary.json, histograms.hlog and report.html. The scenario's gates
are evaluated: exit 3 when one fails. Ctrl-C (or q on the dashboard) stops arrivals, drains
in-flight requests for a bounded time and writes a summary marked partial.`,
		Example: `  flashload serve --addr 127.0.0.1:8080 --admin-token secret &
  flashload run constant-2k --target http://127.0.0.1:8080 --admin-token secret
  flashload run double-eleven --target http://127.0.0.1:8080 --wall 60s --segment 1/2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Scenario = args[0]
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.setupSet = cmd.Flags().Changed("setup")
			opts.TTY = !opts.NoTUI && dashboard.IsTerminal(os.Stdout)
			if opts.CPUProfile != "" {
				stop, err := startCPUProfile(opts.CPUProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return runLive(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Target, "target", "", "base URL of the target, or its replicas' URLs separated by commas: requests spread over them round robin per connection (required; loopback unless --allow-remote)")
	f.StringVar(&opts.Out, "out", "", "run directory (default runs/NAME-TIME)")
	f.DurationVar(&opts.Wall, "wall", 0, "play the whole scenario in this wall time (rescales every stage's compression)")
	f.Float64Var(&opts.RateScale, "rate-scale", 0, "share of the curve's amplitude to play (default the file's rate_scale)")
	f.StringVar(&opts.Segment, "segment", "", "play segment I/N of the arrivals (merge the N runs with flashload merge); auto/N: I from $JOB_COMPLETION_INDEX")
	f.BoolVar(&opts.NoTUI, "no-tui", false, "plain progress lines on stderr instead of the dashboard")
	f.StringVar(&opts.AdminURL, "admin-url", "", "the target's admin base URL: setup, gauges and the audit (default the first --target URL)")
	f.StringVar(&opts.AdminToken, "admin-token", "", "bearer token of the target's /admin routes (default $FLASHLOAD_ADMIN_TOKEN)")
	f.StringVar(&opts.Orders, "orders", "", "an export of another service's orders, read after the load (NDJSON or CSV: user,sku,qty[,status,key,id]); replaces the audit: block's orders")
	f.Int64Var(&opts.Seed, "seed", 0, "random seed (default the scenario's)")
	f.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a target that is not on this machine (this tool sends real load)")
	f.BoolVar(&opts.Setup, "setup", false, "create the scenario's SKUs on the target first (default on when the admin token is known)")
	f.IntVar(&opts.Workers, "workers", 0, "open model: concurrent sessions (default sized from the peak rate)")
	f.IntVar(&opts.MaxWorkers, "max-workers", 0, "open model: the pool grows on demand up to this many sessions before arrivals are dropped (default 4x --workers, at most 20000)")
	f.IntVar(&opts.MaxConns, "max-conns", 0, "connections to the target (default sized from the peak rate; closed model: vus)")
	f.DurationVar(&opts.Timeout, "timeout", engine.DefaultTimeout, "read and write timeout of each request")
	opts.Conn.register(cmd)
	f.StringVar(&opts.Conn.ReplicaHeader, "replica-header", "", "the answer header that names the replica of a service that answered (default "+engine.DefaultReplicaHeader+", the reference target's): load per replica, requests.by_replica, gate replica_spread")
	f.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve the generator's Prometheus metrics on HOST:PORT (/metrics) while it runs")
	f.StringVar(&opts.Coordinate, "coordinate", "", "redis://HOST:PORT/DB: one of many generators of one run (with --run-id and --segment; see flashload watch)")
	f.StringVar(&opts.RunID, "run-id", "", "the coordinated run's id, the same on every generator and on watch")
	f.StringVar(&opts.StartAt, "start-at", "", "with --coordinate: start at this instant (RFC 3339) instead of when all N generators registered")
	opts.Capacity.register(cmd, 10*time.Second, "plays")
	opts.Web.register(cmd)
	f.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole process (start-up, load, report) to this file, for go tool pprof")
	return cmd
}

// startCPUProfile profiles the process into path until stop: what the generator spends per
// request and outside the requests (scripts/bench-engine compares its CPU with wrk's).
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runLive is `flashload run` with its flags parsed: tests call it directly.
func runLive(ctx context.Context, o *runOptions) error {
	s, err := scenario.Load(o.Scenario)
	if err != nil {
		return usageErr(err)
	}
	if o.AdminToken == "" {
		o.AdminToken = os.Getenv("FLASHLOAD_ADMIN_TOKEN")
	}
	if !o.setupSet {
		o.Setup = o.AdminToken != ""
	}
	if err := checkTargets(o.Target, o.AllowRemote, o.MaxConns); err != nil {
		return usageErr(err)
	}
	if err := o.Conn.check(); err != nil {
		return usageErr(err)
	}
	if o.AdminURL != "" {
		if err := checkTarget(o.AdminURL, o.AllowRemote); err != nil {
			return usageErr(fmt.Errorf("--admin-url: %w", err))
		}
	}
	var seg scenario.Segment
	if o.Segment != "" {
		if seg, err = coord.ParseSegment(o.Segment); err != nil {
			return usageErr(err)
		}
	}
	if o.Orders != "" {
		// The service writes its export during the load: only its directory must exist now.
		if _, err := os.Stat(filepath.Dir(o.Orders)); err != nil {
			return usageErr(fmt.Errorf("--orders: %w", err))
		}
	}
	if o.Wall < 0 || o.RateScale < 0 {
		return usageErr(errors.New("--wall and --rate-scale must be positive"))
	}
	dir := o.Out
	if dir == "" {
		dir = result.DefaultRunDir(s.Name, time.Now())
	}
	// Faults: what the target's admin API offers, refused before any load otherwise. With
	// segments, the first generator applies them, once for the whole run.
	var inject func(context.Context, time.Time, *scenario.Play) []result.Fault
	faultLog := &faults.Log{}
	if len(s.Faults) > 0 && (seg.N <= 1 || seg.I == 1) {
		if o.AdminToken == "" {
			return usageErr(fmt.Errorf("%s: the scenario has faults: applying them needs the target's --admin-token", s.Name))
		}
		adminURLs := strings.Split(o.Target, ",")
		if o.AdminURL != "" {
			adminURLs = strings.Split(o.AdminURL, ",")
		}
		adm := &faults.Admin{URLs: adminURLs, Token: o.AdminToken}
		if err := faults.Unsupported(s.Faults, adm.Supported); err != nil {
			return usageErr(err)
		}
		inject = faults.Run(s.Faults, adm, faultLog)
	}

	srv, err := o.Web.listen(o.Stderr)
	if err != nil {
		return err
	}
	defer closeWeb(srv)
	var gates *web.Gates // the page's live gates; a capacity search's steps are runs of their own
	if srv != nil && !o.Capacity.Find {
		gates = web.NewGates(s.Gates)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	eo := engine.Options{
		Target: o.Target, AdminURL: o.AdminURL, AdminToken: o.AdminToken, AttemptsFile: filepath.Join(dir, audit.AttemptsFile),
		Play: scenario.PlayOptions{Wall: o.Wall, RateScale: o.RateScale, Segment: seg},
		Seed: o.Seed, Setup: o.Setup, Workers: o.Workers, MaxWorkers: o.MaxWorkers, MaxConns: o.MaxConns, Timeout: o.Timeout,
		ConnMaxAge: o.Conn.MaxAge, ConnMaxRequests: o.Conn.MaxRequests, ReplicaHeader: o.Conn.ReplicaHeader,
		Faults:   inject,
		Progress: runView(o, srv, gates, faultLog, stop),
	}
	if eo.Store, err = auditStore(s, o.Target, o.Orders); err != nil {
		return usageErr(err)
	}
	ms, err := listenMetrics(o.MetricsAddr, o.Stderr)
	if err != nil {
		return err
	}
	if ms != nil {
		defer ms.Close()
		eo.Observe = ms.Observe
	}
	if o.Capacity.Find {
		capa, run, err := o.Capacity.search(runCtx, dir, s, eo.Play, func(ctx context.Context, step *scenario.Scenario) (*result.Run, error) {
			so := eo
			so.Play = scenario.PlayOptions{Segment: seg}
			return engine.Run(ctx, step, so)
		})
		err = finishCapacity(o.Stdout, dir, s, capa, run, err)
		finishWeb(srv, dir, o.Stderr)
		return err
	}
	rc, err := coordinate(ctx, o, s, seg, &eo, stop)
	if err != nil {
		return err
	}
	if gates != nil {
		eo.Sealed = web.Chain(eo.Sealed, gates.Add)
	}
	res, err := engine.Run(runCtx, s, eo)
	if err != nil {
		return rc.done(ctx, "", err)
	}
	rc.mark(res)
	err = finishRun(o.Stdout, dir, s, res)
	finishWeb(srv, dir, o.Stderr)
	return rc.done(ctx, dir, err)
}

// finishRun evaluates the gates, writes the run directory and prints the outcome; a failed gate
// is a gateErr (exit 3).
func finishRun(w io.Writer, dir string, s *scenario.Scenario, res *result.Run) error {
	sum := res.Summary
	pass, gerr := res.Complete(result.Completion{Gates: s.Gates})
	if err := render.WriteAll(dir, res); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if err := errors.Join(render.RunLine(w, dir, sum), render.Outcome(w, sum)); err != nil {
		return err
	}
	if gerr != nil {
		return gerr
	}
	if !pass {
		return gateErr(fmt.Errorf("gates failed: %s", strings.Join(render.FailedGates(sum.Gates), ", ")))
	}
	return nil
}

// checkTargets checks --target, one URL or the replicas' comma-separated list, each as
// checkTarget does, and that --max-conns (when given) leaves every replica a connection.
func checkTargets(list string, allowRemote bool, maxConns int) error {
	if list == "" {
		return errors.New("--target URL is required")
	}
	urls, err := engine.SplitTargets(list)
	if err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	for _, u := range urls {
		if err := checkTarget(u, allowRemote); err != nil {
			return err
		}
	}
	if maxConns > 0 && maxConns < len(urls) {
		return fmt.Errorf("--max-conns %d is fewer than the %d targets: every target needs a connection", maxConns, len(urls))
	}
	return nil
}

// checkTarget refuses anything but an http(s) URL, and a target off this machine unless allowed.
func checkTarget(u string, allowRemote bool) error {
	if u == "" {
		return errors.New("--target URL is required")
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("target %q must be an http:// or https:// URL", u)
	}
	if !allowRemote && !engine.IsLoopback(u) {
		return fmt.Errorf("target %q is not on this machine: flashload sends real load; pass --allow-remote if you mean it", u)
	}
	return nil
}

// runView is run's engine.Options.Progress: the dashboard (or progress lines) and, with --web,
// the live page, whose snapshots also carry the gates on the run so far. stop ends the run (q,
// or the page's stop button).
func runView(o *runOptions, srv *web.Server, gates *web.Gates, faultLog *faults.Log, stop func()) func(context.Context, func() result.Snapshot) {
	return func(pctx context.Context, snap func() result.Snapshot) {
		src := func() result.Snapshot { sn := snap(); sn.Faults = faultLog.Records(); return sn }
		web.Beside(pctx, srv, src, gates, stop, func() {
			if err := dashboard.Watch(pctx, src, stop, dashboard.Options{TTY: o.TTY, Out: o.Stdout, Err: o.Stderr}); err != nil {
				fmt.Fprintf(o.Stderr, "flashload: dashboard: %v\n", err)
			}
		})
	}
}
