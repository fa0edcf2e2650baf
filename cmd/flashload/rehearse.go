package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target"
	"github.com/flashload/flashload/target/inventory"
)

func init() { register(newRehearseCmd) }

// rehearseOptions are `flashload rehearse`'s flags, streams and dependencies: rehearse.Options,
// filled by the flags, and what only the command line has.
type rehearseOptions struct {
	rehearse.Options
	Name        string // SCENARIO: a path or a bundled name
	Strategy    string // --strategy, one of Strategies
	NoTUI       bool
	MetricsAddr string // --metrics-addr
	Replicas    string // --replicas N or MIN..MAX
	Capacity    capacityFlags
	Web         webFlags
}

func newRehearseCmd() *cobra.Command {
	o := &rehearseOptions{}
	cmd := &cobra.Command{
		Use:   "rehearse [SCENARIO]",
		Short: "The main job: rehearse a flash sale against the reference target, audit it, simulate it at full scale",
		Long: `rehearse starts the reference flash-sale target in-process on a loopback port (memory inventory
unless --strategy or --redis say otherwise), creates the scenario's SKUs, plays the scenario (the
bundled double-eleven by default) compressed into --wall with the live dashboard, and audits the
sale (oversold, lost, duplicates). Then it simulates the same scenario twice: at the played scale,
with the service time calibrated from the measured histograms, to show how far prediction and
measurement are apart; and at full production scale, to predict the night itself (P99, shedding,
availability, replicas).

The run directory (default runs/NAME-TIME) holds summary.json, histograms.hlog and report.html
(measured and predicted side by side), and sim-played/ and sim-full/ with the simulations.
--strategies memory,redis-lua,naive rehearses once per inventory strategy, each in its own
directory, and ends with one comparison table: the architecture shoot-out (--strategies all:
every strategy).

Stores: a strategy on Redis or PostgreSQL uses --redis / --postgres when given; otherwise
rehearse starts a throwaway redis-server or PostgreSQL cluster itself (a temporary directory, a
free loopback port), gives each strategy its own key prefix or database on it, and stops it at
the end. A missing server binary is an error naming the Debian package to install (redis-server,
postgresql), before anything starts.

--replicas N runs the target as N "flashload serve" processes on free loopback ports, sharing
the strategy's store, and spreads the requests over them (a local fleet). A fleet of more than
one needs a strategy on a store (not naive, memory or sharded); without --strategy it is
redis-lua, on a throwaway Redis. --replicas MIN..MAX starts MIN and lets the scenario's
model.autoscaler (the simulator's own HPA/KPA rule, bounds replaced by MIN and MAX) scale the
fleet every period from the replicas' utilisation (busy slot time / slots with --workers, else
requests in flight / workers_per_replica), in scenario time: a new replica takes load once the
model's startup delay has passed and it listens. The replicas over time land in the timeline,
beside the simulator's prediction for the same range.

--workers N --work DIST gives every replica a known capacity (serve --workers): each request
holds one of N slots for a time drawn from DIST, waiting first come, first served; --work model
takes the scenario model's service_time and workers_per_replica, so the simulator's prediction
and the measurement describe the same queue.

--find-capacity searches the highest constant rate at which every gate holds, as run
--find-capacity does: each step a rehearsal of its own at one rate (fresh stores and target, no
simulation), kept under steps/; the run directory holds the highest passing step with
capacity {max_rate, steps} in summary.json.

Exit codes: 0 when every gate of the scenario passed on the measured run, 3 when one failed (or,
with --strategies, on any strategy), 2 on bad input, 1 on a runtime error.`,
		Example: `  flashload rehearse
  flashload rehearse midnight-flash-sale --wall 20s
  flashload rehearse --strategies memory,naive --wall 20s
  flashload rehearse --strategy redis-lua --redis redis://127.0.0.1:6379/0
  flashload rehearse midnight-flash-sale --strategies all --wall 10s
  flashload rehearse --replicas 3 --strategy pg-row --wall 20s
  flashload rehearse ramp.yaml --replicas 2..6 --workers 4 --work exp:20ms
  flashload rehearse fidelity.yaml --workers 8 --work exp:10ms --find-capacity --start-rate 400`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = scenario.DefaultScenario
			if len(args) == 1 {
				o.Name = args[0]
			}
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.TTY = !o.NoTUI && dashboard.IsTerminal(os.Stdout)
			return rehearseRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Wall, "wall", 0, "play the whole scenario in this wall time (default: the file's compression, about a minute for double-eleven)")
	f.Float64Var(&o.RateScale, "rate-scale", 0, "share of the curve's amplitude to play live (default the file's rate_scale)")
	f.StringVar(&o.Strategy, "strategy", "", "inventory strategy of the target: "+strings.Join(inventory.Names, ", ")+" (default memory, or redis-lua with --redis)")
	f.StringSliceVar(&o.Strategies, "strategies", nil, "rehearse once per strategy and compare them (comma-separated, or all)")
	f.StringVar(&o.Target.Redis, "redis", "", "Redis of the redis-* strategies: redis://HOST:PORT/DB, redis+cluster://H:P,... or redis+sentinel://H:P,.../MASTER (default: a throwaway redis-server)")
	f.StringVar(&o.Target.Postgres, "postgres", "", "PostgreSQL of pg-row, pg-occ and tcc: postgres://USER@HOST:PORT/DB (default: a throwaway cluster)")
	f.StringVar(&o.RedisAppendfsync, "redis-appendfsync", "", "persistence of the throwaway redis-server: always or everysec (AOF with that fsync), no (default: none; a killed Redis loses everything)")
	f.IntVar(&o.Target.RedisWait, "redis-wait", 0, "redis-decr, redis-lua, redis-sharded: WAIT for N replicas after each purchase's writes (a scenario with redis: failover has one replica); 0: no WAIT")
	f.StringVar(&o.Replicas, "replicas", "", "run the target as N serve processes on the shared store, or MIN..MAX scaled by the scenario's model.autoscaler (default: one target in this process)")
	f.StringVar(&o.Front, "front", rehearse.FrontNone, "how the load reaches the replicas: none (the engine spreads every request) or l4 (one address that pins each new connection to a ready replica, round robin, as a Kubernetes Service does; needs --replicas)")
	registerRecycle(cmd, &o.ConnMaxAge, &o.ConnMaxRequests)
	f.IntVar(&o.Target.Workers, "workers", 0, "work slots per replica: each request holds one for a --work time, waiting FIFO (default with --work model: the model's workers_per_replica)")
	f.StringVar(&o.Work, "work", "", "time a request holds its slot: exp:5ms, const:5ms, lognormal:p50=4ms,p99=30ms, or model (the scenario's service_time)")
	f.StringVar(&o.Out, "out", "", "run directory (default runs/NAME-TIME)")
	f.BoolVar(&o.NoTUI, "no-tui", false, "plain progress lines on stderr instead of the dashboard")
	f.BoolVar(&o.NoSim, "no-sim", false, "skip the simulations (measure only)")
	f.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve the generator's Prometheus metrics on HOST:PORT (/metrics) while it runs")
	f.Int64Var(&o.Seed, "seed", 0, "random seed (default the scenario's)")
	f.IntVar(&o.Target.MaxInflight, "max-inflight", target.DefaultMaxInflight, "target: in-flight requests above which purchases are shed (503 SHED); 0 no limit")
	f.Float64Var(&o.Target.MaxRPS, "max-rps", target.DefaultMaxRPS, "target: requests per second above which answers are 429 RATE_LIMITED; 0 no limit")
	f.DurationVar(&o.Target.ReservationTTL, "reservation-ttl", target.DefaultReservationTTL, "target: how long an unpaid reservation holds its stock")
	o.Capacity.register(cmd, 10*time.Second, "rehearses (fresh stores and target each, no simulation)")
	o.Web.register(cmd)
	return cmd
}

// rehearseRun is `flashload rehearse` with its flags parsed: tests call it directly.
func rehearseRun(ctx context.Context, o *rehearseOptions) error {
	s, err := scenario.Load(o.Name)
	if err != nil {
		return usageErr(err)
	}
	ro := o.Options
	ro.Scenario = s
	if o.Replicas != "" {
		if ro.Replicas, ro.MaxReplicas, err = rehearse.ParseReplicas(o.Replicas); err != nil {
			return usageErr(err)
		}
	}
	switch {
	case o.Strategy != "" && len(o.Strategies) > 0:
		return usageErr(errors.New("give --strategy or --strategies, not both"))
	case o.Strategy != "":
		ro.Strategies = []string{o.Strategy}
	}
	ms, err := listenMetrics(o.MetricsAddr, o.Stderr)
	if err != nil {
		return err
	}
	if ms != nil {
		defer ms.Close()
		ro.Observe = ms.Observe
	}
	srv, err := o.Web.listen(o.Stderr)
	if err != nil {
		return err
	}
	defer closeWeb(srv)
	ro.Web = srv
	if o.Capacity.Find {
		return rehearseCapacity(ctx, o, ro)
	}
	res, err := rehearse.Run(ctx, ro)
	var ie *rehearse.InputError
	if errors.As(err, &ie) {
		return usageErr(err)
	}
	if err != nil {
		return err
	}
	if failed := res.Failed(); len(failed) > 0 {
		return gateErr(fmt.Errorf("gates failed on %s", strings.Join(failed, ", ")))
	}
	return nil
}

// rehearseCapacity is rehearse --find-capacity: the search of run --find-capacity, each step a
// rehearsal of the scenario at one constant rate (result.FindCapacity via capacityFlags.search),
// written under the run directory's steps/; the highest passing step is the run directory's run.
func rehearseCapacity(ctx context.Context, o *rehearseOptions, ro rehearse.Options) error {
	s := ro.Scenario
	if len(ro.Strategies) > 1 || slices.Contains(ro.Strategies, rehearse.AllStrategies) {
		return usageErr(errors.New("--find-capacity rehearses one strategy: give --strategy"))
	}
	dir := ro.Out
	if dir == "" {
		dir = result.DefaultRunDir(s.Name, time.Now())
	}
	tmp, err := os.MkdirTemp("", "flashload-capacity")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	step := 0
	capa, run, err := o.Capacity.search(ctx, dir, s, scenario.PlayOptions{Wall: ro.Wall, RateScale: ro.RateScale},
		func(ctx context.Context, sc *scenario.Scenario) (*result.Run, error) {
			so := ro
			so.Scenario, so.Wall, so.RateScale, so.NoSim, so.TTY = sc, 0, 0, true, false
			so.Stdout = io.Discard
			step++
			so.Out = filepath.Join(tmp, strconv.Itoa(step))
			res, err := rehearse.Run(ctx, so)
			var ie *rehearse.InputError
			if errors.As(err, &ie) {
				return nil, usageErr(err)
			}
			if err != nil {
				return nil, err
			}
			if len(res.Rehearsals) != 1 {
				return nil, fmt.Errorf("capacity step: %d rehearsals, want 1", len(res.Rehearsals))
			}
			return res.Rehearsals[0].Live, nil
		})
	err = finishCapacity(o.Stdout, dir, s, capa, run, err)
	finishWeb(ro.Web, dir, o.Stderr)
	return err
}
