// Package engine is the live executor: it plays a scenario's arrival schedule against a real HTTP
// target (over its own keep-alive transport, or fasthttp: transport.go) and feeds a result.Recorder.
//
// Data enters as a *scenario.Scenario and Options (target URL, admin access, the play options);
// it leaves as a *result.Run whose Summary carries the counters, the latency histograms, the
// timeline, the named rates (pay_success, purchase_success, ...) and the audit.
//
// Open model (the default): one pacer goroutine walks Play.Arrivals and, at each arrival's
// intended time, hands it to a free worker of a bounded pool (idlePool: a one-slot channel per
// worker). When no worker is free the arrival is dropped and counted (Shard.Drop), never
// delayed. A worker plays one session (a journey) at a time. With fewer connections than
// workers a request waits for one of MaxConns connections: latency is measured from the
// intended time (it includes that wait), service time from the moment the request got its
// connection. Closed model: VUs workers loop sessions back to back.
//
// Results go to Recorder shards (result.Shard: a few workers share one, its mutex almost never
// contended), so HDR histograms stay per shard and merge exactly.
// The run stops only through its context or at the end of the schedule; in-flight sessions then
// drain for a bounded time and the summary is marked partial when the schedule was cut short.
package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/flashload/flashload/internal/feed"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

// Options say where and how to play a scenario. Zero values mean the documented defaults.
type Options struct {
	Target     string // base URL of the target (http://127.0.0.1:8080), or of its replicas: "URL,URL,..."
	AdminURL   string // the target's admin base URL; default Target's first URL
	AdminToken string // bearer token of /admin routes; enables gauges, setup and the audit
	OrdersFile string // an orders export (NDJSON or CSV) to audit another service against
	// Store is another service's own book of record (the scenario's audit: block, package
	// audit/store): after the load and the block's settle wait, the audit reads its orders and
	// units left from it, before the admin API or OrdersFile.
	Store audit.Store
	// AttemptsFile, when set, is where the run keeps its purchase attempts for a later audit
	// (audit.AttemptsFile in the run directory: `flashload audit DIR`).
	AttemptsFile string

	Play scenario.PlayOptions // wall length, rate scale, segment

	// Recorder to fill; nil makes one. Progress, when set, runs in its own goroutine from the
	// start of load until the run ends (its context is then cancelled), with a snapshot source:
	// the CLI shows the dashboard there.
	Recorder *result.Recorder
	Progress func(ctx context.Context, snapshot func() result.Snapshot)
	// Observe, when set, runs like Progress with the Recorder itself (a metrics exporter reads it).
	Observe func(ctx context.Context, rec *result.Recorder, snapshot func() result.Snapshot)
	// Faults, when set, runs in its own goroutine from the start of load (start is the run
	// clock's zero, play maps scenario time to it) until the load ends and its context is
	// cancelled; it must then undo what is still in effect and return what it applied, which
	// lands in summary faults[] before the audit reads the target.
	Faults func(ctx context.Context, start time.Time, play *scenario.Play) []result.Fault

	Seed  int64  // 0: the scenario's seed
	RunID string // prefix of idempotency keys; default derived from the start time

	Workers int // open model: session pool; 0: sized from the peak rate
	// MaxWorkers bounds the open model's pool, which grows on demand (k6's maxVUs): sessions
	// that last longer than planned (retries in backoff, a slow target) get more workers instead
	// of arrivals being dropped. 0: DefaultMaxWorkers(Workers).
	MaxWorkers      int
	MaxConns        int           // connections to the target; 0: sized from the peak (closed: VUs)
	Timeout         time.Duration // read/write timeout per request; 0: DefaultTimeout
	ConnWaitTimeout time.Duration // max wait for a free connection; 0: DefaultConnWaitTimeout
	Drain           time.Duration // max wait for in-flight sessions after a stop; 0: DefaultDrain

	Setup       bool // create the scenario's SKUs on the target (POST /admin/skus) before load
	NoPreflight bool // skip measuring this machine's generation ceiling
	NoAudit     bool // skip the audit even when the target is auditable

	// Ready, when set, is called after setup, just before load; it returns the instant the load
	// starts (generators of one coordinated run start together) and the run waits for it. An
	// error ends the run before any load.
	Ready func(ctx context.Context) (time.Time, error)
	// Sealed, when set, receives what the Recorder closed: once per window while the run goes
	// on (from one goroutine), and once more, Final, after the last answer. To stop the run
	// (an abort), cancel Run's context.
	Sealed func(result.Sealed)

	// With several target URLs (replicas of one service, see SplitTargets) every connection goes
	// to one replica, round robin: a worker that owns its connection (MaxConns ≥ Workers) keeps
	// its replica (worker i: replica i mod N); over shared connections (the pool, fasthttp's
	// slots: MaxConns per run, spread round robin over the replicas) each request of a worker
	// takes the next replica. Setup, gauges and the audit use AdminURL only.
	//
	// FastHTTPOnly sends every request through fasthttp. Otherwise plain-HTTP (http://) targets
	// use the raw transport (rawconn.go, transport.go), which spends less CPU per request than
	// fasthttp's HostClient (docs/benchmarks.md): one keep-alive connection per worker when
	// MaxConns ≥ Workers, else a pool of MaxConns connections a request borrows for its exchange.
	FastHTTPOnly bool
	// Active, when set, is the changing set of Target's replicas that receive requests (a
	// fleet that scales during the run); it spans every URL of Target. nil: all of them.
	Active *Active

	// ConnMaxAge and ConnMaxRequests recycle the connections to the target (recycle.go): a
	// connection is closed between requests once it is ConnMaxAge old or has carried
	// ConnMaxRequests requests, and the next request opens a new one, which a layer-4
	// balancer may send to another replica. 0: never (what wrk and k6 do); negative: an error.
	ConnMaxAge      time.Duration
	ConnMaxRequests int
	// ReplicaHeader names the answer header that says which replica answered (summary
	// requests.by_replica); "": DefaultReplicaHeader, the reference target's. A header named
	// here that no answer carries gets a warning.
	ReplicaHeader string
}

// run is the state shared by all workers of one run.
type run struct {
	s       *scenario.Scenario
	play    *scenario.Play
	opts    Options
	seed    int64
	runID   string
	targets []targetURL      // the target, or its replicas
	active  *Active          // Options.Active: the replicas that take requests now; nil: all
	tr      transport        // requests to the target
	other   *fasthttp.Client // request steps to other hosts
	timeout time.Duration
	start   time.Time
	rec     *result.Recorder
	shards  int                  // shards used by workers; shard `shards` is the pacer's
	prog    *scenario.Program    // the journeys, compiled once
	users   *scenario.UserValues // the users' scope: user captures; nil without any
	warn    *warner
	ceiling float64 // pre-flight estimate of this machine's generation ceiling, 0 when not measured

	groupsMu sync.Mutex
	groups   map[string][]byte // sku → the group id sessions currently join

	inflight atomic.Int64
	soldOut  []atomic.Bool // per SKU: its first SOLD_OUT answer was marked (sale.go)
	replica  string        // the answer header naming the replica (Options.ReplicaHeader, or the default)
	replicaL []byte        // the same in lower case
	replicas replicaNames  // the replica names answers gave, interned
	closeN   *closeEvery   // ConnMaxRequests over fasthttp's clients; nil: off
	cpu      cpuMeter      // the pacer's reading of this process's CPU use

	workersMu sync.Mutex
	workers   map[*worker]struct{} // alive workers (their attempt logs)
	retired   [][]Attempt          // attempt chunks of retired workers
	spill     *attemptSpill        // full attempt chunks; nil when no temporary file could be made

	push pushState // subscribe steps, wait_until_open on a push feed, the crowd (subscribe.go)
	herd *herd     // the countdown crowd (crowd.go); nil without one
}

func (r *run) now() time.Duration { return time.Since(r.start) }

// Run plays s against opts.Target until the schedule ends or ctx is done, then drains, audits
// when it can, and returns the finished run. Errors are returned only for what prevents a run
// (an invalid target, an invalid scenario); an unreachable or dying target gives a result.
func Run(ctx context.Context, s *scenario.Scenario, opts Options) (*result.Run, error) {
	r, err := prepare(s, opts)
	if err != nil {
		return nil, err
	}
	closed := s.Traffic.Model == "closed"
	if r.rec == nil {
		r.rec = NewRecorder(s, r.play, opts, r.seed)
	}
	r.shards = max(1, r.rec.Shards()-1)
	r.rec.SetInFlight(r.inflight.Load)
	r.rec.SetPush(r.pushSummary)
	r.soldOut = make([]atomic.Bool, len(s.SKUs))
	r.warn = &warner{rec: r.rec, last: map[string]time.Time{}}
	if !opts.NoPreflight {
		r.preflight(closed)
	}
	// Setup comes last before the load, so the sale windows' offsets count from the run's start.
	if opts.Setup {
		if err := SetupSKUs(ctx, r.adminURL(), opts.AdminToken, PlayedSKUs(r.play)); err != nil {
			return nil, err
		}
	}

	if !opts.NoAudit {
		if r.spill = newAttemptSpill(); r.spill != nil {
			defer r.spill.close()
		}
	}
	r.start = time.Now()
	if opts.Ready != nil {
		at, err := opts.Ready(ctx)
		if err != nil {
			return nil, err
		}
		if err := sleepUntil(ctx, at); err != nil {
			return nil, err
		}
		// The schedule counts from the shared instant even when woken a little late; a start
		// long past (a late joiner) counts from now instead of rushing the backlog.
		if r.start = time.Now(); r.start.Sub(at) < time.Second {
			r.start = at
		}
		r.rec.SetStartedAt(r.start)
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var faults []result.Fault
	side := r.startSide(runCtx, &faults)
	var complete bool
	if closed {
		complete = r.runClosed(ctx)
	} else {
		complete = r.runOpen(ctx, r.rec.Shard(r.rec.Shards()-1))
	}
	end := r.now()
	r.tr.close()
	if complete {
		// The schedule's length, not the drain's end: answers that arrive while in-flight
		// sessions finish still count, and rates are per second of the schedule played. The
		// last arrival's session may also end before the schedule does (it comes a gap before).
		end = r.play.WallDuration()
	}
	cancelRun()
	side.Wait()

	res := r.finish(ctx, end, complete, faults)
	return res, nil
}

// startSide starts what runs beside the load: the progress and observe hooks, sealed windows,
// the target's gauges and the faults (their records go to *faults when they end).
func (r *run) startSide(runCtx context.Context, faults *[]result.Fault) *sync.WaitGroup {
	opts := r.opts
	var side sync.WaitGroup
	if opts.Progress != nil {
		side.Add(1)
		go func() {
			defer side.Done()
			opts.Progress(runCtx, func() result.Snapshot { return r.rec.Snapshot(r.now()) })
		}()
	}
	if opts.Observe != nil {
		side.Add(1)
		go func() {
			defer side.Done()
			opts.Observe(runCtx, r.rec, func() result.Snapshot { return r.rec.Snapshot(r.now()) })
		}()
	}
	if opts.Sealed != nil {
		side.Add(1)
		go func() { defer side.Done(); r.sealWindows(runCtx) }()
	}
	if r.auditable() {
		side.Add(1)
		go func() { defer side.Done(); r.pollGauges(runCtx) }()
	}
	if r.herd != nil {
		side.Add(1)
		go func() { defer side.Done(); r.runCrowd(runCtx) }()
	}
	if opts.Faults != nil {
		side.Add(1)
		go func() { defer side.Done(); *faults = opts.Faults(runCtx, r.start, r.play) }()
	}

	return &side
}

// finish closes the Recorder at end and completes the live summary: mode, seed, target,
// segment, faults, the audit and the named rates.
func (r *run) finish(ctx context.Context, end time.Duration, complete bool, faults []result.Fault) *result.Run {
	opts, s := r.opts, r.s
	r.warnReplicas() // before Finish, which copies the warnings
	res := r.rec.Finish(end)
	if opts.Sealed != nil {
		opts.Sealed(r.rec.Seal(end))
	}
	sum := res.Summary
	sum.Mode = "live"
	sum.Seed = r.seed
	sum.Target = opts.Target
	if seg := r.play.Segment(); !seg.Whole() {
		sum.Segment = seg.String()
	}
	if !complete {
		sum.Partial = true
	}
	if len(faults) > 0 {
		sum.Faults = faults
		result.MarkFaults(sum)
	}
	switch {
	case opts.NoAudit:
		sum.Audit = notChecked("disabled (--no-audit)")
	default:
		// The audit reads the target after load: give it its own bounded context, since ctx may
		// be cancelled already (SIGINT) and the audit of a partial run is still worth having.
		bound := 30 * time.Second
		if a := s.Audit; a != nil && opts.Store != nil {
			bound += a.Settle.D()
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bound)
		a, err := r.audit(actx)
		cancel()
		switch {
		case err != nil:
			sum.Warnings = append(sum.Warnings, "audit: "+err.Error())
			sum.Audit = notChecked(err.Error())
		case a != nil:
			sum.Audit = a.Audit
			result.ApplySKUAudit(sum, a.SKUs)
		default:
			sum.Audit = notChecked("the target is not auditable (no admin token, no audit: block, no --orders export)")
		}
	}
	r.fillRates(sum)
	sum.Push, sum.Herd = r.pushSummary(), r.herd.summary()
	return res
}

// sealWindows hands Options.Sealed what the Recorder closed, just after each window's end.
func (r *run) sealWindows(ctx context.Context) {
	win := r.rec.Window()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := r.now()
		next := (now/win+1)*win + 20*time.Millisecond // answers of the window are in by then
		t.Reset(next - now)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.opts.Sealed(r.rec.Seal(r.now()))
		}
	}
}

// sleepUntil waits until t or ctx's end.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// prepare validates and resolves everything before any load.
func prepare(s *scenario.Scenario, opts Options) (*run, error) {
	if s == nil {
		return nil, errors.New("engine: nil scenario")
	}
	urls, targets, err := splitTargets(opts.Target)
	if err != nil {
		return nil, err
	}
	play, err := s.Play(opts.Play)
	if err != nil {
		return nil, err
	}
	if opts.AdminURL == "" {
		opts.AdminURL = urls[0]
	}
	seed := opts.Seed
	if seed == 0 {
		seed = s.Seed
	}
	if seed == 0 {
		seed = 1
	}
	runID := opts.RunID
	if runID == "" {
		runID = "r" + strconv.FormatInt(time.Now().UnixNano()/1e6%1e10, 36)
	}
	closed := s.Traffic.Model == "closed"
	peak := play.PeakRate()
	if opts.Workers <= 0 {
		opts.Workers = defaultWorkers(s, play)
	}
	switch {
	case closed:
		opts.MaxWorkers = opts.Workers
	case opts.MaxWorkers <= 0:
		opts.MaxWorkers = DefaultMaxWorkers(opts.Workers)
	case opts.MaxWorkers < opts.Workers:
		opts.Workers = opts.MaxWorkers
	}
	if opts.MaxConns <= 0 {
		if closed {
			opts.MaxConns = opts.Workers
		} else {
			opts.MaxConns = scenario.DefaultConns(peak)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ConnWaitTimeout <= 0 {
		opts.ConnWaitTimeout = DefaultConnWaitTimeout
	}
	if opts.Drain <= 0 {
		opts.Drain = DefaultDrain
	}
	if opts.MaxConns < len(targets) {
		return nil, fmt.Errorf("%d connections cannot reach %d targets: every target needs one", opts.MaxConns, len(targets))
	}
	if a := opts.Active; a != nil && a.Len() != len(targets) {
		return nil, fmt.Errorf("the active set spans %d replicas, the target lists %d", a.Len(), len(targets))
	}
	if err := checkRecycle(opts.ConnMaxAge, opts.ConnMaxRequests); err != nil {
		return nil, err
	}
	replica := opts.ReplicaHeader
	if replica == "" {
		replica = DefaultReplicaHeader
	}
	if err := checkHeaderName(replica); err != nil {
		return nil, fmt.Errorf("--replica-header %q: %w", replica, err)
	}
	sz := clientSizing{MaxConns: opts.MaxConns, Timeout: opts.Timeout, ConnWaitTimeout: opts.ConnWaitTimeout,
		Recycle: recycle{maxAge: opts.ConnMaxAge, maxRequests: opts.ConnMaxRequests}}
	cfg := &rawConfig{timeout: opts.Timeout, recycle: sz.Recycle, replicaLower: []byte(strings.ToLower(replica))}
	r := &run{
		s: s, play: play, opts: opts, seed: seed, runID: runID, targets: targets, active: opts.Active,
		tr:       newTransport(targets, grown(opts), sz, cfg),
		other:    newOtherClient(sz),
		replica:  replica,
		replicaL: cfg.replicaLower,
		timeout:  opts.Timeout,
		rec:      opts.Recorder,
		groups:   map[string][]byte{},
		workers:  map[*worker]struct{}{},
	}
	if opts.ConnMaxRequests > 0 {
		r.closeN = &closeEvery{n: int64(opts.ConnMaxRequests)}
	}
	if r.prog, err = scenario.Compile(s, seed); err != nil {
		return nil, err
	}
	r.users = r.prog.NewUserValues()
	r.push.meter = feed.NewMeter()
	if r.herd, err = newHerd(play, r.prog, opts.MaxConns); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *run) adminURL() string { return r.opts.AdminURL }

func (r *run) auditable() bool { return r.opts.AdminToken != "" }

// warner rate-limits Recorder warnings per kind.
type warner struct {
	mu   sync.Mutex
	rec  *result.Recorder
	last map[string]time.Time
}

func (w *warner) say(kind, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.last[kind]; ok && time.Since(t) < 10*time.Second {
		return
	}
	w.last[kind] = time.Now()
	w.rec.Warn(msg)
}

// fillRates derives the named success rates the summary and gates read, beyond those the
// workers recorded (pay_success is recorded per pay attempt).
func (r *run) fillRates(sum *result.Summary) {
	if sum.Rates == nil {
		sum.Rates = map[string]result.Ratio{}
	}
	if a := sum.Audit; a.Checked && a.Stock > 0 {
		sum.Rates["sell_through"] = ratio(min(a.Sold, a.Stock), a.Stock)
	}
}

func ratio(num, den int64) result.Ratio {
	v := 0.0
	if den > 0 {
		v = float64(num) / float64(den)
	}
	return result.Ratio{Num: num, Den: den, Value: v}
}
