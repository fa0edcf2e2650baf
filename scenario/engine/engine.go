// Package engine is the live executor: it plays a scenario's arrival schedule against a real HTTP
// target through fasthttp and feeds a report.Recorder.
//
// Data enters as a *scenario.Scenario and Options (target URL, admin access, the play options);
// it leaves as a *report.Run whose Summary carries the counters, the latency histograms, the
// timeline, the named rates (pay_success, purchase_success, ...) and the audit.
//
// Open model (the default): one pacer goroutine walks Play.Arrivals and, at each arrival's
// intended time, hands it to a free worker of a bounded pool over an unbuffered channel. When no
// worker is waiting the arrival is dropped and counted (Shard.Drop), never delayed. A worker
// plays one session (a journey) at a time. Each request waits for one of MaxConns connection
// slots: latency is measured from the intended time (it includes that wait), service time from
// the moment the request got its connection. Closed model: VUs workers loop sessions back to back.
//
// Results go to Recorder shards through lanes (a shard plus a mutex that is almost never
// contended: a few workers share one lane), so HDR histograms stay per lane and merge exactly.
// The run stops only through its context or at the end of the schedule; in-flight sessions then
// drain for a bounded time and the summary is marked partial when the schedule was cut short.
package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/report"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

// Options say where and how to play a scenario. Zero values mean the documented defaults.
type Options struct {
	Target     string // base URL of the target (http://127.0.0.1:8080)
	AdminURL   string // the target's admin base URL; default Target when AdminToken is set
	AdminToken string // bearer token of /admin routes; enables gauges, setup and the audit
	OrdersFile string // an orders export (NDJSON or CSV) to audit another service against

	Play scenario.PlayOptions // wall length, rate scale, segment

	// Recorder to fill; nil makes one. Progress, when set, runs in its own goroutine from the
	// start of load until the run ends (its context is then cancelled), with a snapshot source:
	// the CLI shows the dashboard there.
	Recorder *report.Recorder
	Progress func(ctx context.Context, snapshot func() report.Snapshot)

	Seed  int64  // 0: the scenario's seed
	RunID string // prefix of idempotency keys; default derived from the start time

	Workers         int           // open model: session pool; 0: sized from the peak rate
	MaxConns        int           // connections to the target; 0: sized from the peak (closed: VUs)
	Timeout         time.Duration // read/write timeout per request; 0: DefaultTimeout
	ConnWaitTimeout time.Duration // max wait for a free connection; 0: DefaultConnWaitTimeout
	Drain           time.Duration // max wait for in-flight sessions after a stop; 0: DefaultDrain

	Setup       bool // create the scenario's SKUs on the target (POST /admin/skus) before load
	NoPreflight bool // skip measuring this machine's generation ceiling
	NoAudit     bool // skip the audit even when the target is auditable

	// FastHTTPOnly sends every request through fasthttp. Otherwise plain-HTTP (http://) targets
	// use the raw transport (rawconn.go), about a quarter less CPU per request than fasthttp's
	// HostClient: one keep-alive connection per worker when MaxConns ≥ Workers, else a pool
	// of MaxConns connections a request borrows for its exchange.
	FastHTTPOnly bool
}

// run is the state shared by all workers of one run.
type run struct {
	s       *scenario.Scenario
	play    *scenario.Play
	opts    Options
	seed    int64
	runID   string
	target  targetURL
	hc      *fasthttp.HostClient
	other   *fasthttp.Client
	slots   chan struct{} // connection slots (fasthttp): a request holds one while it is on the wire; nil when MaxConns ≥ Workers or pool is set
	raw     bool          // requests to the target go over the raw transport (http://, not FastHTTPOnly)
	pool    chan *rawConn // raw with MaxConns < Workers: the MaxConns connections requests borrow, dialled lazily; nil otherwise
	connW   time.Duration
	timeout time.Duration
	start   time.Time
	rec     *report.Recorder
	shards  int              // shards used by workers; shard `shards` is the pacer's
	steps   [][]compiledStep // per journey
	picker  *scenario.Picker
	userIDs *scenario.UserIDs
	users   int64
	warn    *warner
	ceiling float64 // pre-flight estimate of this machine's generation ceiling, 0 when not measured

	groupsMu sync.Mutex
	groups   map[string][]byte // sku → the group id sessions currently join

	inflight atomic.Int64

	workersMu sync.Mutex
	workers   map[*worker]struct{} // alive workers (their attempt logs)
	retired   [][]Attempt          // attempt chunks of retired workers
	spill     *attemptSpill        // full attempt chunks; nil when no temporary file could be made
}

func (r *run) now() time.Duration { return time.Since(r.start) }

// Run plays s against opts.Target until the schedule ends or ctx is done, then drains, audits
// when it can, and returns the finished run. Errors are returned only for what prevents a run
// (an invalid target, an invalid scenario); an unreachable or dying target gives a report.
func Run(ctx context.Context, s *scenario.Scenario, opts Options) (*report.Run, error) {
	r, err := prepare(s, opts)
	if err != nil {
		return nil, err
	}
	closed := s.Traffic.Model == "closed"
	if r.rec == nil {
		r.rec = NewRecorder(s, r.play, opts, r.seed)
	}
	r.shards = max(1, r.rec.Shards()-1)
	r.warn = &warner{rec: r.rec, last: map[string]time.Time{}}
	if !opts.NoPreflight {
		r.preflight(closed)
	}
	// Setup comes last before the load, so the sale windows' offsets count from the run's start.
	if opts.Setup {
		if err := SetupSKUs(ctx, r.adminURL(), opts.AdminToken, PlayedSKUs(s.SKUs, r.play)); err != nil {
			return nil, err
		}
	}

	if !opts.NoAudit {
		if r.spill = newAttemptSpill(); r.spill != nil {
			defer r.spill.close()
		}
	}
	r.start = time.Now()
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var side sync.WaitGroup
	if opts.Progress != nil {
		side.Add(1)
		go func() {
			defer side.Done()
			opts.Progress(runCtx, func() report.Snapshot { return r.rec.Snapshot(r.now()) })
		}()
	}
	if r.auditable() {
		side.Add(1)
		go func() { defer side.Done(); r.pollGauges(runCtx) }()
	}

	var complete bool
	if closed {
		complete = r.runClosed(ctx)
	} else {
		complete = r.runOpen(ctx, r.rec.Shard(r.rec.Shards()-1))
	}
	end := r.now()
	r.closePool()
	if wall := r.play.WallDuration(); complete && end > wall {
		// The schedule's length, not the drain's end: answers that arrive while in-flight
		// sessions finish still count, and rates are per second of the schedule played.
		end = wall
	}
	cancelRun()
	side.Wait()

	res := r.rec.Finish(end)
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
	if !opts.NoAudit {
		// The audit reads the target after load: give it its own bounded context, since ctx may
		// be cancelled already (SIGINT) and the audit of a partial run is still worth having.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		a, err := r.audit(actx)
		cancel()
		switch {
		case err != nil:
			sum.Warnings = append(sum.Warnings, "audit: "+err.Error())
		case a != nil:
			sum.Audit = *a
		}
	}
	r.fillRates(sum)
	return res, nil
}

// prepare validates and resolves everything before any load.
func prepare(s *scenario.Scenario, opts Options) (*run, error) {
	if s == nil {
		return nil, errors.New("engine: nil scenario")
	}
	t, err := parseTarget(opts.Target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", opts.Target, err)
	}
	play, err := s.Play(opts.Play)
	if err != nil {
		return nil, err
	}
	if opts.AdminURL == "" && opts.AdminToken != "" {
		opts.AdminURL = opts.Target
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
	if opts.MaxConns <= 0 {
		if closed {
			opts.MaxConns = opts.Workers
		} else {
			// Little's law with room: a loopback service answers in about a millisecond; 10 ms
			// of arrivals in flight leaves headroom before requests wait for a connection (the
			// wait counts in latency, not in service time). More connections than that cost the
			// target and the generator CPU for nothing (measured with scripts/bench-engine).
			opts.MaxConns = int(min(max(math.Ceil(peak*0.01), 16), DefaultMaxConns))
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
	sz := clientSizing{MaxConns: opts.MaxConns, Timeout: opts.Timeout, ConnWaitTimeout: opts.ConnWaitTimeout}
	r := &run{
		s: s, play: play, opts: opts, seed: seed, runID: runID, target: t,
		hc:      newHostClient(t, sz),
		other:   newOtherClient(sz),
		slots:   make(chan struct{}, opts.MaxConns),
		connW:   opts.ConnWaitTimeout,
		timeout: opts.Timeout,
		rec:     opts.Recorder,
		users:   s.Users.Count,
		groups:  map[string][]byte{},
		workers: map[*worker]struct{}{},
	}
	if r.users <= 0 {
		r.users = 1_000_000
	}
	r.raw = !t.TLS && !opts.FastHTTPOnly
	switch {
	case opts.MaxConns >= opts.Workers:
		r.slots = nil // every worker can hold a connection: no slot accounting on the hot path
	case r.raw:
		// Fewer connections than workers: a request borrows one of MaxConns raw connections for
		// its exchange (the pool is the slot accounting).
		r.slots = nil
		r.pool = make(chan *rawConn, opts.MaxConns)
		for i := 0; i < opts.MaxConns; i++ {
			r.pool <- newRawConn(t.Host, opts.Timeout)
		}
	default:
		for i := 0; i < opts.MaxConns; i++ {
			r.slots <- struct{}{}
		}
	}
	if err := r.compile(); err != nil {
		return nil, err
	}
	return r, nil
}

// closePool closes the idle connections of the raw pool (a connection still borrowed by a
// worker cut by the drain is closed by its finalizer).
func (r *run) closePool() {
	for r.pool != nil {
		select {
		case c := <-r.pool:
			c.close()
		default:
			return
		}
	}
}

// ShardCount is how many Recorder shards a run with this many workers records into: a few
// workers share a shard (its mutex is then rarely contended) so the number of HDR histograms
// stays small, plus one shard for the pacer's drops.
func ShardCount(workers int) int {
	return max(1, min(workers, 4*runtime.GOMAXPROCS(0))) + 1
}

// NewRecorder makes the Recorder a run of s fills, for callers that want to watch it (pass it
// in Options.Recorder). opts must be the options given to Run.
func NewRecorder(s *scenario.Scenario, play *scenario.Play, opts Options, seed int64) *report.Recorder {
	workers := opts.Workers
	if workers <= 0 {
		workers = defaultWorkers(s, play)
	}
	seg := ""
	share := 1.0 // a segment's target is its share of the schedule, so merged targets add up
	if g := play.Segment(); !g.Whole() {
		seg = g.String()
		share = 1 / float64(g.N)
	}
	return report.NewRecorder(report.RecorderOptions{
		Name:             s.Name,
		Mode:             "live",
		Seed:             seed,
		StartedAt:        time.Now(),
		Target:           opts.Target,
		Segment:          seg,
		Duration:         play.WallDuration(),
		Workers:          ShardCount(workers),
		TargetRate:       func(w time.Duration) float64 { return play.WallRate(w) * share },
		TargetCount:      func(w time.Duration) float64 { return play.Expected(w) * share },
		ScenarioAt:       play.ScenarioAt,
		ScenarioDuration: play.ScenarioDuration(),
		CompressAt:       play.CompressAt,
		NextStage: func(wall time.Duration) string {
			_, _, next := play.StageAt(wall)
			return next
		},
	})
}

// defaultWorkers sizes the session pool: closed model, the VUs; open model, enough sessions for
// a second of arrivals at the peak plus the journeys' think time, within [64, 20000].
func defaultWorkers(s *scenario.Scenario, play *scenario.Play) int {
	if s.Traffic.Model == "closed" {
		return max(s.Traffic.VUs, 1)
	}
	budget := 1.0 + thinkUpper(s)/math.Max(minCompress(play), 1e-9)
	return int(min(max(math.Ceil(play.PeakRate()*budget), 64), 20000))
}

func (r *run) adminURL() string {
	if r.opts.AdminURL != "" {
		return r.opts.AdminURL
	}
	return r.opts.Target
}

func (r *run) auditable() bool { return r.opts.AdminToken != "" }

// runOpen paces arrivals. It returns whether the whole schedule was played.
func (r *run) runOpen(ctx context.Context, pacer *report.Shard) bool {
	sessCtx, cancelSess := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSess()
	var wg sync.WaitGroup
	var pool *idlePool
	pool = newIdlePool(r.opts.Workers, func(id int, ch <-chan scenario.Arrival) {
		wg.Add(1)
		w := r.newWorker(id)
		go func() {
			defer wg.Done()
			for a := range ch {
				w.session(sessCtx, a, a.Wall)
				pool.put(id)
			}
			w.retire()
		}()
	})
	complete := r.pace(ctx, r.play.Arrivals(), pool, pacer)
	pool.close()
	return r.drain(&wg, cancelSess) && complete
}

// idlePool is the bounded set of session workers, so the pacer knows at an arrival's time
// whether one is free: a worker is free exactly from the end of its session (put) until the
// pacer hands it an arrival (offer). Workers start on demand, up to max alive, and the pacer
// retires those idle the longest (trim), so memory follows the sessions actually in flight, not
// the highest burst seen. Each worker has its own one-slot channel: a hand-off never blocks.
type idlePool struct {
	mu    sync.Mutex
	free  []int // ids of free workers, the longest idle first
	chans map[int]chan scenario.Arrival
	next  int // the next worker id
	max   int
	start func(id int, ch <-chan scenario.Arrival)
}

func newIdlePool(max int, start func(id int, ch <-chan scenario.Arrival)) *idlePool {
	return &idlePool{max: max, start: start, chans: map[int]chan scenario.Arrival{}}
}

// offer hands a to a free worker, starting one when none is free and the bound allows; false
// when max workers are alive and busy. Only the pacer calls it.
func (p *idlePool) offer(a scenario.Arrival) bool {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		id := p.free[n-1]
		p.free = p.free[:n-1]
		ch := p.chans[id]
		p.mu.Unlock()
		ch <- a
		return true
	}
	if len(p.chans) >= p.max {
		p.mu.Unlock()
		return false
	}
	id := p.next
	p.next++
	ch := make(chan scenario.Arrival, 1)
	p.chans[id] = ch
	p.mu.Unlock()
	p.start(id, ch)
	ch <- a
	return true
}

func (p *idlePool) put(id int) {
	p.mu.Lock()
	p.free = append(p.free, id)
	p.mu.Unlock()
}

// trim retires free workers beyond keep: half of the excess per call, the longest idle first.
// Only the pacer calls it (once a second).
func (p *idlePool) trim(keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := (len(p.free) - keep) / 2
	if n <= 0 {
		return
	}
	for _, id := range p.free[:n] {
		close(p.chans[id])
		delete(p.chans, id)
	}
	p.free = append(p.free[:0], p.free[n:]...)
}

// close ends the workers once their sessions are over. Only the pacer calls it, after its last offer.
func (p *idlePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.chans {
		close(c)
		delete(p.chans, id)
	}
}

// alive is how many workers are alive.
func (p *idlePool) alive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.chans)
}

// pace hands each arrival to a waiting worker at its intended time, or drops it when none is
// waiting. It never sends early and never waits for a worker: a late pacer (lag) dispatches the
// backlog at once, and the lag is reported. It returns false when ctx ended the schedule early.
func (r *run) pace(ctx context.Context, it arrivals, pool *idlePool, pacer *report.Shard) bool {
	complete := true
	var dropped, droppedWarned int64
	var lagMax time.Duration
	lastCheck := time.Duration(0)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
loop:
	for {
		a, ok := it.Next()
		if !ok {
			break
		}
		if d := a.Wall - r.now(); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				complete = false
				break loop
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			complete = false
			break
		}
		now := r.now()
		if lag := now - a.Wall; lag > lagMax {
			lagMax = lag
		}
		if !pool.offer(a) {
			pacer.Drop(a.Wall)
			dropped++
		}
		if now-lastCheck >= time.Second {
			lastCheck = now
			pool.trim(64)
			if dropped > droppedWarned {
				r.warn.say("dropped", fmt.Sprintf("generator saturated: %d arrivals dropped so far (all %d workers busy); raise --workers or check the target", dropped, r.opts.Workers))
				droppedWarned = dropped
			}
			if lagMax > 100*time.Millisecond {
				r.warn.say("lag", fmt.Sprintf("generator behind schedule by up to %v: this machine cannot pace the requested rate", lagMax.Round(time.Millisecond)))
			}
			lagMax = 0
		}
	}
	return complete
}

// runClosed runs VUs sessions back to back until the play's wall duration or ctx ends.
func (r *run) runClosed(ctx context.Context) bool {
	sessCtx, cancelSess := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSess()
	stopAt := r.play.WallDuration()
	var seq atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < r.opts.Workers; i++ {
		wg.Add(1)
		w := r.newWorker(i)
		go func() {
			defer wg.Done()
			defer w.raw.close()
			w.last = r.now()
			for !stop.Load() {
				// A session is due when the last one ended: the time of its last answer (do
				// reads the clock there), not a fresh clock read per session.
				now := w.last
				if now >= stopAt {
					return
				}
				n := seq.Add(1) - 1
				w.session(sessCtx, scenario.Arrival{Seq: n, Wall: now, Scenario: r.play.ScenarioAt(now)}, now)
				if w.last == now {
					w.last = r.now() // the session sent nothing and slept nothing
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	complete := true
	select {
	case <-done:
	case <-ctx.Done():
		complete = false
		stop.Store(true)
	case <-time.After(stopAt + time.Second):
		stop.Store(true)
	}
	return r.drain(&wg, cancelSess) && complete
}

// drain waits for in-flight sessions for at most Drain, then cancels what is left. It returns
// false when sessions had to be cut.
func (r *run) drain(wg *sync.WaitGroup, cancel context.CancelFunc) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(r.opts.Drain)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	}
	cancel()
	r.warn.say("drain", fmt.Sprintf("drain: %d requests still in flight after %v; cut", r.inflight.Load(), r.opts.Drain))
	// Sessions see the cancel at their next step; a request on the wire ends by its timeout.
	// Lanes are closed by the caller, so late answers are not recorded.
	select {
	case <-done:
	case <-time.After(100 * time.Millisecond):
	}
	return false
}

// arrivals is the schedule the pacer walks (*scenario.Arrivals).
type arrivals interface {
	Next() (scenario.Arrival, bool)
}

// warner rate-limits Recorder warnings per kind.
type warner struct {
	mu   sync.Mutex
	rec  *report.Recorder
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
func (r *run) fillRates(sum *report.Summary) {
	if sum.Rates == nil {
		sum.Rates = map[string]report.Ratio{}
	}
	if a := sum.Audit; a.Checked && a.Stock > 0 {
		sum.Rates["sell_through"] = ratio(min(a.Sold, a.Stock), a.Stock)
	}
}

func ratio(num, den int64) report.Ratio {
	v := 0.0
	if den > 0 {
		v = float64(num) / float64(den)
	}
	return report.Ratio{Num: num, Den: den, Value: v}
}

// thinkUpper is the longest total think time (scenario time) of any journey, from each think
// step's upper bound: what a session may spend sleeping.
func thinkUpper(s *scenario.Scenario) float64 {
	worst := 0.0
	for _, j := range s.Journeys {
		t := 0.0
		for _, st := range j.Steps {
			switch {
			case st.Think != nil:
				th := st.Think
				t += max(th.Fixed.D(), th.Max.D(), th.P99.D(), 3*th.Mean.D()).Seconds()
			case st.Pay != nil:
				t += st.Pay.Delay.D().Seconds()
			}
		}
		worst = max(worst, t)
	}
	return worst
}

func minCompress(p *scenario.Play) float64 {
	c := math.Inf(1)
	d := p.WallDuration()
	for i := 0; i <= 100; i++ {
		c = min(c, p.CompressAt(d*time.Duration(i)/100))
	}
	if math.IsInf(c, 0) {
		return 1
	}
	return c
}

// PlayedSKUs returns the SKUs with their sale windows' offsets ("+5m") moved from scenario time
// to run time through the play's compression, so a sale that opens five scenario minutes in
// opens at the same point of the curve whatever --wall is. Absolute times are kept.
func PlayedSKUs(skus []scenario.SKU, p *scenario.Play) []scenario.SKU {
	out := make([]scenario.SKU, len(skus))
	copy(out, skus)
	for i := range out {
		out[i].StartsAt = playedOffset(out[i].StartsAt, p)
		out[i].EndsAt = playedOffset(out[i].EndsAt, p)
		// The ladder's step ("5% off every hour") is scenario time too: played at the
		// compression where the sale opens, the price drops as often along the curve.
		if pr := out[i].Pricing; pr != nil && pr.Ladder != nil && pr.Ladder.Every > 0 {
			from := time.Duration(0)
			if off, ok := strings.CutPrefix(skus[i].StartsAt, "+"); ok {
				from, _ = scenario.ParseDuration(off)
			}
			every := p.WallAt(from+pr.Ladder.Every.D()) - p.WallAt(from)
			if every <= 0 {
				every = time.Millisecond
			}
			lad := *pr.Ladder
			lad.Every = scenario.Duration(every)
			cp := *pr
			cp.Ladder = &lad
			out[i].Pricing = &cp
		}
	}
	return out
}

func playedOffset(v string, p *scenario.Play) string {
	if !strings.HasPrefix(v, "+") {
		return v
	}
	d, err := scenario.ParseDuration(v[1:])
	if err != nil {
		return v // the target reports it; the scenario validator already did
	}
	return "+" + p.WallAt(d).String()
}
