// Package rehearse is flashload's main job: for each inventory strategy it starts the reference
// target in-process, plays a scenario against it with the live engine (the dashboard showing
// progress), audits the sale, simulates the same scenario at the played scale (calibrated by the
// measured service time) and at full scale, and writes each run directory and, for several
// strategies, the shoot-out. A *scenario.Scenario and Options enter; a Result (the runs and
// whether their gates passed) and the files and lines it wrote leave.
//
// It owns the processes a rehearsal needs: the stores its strategies keep their state in
// (Stores: the given ones, or a throwaway redis-server and PostgreSQL it starts), and the target,
// in this process (Target) or as a local fleet of `serve` processes (Fleet). Besides
// cmd/flashload, it is the only package that imports target, engine, sim and the presentation together.
package rehearse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/faults"
	"github.com/flashload/flashload/internal/dist"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/report/web"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
	"github.com/flashload/flashload/target"
	"github.com/flashload/flashload/target/inventory"
)

// ShootoutFile is the comparison a rehearsal of several strategies writes into its directory.
const ShootoutFile = "shootout.md"

// Options say what to rehearse and where to write it.
type Options struct {
	Scenario   *scenario.Scenario // an open-model scenario (scenario.Load)
	Strategies []string           // rehearsed one after another ("all": inventory.Names); empty: memory, or redis-lua with Redis or replicas
	Target     TargetOptions      // the target of every strategy (Strategy and the stores' scope are set per rehearsal); Redis and Postgres "" start throwaway stores
	// Replicas > 0 runs the target as that many `serve` processes (a Fleet) instead of in this
	// process; more than one needs a strategy that keeps its state in a store.
	Replicas int
	// MaxReplicas > Replicas autoscales the fleet between Replicas and MaxReplicas with the
	// scenario's model.autoscaler (--replicas MIN..MAX): see autoscaler.
	MaxReplicas int
	Binary      string // the flashload executable of the replicas ("": this process's own)
	// Front is how the engine reaches a fleet: FrontNone ("") or FrontL4 (front.go).
	Front string
	// ConnMaxAge and ConnMaxRequests recycle the engine's connections (engine.Options).
	ConnMaxAge      time.Duration
	ConnMaxRequests int
	// Work gives every replica a known capacity: Target.Workers slots, each request holding
	// one for a time drawn from Work (a DIST, see internal/dist), or WorkModel for the
	// scenario's model (workers_per_replica and service_time; Target.Workers overrides the
	// former). "": no slots.
	Work     string
	StoreDir string // where throwaway stores keep their directories ("": the system's temp dir)

	Wall      time.Duration // play the whole scenario in this wall time; 0: the file's compression
	RateScale float64       // share of the amplitude played live; 0: the file's rate_scale
	Seed      int64         // 0: the scenario's
	NoSim     bool          // measure only
	Out       string        // run directory; "": result.DefaultRunDir; one subdirectory per strategy when several

	// RedisAppendfsync makes a throwaway redis-server persist: "always" or "everysec" (AOF with
	// that fsync policy); "" or "no": no persistence (a killed Redis loses everything).
	RedisAppendfsync string

	Stdout, Stderr io.Writer // the results; progress and notes (nil: discarded)
	TTY            bool      // the dashboard on Stdout, else plain progress lines on Stderr

	// Observe, when set, is passed to every live run (engine.Options.Observe): the generator's
	// metrics (report/metrics.Observer).
	Observe func(context.Context, *result.Recorder, func() result.Snapshot)
	// Web, when set, shows every live run on the live page (--web), with its gates evaluated as
	// it goes, and each finished run's result and report.
	Web *web.Server
}

// Rehearsal is one strategy's outcome.
type Rehearsal struct {
	Strategy string
	Dir      string
	Live     *result.Run
	Played   *result.Run  // simulated at the played scale, calibrated by Live; nil when not simulated
	Full     *result.Run  // simulated at full scale; nil when not simulated
	Pass     bool         // every gate of the scenario passed on Live
	Scale    []ScalePoint // the live fleet's autoscaler decisions (--replicas MIN..MAX)
}

// Result is what Run rehearsed, in order.
type Result struct {
	Dir        string
	Rehearsals []Rehearsal
	Skipped    []Skipped // strategies of a shoot-out that lack what the scenario's faults need
}

// Skipped is a strategy a shoot-out did not run: a fault needs a store it does not use.
type Skipped struct {
	Strategy, Reason string // Reason: "no redis", "no postgres", "no store", "no consumers"
}

// Failed names the strategies whose gates failed.
func (r Result) Failed() []string {
	var out []string
	for _, h := range r.Rehearsals {
		if !h.Pass {
			out = append(out, h.Strategy)
		}
	}
	return out
}

// InputError is bad input: the options or the scenario cannot be rehearsed. Nothing was started.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, a ...any) error { return &InputError{Err: fmt.Errorf(format, a...)} }

// Run rehearses o.Scenario once per strategy. It returns an *InputError for bad options, and
// the rehearsals done so far with ctx's error when ctx ends. Failed gates are not an error:
// Result.Failed names them.
func Run(ctx context.Context, o Options) (Result, error) {
	s := o.Scenario
	if s == nil {
		return Result{}, inputErr("no scenario")
	}
	if o.Wall < 0 || o.RateScale < 0 {
		return Result{}, inputErr("--wall and --rate-scale must be positive")
	}
	if s.Traffic.Model == "closed" {
		return Result{}, inputErr("%s: rehearse plays open-model scenarios (traffic.model is closed); use flashload run", s.Name)
	}
	if o.Replicas < 0 {
		return Result{}, inputErr("--replicas must be at least 1, not %d", o.Replicas)
	}
	if o.MaxReplicas > o.Replicas {
		if o.Replicas < 1 {
			return Result{}, inputErr("--replicas MIN..MAX needs MIN ≥ 1")
		}
		if s.Model == nil || s.Model.Autoscaler == nil {
			return Result{}, inputErr("--replicas %d..%d: %s has no model.autoscaler to scale the fleet with", o.Replicas, o.MaxReplicas, s.Name)
		}
		if _, err := sim.NewAutoscaling(s.Model, o.Replicas, o.MaxReplicas); err != nil {
			return Result{}, inputErr("--replicas %d..%d: %v", o.Replicas, o.MaxReplicas, err)
		}
	}
	if err := o.checkFront(); err != nil {
		return Result{}, &InputError{Err: err}
	}
	strategies, err := o.strategies()
	if err != nil {
		return Result{}, &InputError{Err: err}
	}
	if err := o.work(); err != nil {
		return Result{}, &InputError{Err: err}
	}
	strategies, skipped, err := fitFaults(s, o, strategies)
	if err != nil {
		return Result{}, err
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	var need []inventory.Store
	for _, st := range strategies {
		need = append(need, inventory.StoresOf(st)...)
	}
	var redisArgs []string
	switch o.RedisAppendfsync {
	case "", "no":
	case "always", "everysec":
		redisArgs = []string{"--appendonly", "yes", "--appendfsync", o.RedisAppendfsync}
	default:
		return Result{}, inputErr("--redis-appendfsync: always, everysec or no, not %q", o.RedisAppendfsync)
	}
	sentinel := sentinelSetup(s) && slices.Contains(need, inventory.Redis)
	if w := o.Target.RedisWait; w != 0 && o.Target.Redis == "" && (w < 0 || w > 1 || !sentinel) {
		return Result{}, inputErr("--redis-wait %d: the rehearsal's own Redis has one replica when the scenario has a redis: failover fault, none otherwise", w)
	}
	stores, err := StartStores(ctx, StoreOptions{Need: need, Redis: o.Target.Redis, Postgres: o.Target.Postgres, Dir: o.StoreDir, Stderr: o.Stderr,
		RedisArgs: redisArgs, RedisSentinel: sentinel})
	if err != nil {
		return Result{}, fmt.Errorf("rehearse %s: %w", s.Name, err)
	}
	defer func() {
		if err := stores.Stop(); err != nil {
			fmt.Fprintf(o.Stderr, "rehearse: stopping the stores: %v\n", err)
		}
	}()
	var proxies *Proxies
	if hasFault(s, scenario.FaultNetwork) {
		proxies = NewProxies()
		defer proxies.Close()
	}
	res := Result{Dir: o.Out, Skipped: skipped}
	if res.Dir == "" {
		res.Dir = result.DefaultRunDir(s.Name, time.Now())
	}
	for _, st := range strategies {
		if ctx.Err() != nil {
			break
		}
		dir := res.Dir
		if len(strategies) > 1 {
			dir = filepath.Join(res.Dir, st)
		}
		r, err := rehearseOne(ctx, o, stores, proxies, st, dir)
		if err != nil {
			return res, fmt.Errorf("rehearse %s on %s: %w", s.Name, st, err)
		}
		res.Rehearsals = append(res.Rehearsals, r)
	}
	if len(res.Rehearsals) > 1 {
		if err := writeShootout(o.Stdout, s.Name, res); err != nil {
			return res, err
		}
	}
	if len(s.Faults) > 0 && len(res.Rehearsals)+len(res.Skipped) > 1 {
		if err := writeFaultMatrix(o.Stdout, s.Name, res); err != nil {
			return res, err
		}
	}
	if len(res.Rehearsals) > 1 || len(s.Faults) > 0 && len(res.Rehearsals)+len(res.Skipped) > 1 {
		if err := writeShootoutHTML(o.Stdout, s.Name, res, len(s.Faults) > 0); err != nil {
			return res, err
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("rehearsal interrupted: %w", ctx.Err())
	}
	if len(res.Failed()) == 0 {
		fmt.Fprintln(o.Stdout, "gates: all passed")
	}
	return res, nil
}

// AllStrategies is the --strategies value that rehearses every strategy (inventory.Names).
const AllStrategies = "all"

// strategies checks o.Strategies and fills the default: memory, or redis-lua when a Redis
// address is given or the target is a fleet (memory cannot be shared by replicas).
func (o *Options) strategies() ([]string, error) {
	list := o.Strategies
	if len(list) == 0 {
		st := target.DefaultStrategy
		if o.Target.Redis != "" || max(o.Replicas, o.MaxReplicas) > 1 {
			st = "redis-lua"
		}
		list = []string{st}
	}
	if slices.Contains(list, AllStrategies) {
		if len(list) > 1 {
			return nil, fmt.Errorf("%q rehearses every strategy: give it alone", AllStrategies)
		}
		list = inventory.Names
		if o.Replicas > 1 {
			list = slices.DeleteFunc(slices.Clone(list), func(st string) bool { return !inventory.Shared(st) })
		}
	}
	for i, st := range list {
		if !slices.Contains(inventory.Names, st) {
			return nil, fmt.Errorf("unknown strategy %q (known: %s, or %s)", st, strings.Join(inventory.Names, ", "), AllStrategies)
		}
		if slices.Contains(list[:i], st) {
			return nil, fmt.Errorf("strategy %q given twice", st)
		}
		if o.Replicas > 1 && !inventory.Shared(st) {
			return nil, fmt.Errorf("strategy %q keeps its state in the process and cannot run as %d replicas; "+
				"a fleet needs a strategy on a store (%s)", st, o.Replicas, strings.Join(sharedNames(), ", "))
		}
	}
	return list, nil
}

// WorkModel is the --work value that takes the work slots from the scenario's model.
const WorkModel = "model"

// work resolves o.Work into o.Target.Work (and Workers, from the model).
func (o *Options) work() error {
	w := o.Work
	switch {
	case w == "" && o.Target.Workers == 0:
		return nil
	case w == "":
		return fmt.Errorf("--workers %d needs --work DIST or --work %s", o.Target.Workers, WorkModel)
	case o.Target.Workers < 0:
		return fmt.Errorf("--workers must be at least 1, not %d", o.Target.Workers)
	case w == WorkModel:
		m := o.Scenario.Model
		if m == nil {
			return fmt.Errorf("--work %s: %s has no model", WorkModel, o.Scenario.Name)
		}
		st := m.ServiceTime
		spec, err := dist.New(st.Dist, st.Mean.D(), st.P50.D(), st.P99.D())
		if err != nil {
			return fmt.Errorf("--work %s: %s's model.service_time: %w", WorkModel, o.Scenario.Name, err)
		}
		o.Target.Work = spec
		if o.Target.Workers == 0 {
			o.Target.Workers = m.WorkersPerReplica
		}
		if o.Target.Workers <= 0 {
			return fmt.Errorf("--work %s: %s's model has no workers_per_replica; give --workers", WorkModel, o.Scenario.Name)
		}
	default:
		spec, err := dist.Parse(w)
		if err != nil {
			return fmt.Errorf("--work: %w", err)
		}
		o.Target.Work = spec
		if o.Target.Workers == 0 {
			return fmt.Errorf("--work %s needs --workers N", w)
		}
	}
	return nil
}

// sharedNames are the strategies a fleet can run.
func sharedNames() []string {
	return slices.DeleteFunc(slices.Clone(inventory.Names), func(st string) bool { return !inventory.Shared(st) })
}

// sentinelSettle bounds the wait for a Sentinel-managed Redis to be whole before a strategy.
const sentinelSettle = 90 * time.Second

// rehearseOne plays the scenario against a fresh target with one strategy, audits it,
// simulates it, writes dir and prints the outcome: the stores' scope, the service, the live
// run, then the simulations and the finished run.
func rehearseOne(ctx context.Context, o Options, stores *Stores, proxies *Proxies, strategy, dir string) (Rehearsal, error) {
	sc, err := scopeStores(ctx, o, stores, proxies, strategy)
	if err != nil {
		return Rehearsal{}, err
	}
	svc, err := startService(ctx, o, strategy, sc)
	if err != nil {
		return Rehearsal{}, err
	}
	live, scaler, err := playLive(ctx, o, stores, proxies, strategy, svc)
	if err != nil {
		return Rehearsal{}, err
	}
	return finishRehearsal(ctx, o, strategy, dir, svc, live, scaler)
}

// scopeStores gives the strategy its own keys and databases on the shared stores, waits for a
// Sentinel-managed Redis to be whole, and routes the target through the fault proxies.
func scopeStores(ctx context.Context, o Options, stores *Stores, proxies *Proxies, strategy string) (Scope, error) {
	sc, err := stores.Scope(ctx, strategy)
	if err != nil {
		return Scope{}, err
	}
	if stores.Sentinel != nil && sc.Redis != "" {
		// Every strategy meets the same setup: after the previous one's failover, Sentinel
		// turns the old primary into a replica some seconds later.
		fmt.Fprintf(o.Stderr, "rehearse: waiting for the Sentinel-managed Redis to have its replica in sync\n")
		if err := stores.Sentinel.Settle(ctx, sentinelSettle); err != nil {
			return Scope{}, err
		}
	}
	if proxies != nil {
		// Network faults: the target reaches its stores through the proxies.
		if sc.Redis != "" {
			if sc.Redis, err = proxies.Route(inventory.Redis, sc.Redis); err != nil {
				return Scope{}, err
			}
		}
		if sc.Postgres != "" {
			if sc.Postgres, err = proxies.Route(inventory.Postgres, sc.Postgres); err != nil {
				return Scope{}, err
			}
		}
	}
	return sc, nil
}

// liveService is the target a rehearsal plays against, as started.
type liveService struct {
	tgt      service
	fleet    *Fleet // nil for a target in this process
	what     string // how the report names it
	replicas int    // the fleet's size at the start (0: in-process)
	scaled   bool   // the fleet is autoscaled (--replicas MIN..MAX)
	conns    int    // the engine's connections to a layer-4 front (--front l4); 0: none
}

// startService starts the target: in this process, or as a fleet of serve processes when
// replicas are asked for or a fault kills the target.
func startService(ctx context.Context, o Options, strategy string, sc Scope) (*liveService, error) {
	s := o.Scenario
	to := o.Target
	to.Strategy, to.Redis, to.RedisPrefix, to.Postgres = strategy, sc.Redis, sc.RedisPrefix, sc.Postgres
	l := &liveService{what: "in-process reference target (" + strategy + ")", replicas: o.Replicas}
	if l.replicas == 0 && hasFault(s, scenario.FaultTarget, "kill", "restart") {
		// Killing a replica needs the target as a serve process; one, whose store keeps what
		// it acknowledged while it is down (--replicas gives more).
		l.replicas = 1
	}
	l.scaled = o.MaxReplicas > l.replicas && l.replicas > 0
	var err error
	if l.replicas > 0 {
		fo := FleetOptions{Replicas: l.replicas, Target: to, Binary: o.Binary}
		l.what = fmt.Sprintf("reference target as %d serve replicas (%s)", l.replicas, strategy)
		if l.scaled {
			fo.Standby = o.MaxReplicas - l.replicas
			l.what = fmt.Sprintf("reference target as %d..%d serve replicas, scaled by the model's %s (%s)", l.replicas, o.MaxReplicas, s.Model.Autoscaler.Type, strategy)
		}
		l.fleet, err = StartFleet(ctx, fo)
		l.tgt = l.fleet
	} else {
		l.tgt, err = StartTarget(ctx, to)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// playLive runs the engine against the service with the scenario's faults, the autoscaler of
// an autoscaled fleet and the dashboard, then stops the service.
func playLive(ctx context.Context, o Options, stores *Stores, proxies *Proxies, strategy string, l *liveService) (*result.Run, *autoscaler, error) {
	s := o.Scenario
	tgt := l.tgt
	faultLog := &faults.Log{}
	var inject func(context.Context, time.Time, *scenario.Play) []result.Fault
	if len(s.Faults) > 0 {
		in := &injector{strategy: strategy, stores: stores, fleet: l.fleet, proxies: proxies,
			admin: &faults.Admin{URLs: tgt.URLs(), Token: tgt.AdminToken()}}
		inject = faults.Run(s.Faults, in, faultLog)
	}
	urls := tgt.URLs()
	engineTarget := strings.Join(urls, ",")
	if err := l.sizeFront(o); err != nil {
		return nil, nil, errors.Join(err, tgt.Stop(context.Background()))
	}
	fmt.Fprintf(o.Stderr, "rehearse: %s on the %s at %s\n", s.Name, l.what, strings.Join(urls, ", "))

	observe := fixedReady(l.replicas, o.Observe)
	var active *engine.Active
	var scaler *autoscaler
	var predicted []result.ScalePoint
	if l.scaled {
		predicted = predictScale(ctx, o, l.conns)
		var err error
		if scaler, active, err = newAutoscaler(o, l.fleet); err != nil {
			return nil, nil, errors.Join(err, tgt.Stop(context.Background()))
		}
		observe = func(ctx context.Context, rec *result.Recorder, snap func() result.Snapshot) {
			start := time.Now()
			var wg sync.WaitGroup
			if o.Observe != nil {
				wg.Add(1)
				go func() { defer wg.Done(); o.Observe(ctx, rec, snap) }()
			}
			scaler.run(ctx, rec, start)
			wg.Wait()
		}
	}
	if o.Front == FrontL4 {
		front, err := startFront(l.fleet, l.replicas, scaler)
		if err != nil {
			return nil, nil, errors.Join(err, tgt.Stop(context.Background()))
		}
		defer front.Close()
		engineTarget, active = "http://"+front.Addr(), nil // the front moves instead of the set
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	gates := webGates(o, s.Gates)
	live, err := engine.Run(runCtx, s, engine.Options{
		Target: engineTarget, AdminURL: urls[0], AdminToken: tgt.AdminToken(), Setup: true,
		Play:     scenario.PlayOptions{Wall: o.Wall, RateScale: o.RateScale},
		Seed:     o.Seed,
		Observe:  observe,
		Active:   active,
		Faults:   inject,
		Sealed:   sealed(gates),
		MaxConns: l.conns, ConnMaxAge: o.ConnMaxAge, ConnMaxRequests: o.ConnMaxRequests,
		Progress: liveView(o, stop, gates, func(sn *result.Snapshot) {
			sn.Strategy = strategy
			sn.Faults = faultLog.Records()
			if scaler != nil {
				sn.Scale, sn.PredictedScale = scaler.points(), predicted
			}
		}),
	})
	stopCtx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	serr := tgt.Stop(stopCtx)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if serr != nil {
		fmt.Fprintf(o.Stderr, "rehearse: target shutdown: %v\n", serr)
	}
	return live, scaler, nil
}

// finishRehearsal simulates the scenario beside the live run, completes the live run's summary
// (the target, the fleet, the predictions, the gates), writes dir and prints the outcome.
func finishRehearsal(ctx context.Context, o Options, strategy, dir string, l *liveService, live *result.Run, scaler *autoscaler) (Rehearsal, error) {
	s := o.Scenario
	r := Rehearsal{Strategy: strategy, Dir: dir, Live: live}
	c := result.Completion{Strategy: strategy, Target: l.what, Gates: s.Gates}
	if l.replicas > 0 && !l.scaled {
		c.Replicas = &result.Replicas{Min: l.replicas, Max: l.replicas}
	}
	if scaler != nil {
		r.Scale = scaler.Trace()
		c.Scale = scaler.points()
	}
	if !o.NoSim && s.Model != nil && ctx.Err() == nil {
		if err := r.simulate(ctx, o, l.conns); err != nil {
			// The measurement stands on its own; a model that cannot be played is reported.
			fmt.Fprintf(o.Stderr, "rehearse: simulation skipped: %v\n", err)
			c.Warnings = append(c.Warnings, "simulation: "+err.Error())
		}
	}
	if r.Played != nil {
		c.Predicted, c.FullScale = r.Played.Summary, r.Full.Summary
	}
	pass, gerr := live.Complete(c)
	if gerr != nil {
		// The gates parsed when the scenario was loaded; an error here is one that does not.
		return Rehearsal{}, &InputError{Err: gerr}
	}
	r.Pass = pass
	if err := render.WriteAll(dir, live); err != nil {
		return Rehearsal{}, fmt.Errorf("write %s: %w", dir, err)
	}
	finishWeb(o, live.Summary, filepath.Join(dir, render.HTMLFile))
	view := render.Rehearsal{Name: s.Name, Live: live.Summary, Report: filepath.Join(dir, render.HTMLFile)}
	if r.Played != nil {
		view.Played, view.Full = r.Played.Summary, r.Full.Summary
	}
	if err := render.RehearsalText(o.Stdout, view); err != nil {
		return r, err
	}
	return r, render.Faults(o.Stdout, live.Summary.Faults)
}

// simulate plays the scenario in the simulator at the played scale (calibrated by the live
// run: sim.Calibrate) and at full scale, and writes both next to the live run.
func (r *Rehearsal) simulate(ctx context.Context, o Options, conns int) error {
	s := o.Scenario
	fmt.Fprintf(o.Stderr, "rehearse: simulating %s at the played scale (calibrated) and at full scale\n", s.Name)
	// The live run's overrides, and its start: an absolute sale time counts from it.
	opts := sim.Options{Played: true, Seed: o.Seed, Wall: o.Wall, RateScale: o.RateScale, StartedAt: r.Live.Summary.StartedAt}
	cs := s
	if cal, err := sim.Calibrate(r.Live); err == nil {
		c := *s
		c.Model = cal.Apply(s.Model)
		cs = &c
	}
	played, err := sim.Run(ctx, frontScenario(fleetScenario(cs, o), o, conns), opts)
	if err != nil {
		return fmt.Errorf("played scale: %w", err)
	}
	full, err := sim.Run(ctx, s, sim.Options{Seed: o.Seed, StartedAt: r.Live.Summary.StartedAt})
	if err != nil {
		return fmt.Errorf("full scale: %w", err)
	}
	// The expressions the live run is judged by: they parse.
	_, _ = played.Complete(result.Completion{Gates: s.Gates})
	_, _ = full.Complete(result.Completion{Gates: s.Gates})
	r.Played, r.Full = played, full
	if err := render.WriteAll(filepath.Join(r.Dir, "sim-played"), played); err != nil {
		return err
	}
	return render.WriteAll(filepath.Join(r.Dir, "sim-full"), full)
}

// writeShootout prints the comparison of the strategies and writes it as Markdown.
func writeShootout(w io.Writer, name string, res Result) error {
	rows := shootoutRows(res)
	fmt.Fprintf(w, "\narchitecture shoot-out: %s\n", name)
	if err := render.ShootoutText(w, rows); err != nil {
		return err
	}
	path := filepath.Join(res.Dir, ShootoutFile)
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render.ShootoutMarkdown(f, name, rows); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "comparison: %s\n", path)
	return err
}

// FaultMatrixFile is the fault matrix a rehearsal of several strategies with faults writes.
const FaultMatrixFile = "faults.md"

// writeFaultMatrix prints the fault matrix (every strategy, the skipped ones as n/a) and
// writes it as Markdown.
func writeFaultMatrix(w io.Writer, name string, res Result) error {
	rows, applied := faultRows(res)
	fmt.Fprintf(w, "\nfault matrix: %s\n", name)
	if err := render.FaultMatrixText(w, rows); err != nil {
		return err
	}
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(res.Dir, FaultMatrixFile)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render.FaultMatrixMarkdown(f, name, applied, rows); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "fault matrix: %s\n", path)
	return err
}

// shootoutRows are the strategies that ran, each linking its report relative to res.Dir.
func shootoutRows(res Result) []render.ShootoutRow {
	rows := make([]render.ShootoutRow, len(res.Rehearsals))
	for i, h := range res.Rehearsals {
		rel, err := filepath.Rel(res.Dir, filepath.Join(h.Dir, render.HTMLFile))
		if err != nil {
			rel = filepath.Join(h.Dir, render.HTMLFile)
		}
		rows[i] = render.ShootoutRow{Live: h.Live.Summary, Report: rel}
	}
	return rows
}

// faultRows are the fault matrix's rows (the skipped strategies as n/a) and the faults as the
// first strategy's run applied them.
func faultRows(res Result) ([]render.FaultRow, []result.Fault) {
	var rows []render.FaultRow
	var applied []result.Fault
	for _, h := range res.Rehearsals {
		rows = append(rows, render.FaultRow{Strategy: h.Strategy, Live: h.Live.Summary})
		if applied == nil {
			applied = h.Live.Summary.Faults
		}
	}
	for _, sk := range res.Skipped {
		rows = append(rows, render.FaultRow{Strategy: sk.Strategy, NA: sk.Reason})
	}
	return rows, applied
}

// writeShootoutHTML writes the shoot-out's HTML page: the comparison and, with faults, the
// fault matrix.
func writeShootoutHTML(w io.Writer, name string, res Result, faults bool) error {
	sh := render.Shootout{Name: name, Rows: shootoutRows(res)}
	if faults {
		sh.Matrix, sh.Faults = faultRows(res)
	}
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(res.Dir, render.ShootoutHTMLFile)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render.ShootoutHTML(f, sh); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "shoot-out report: %s\n", path)
	return err
}
