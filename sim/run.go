package sim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Modes of Run.
const (
	ModeAuto    = "auto"
	ModeFluid   = "fluid"
	ModeRequest = "request"
)

// DefaultStrata is the fewest latency samples the fluid mode records per request class and
// tick; runs shorter than 512 ticks get more (up to 64), so every class has about 4096 over the run.
const DefaultStrata = 8

// Options configure Run. Zero values mean "default".
type Options struct {
	// Mode is fluid, request or auto (default: the model's mode, else request when the
	// scenario expects at most RequestModeLimit requests, fluid above).
	Mode string
	// Played plays the scenario as a live run would (the file's rate_scale and compression),
	// to sit beside a live run or be calibrated by it; the default is full scale in scenario
	// time (rate scale 1, uncompressed).
	Played bool
	// Wall and RateScale override the file's compression and amplitude of a played
	// simulation, as --wall and --rate-scale do for the live run it sits beside.
	Wall      time.Duration
	RateScale float64
	// ServiceTime replaces the model's service time (a calibration from a live run, see
	// EmpiricalFromRun).
	ServiceTime Dist
	// Seed of every random choice; 0: the scenario's.
	Seed int64
	// Tick is the fluid mode's step; 0: the model's tick, else DefaultTick.
	Tick time.Duration
	// Strata is the fluid mode's latency samples per class and tick; 0: DefaultStrata, more
	// for short runs.
	Strata int
	// Recorder receives the results; nil: Run makes one with NewRecorder. Pass your own to
	// watch the run (Recorder.Snapshot at the virtual time Progress reports).
	Recorder *result.Recorder
	// Progress is called with the virtual time reached: about once per virtual second in the
	// request mode; in the fluid mode at the end of each timeline window and whenever the
	// replicas change.
	Progress func(virtual time.Duration)
	// FailFast are gates to watch while the fluid mode plays: when one can no longer pass,
	// whatever the rest of the run brings, the run stops there (Summary.Partial) and Run
	// returns it with ErrGateFailed. Plan uses it; gates it cannot decide early (tagged ones,
	// rates, the audit, replicas) wait for the end as usual.
	FailFast []string
	// StartedAt is copied to the summary; zero: now. It is the simulated run's start on the wall
	// clock, from which an absolute sale time (a SKU's RFC 3339 starts_at or ends_at) counts, as
	// the target counts it from the live run's start (scenario.Play.SaleAt).
	StartedAt time.Time
	// ReservationTTL is how long the target holds an unpaid reservation (the request mode's
	// book of record releases it after as long, on the run clock); 0: the target's default.
	ReservationTTL time.Duration

	inlineSamples bool // the fluid mode draws its samples on the ticks' goroutine (tests compare)
}

// Prepared is a scenario prepared for simulation: the play, the resolved model and the mode. Run
// is Prepare then (*Prepared).Run; the CLI prepares first to build the Recorder it watches.
type Prepared struct {
	s    *scenario.Scenario
	play *scenario.Play
	svc  *service
	prog *scenario.Program
	js   []journey
	mode string
	opts Options
	// started is the run's start on the wall clock: Options.StartedAt, else when it was prepared.
	started time.Time

	steps  map[string][]StepWindow
	events int64 // after a request-mode Run: the events its kernel played
}

// Events is, after a request-mode Run, the number of events the event kernel played (0 in the
// fluid mode, which has none): its events per second beside the kernel's own
// (BenchmarkKernel) say how much of a run the kernel is.
func (sm *Prepared) Events() int64 { return sm.events }

// StepLatency is, after Run, each step's mean latency of answered requests per timeline window.
func (sm *Prepared) StepLatency() map[string][]StepWindow { return sm.steps }

// Prepare resolves the scenario, its model and the mode.
func Prepare(s *scenario.Scenario, o Options) (*Prepared, error) {
	po := scenario.PlayOptions{RateScale: 1, Uncompressed: true}
	if o.Played {
		po = scenario.PlayOptions{Wall: o.Wall, RateScale: o.RateScale}
	}
	play, err := s.Play(po)
	if err != nil {
		return nil, err
	}
	load := func(path string) (Dist, error) {
		if !filepath.IsAbs(path) && s.Dir != "" {
			path = filepath.Join(s.Dir, path)
		}
		return EmpiricalFromRun(path)
	}
	svc, err := newService(s.Model, o.ServiceTime, load)
	if err != nil {
		return nil, err
	}
	seed := o.Seed
	if seed == 0 {
		seed = s.Seed
	}
	prog, err := scenario.Compile(s, seed)
	if err != nil {
		return nil, err
	}
	sm := &Prepared{s: s, play: play, svc: svc, prog: prog, js: compileJourneys(prog, s.SKUs), opts: o, started: o.StartedAt}
	if sm.started.IsZero() {
		sm.started = time.Now().UTC()
	}
	sm.mode = o.Mode
	if sm.mode == "" || sm.mode == ModeAuto {
		if s.Model != nil && s.Model.Mode != "" {
			sm.mode = s.Model.Mode
		}
	}
	if sm.mode == "" || sm.mode == ModeAuto {
		sm.mode = ModeFluid
		if play.Total()*sm.requestsPerArrival() <= RequestModeLimit {
			sm.mode = ModeRequest
		}
	}
	if sm.mode != ModeFluid && sm.mode != ModeRequest {
		return nil, fmt.Errorf("sim mode %q: want fluid, request or auto", sm.mode)
	}
	return sm, nil
}

// Mode is the mode the simulation runs in (fluid or request).
func (sm *Prepared) Mode() string { return sm.mode }

// Play is the schedule the simulation plays.
func (sm *Prepared) Play() *scenario.Play { return sm.play }

// Seed is the seed in use.
func (sm *Prepared) Seed() int64 {
	if sm.opts.Seed != 0 {
		return sm.opts.Seed
	}
	return sm.s.Seed
}

// requestsPerArrival is the expected number of requests one arrival sends (retries excluded).
func (sm *Prepared) requestsPerArrival() float64 {
	var tot, w float64
	for _, j := range sm.js {
		n := 0.0
		for _, st := range j.steps {
			if st.kind >= 0 {
				n += st.prob
			}
		}
		tot += j.weight * n
		w += j.weight
	}
	if w == 0 {
		return 1
	}
	return tot / w
}

// NewRecorder makes the Recorder a simulation of this scenario fills (mode "sim", virtual
// time as the run clock, the played curve as the target rate).
func (sm *Prepared) NewRecorder() *result.Recorder {
	p := sm.play
	return result.NewRecorder(result.RecorderOptions{
		Name: sm.s.Name, Mode: "sim", Seed: sm.Seed(), StartedAt: sm.started,
		Strategy: "model/" + sm.mode, Duration: p.WallDuration(),
		TargetRate: p.WallRate, TargetCount: p.Expected, ScenarioAt: p.ScenarioAt, ScenarioDuration: p.ScenarioDuration(),
		CompressAt: p.CompressAt, Unsealed: true,
		NextStage: func(w time.Duration) string {
			_, _, next := p.StageAt(w)
			return next
		},
	})
}

// Run plays the prepared simulation into rec (or a new Recorder) and returns the run. The
// summary's audit is the model's inventory (the model cannot oversell); gates are left to the
// caller (result.EvaluateGates). A cancelled ctx ends the run early, marked Partial.
func (sm *Prepared) Run(ctx context.Context, rec *result.Recorder) (*result.Run, error) {
	if rec == nil {
		rec = sm.opts.Recorder
	}
	if rec == nil {
		rec = sm.NewRecorder()
	}
	p := sm.play
	end := p.WallDuration()
	ss := newStepSink(rec.Shard(0), rec.Window())
	var sh sink = ss
	skus := p.SKUs() // the played stock: scaled with the rate below the full amplitude
	stock := make([]int64, len(skus))
	for i, k := range skus {
		stock[i] = k.Stock
		if k.Stock <= 0 {
			stock[i] = 1 << 62
		}
	}
	stop := func() bool { return ctx.Err() != nil }
	gauge := sm.gauges(rec, skus)
	soldOut := func(i int, at time.Duration) {
		if i < len(skus) && skus[i].Stock > 0 {
			rec.MarkSoldOut(skus[i].SKU, at)
		}
	}
	win := saleWindows(p, skus, sm.started)
	var sold, paid int64
	var left []int64
	var paidSKU []float64
	var reached time.Duration
	var failed error // a FailFast gate that can no longer pass
	var clock scaleClock
	var herd *result.Herd
	var push *result.Push
	if sm.mode != ModeRequest && sm.s.Crowd != nil {
		rec.Warn("the crowd's herd needs the request mode (model.mode: request); the fluid mode plays the traffic curve only")
	}
	if sm.opts.Played {
		// The autoscaler decides on scenario time, as a live fleet's does: the played run's
		// trace is the prediction of rehearse --replicas MIN..MAX.
		clock = scaleClock{scen: p.ScenarioAt, wall: p.WallAt, keep: true}
	}
	switch sm.mode {
	case ModeRequest:
		it := p.Arrivals()
		next := func() (time.Duration, bool) {
			a, ok := it.Next()
			return a.Wall, ok
		}
		r := newRequestSim(sm.svc, sm.js, stock, sm.Seed(), sh, next)
		r.gauge, r.soldOut, r.scale, r.win = gauge, soldOut, clock, win
		r.prog, r.book = sm.prog, newBook(skus, stock, win, sm.opts.ReservationTTL)
		r.crowd = newCrowdSim(p, sm.prog, sm.s.Model, sm.svc.replicas)
		r.conns, r.onReady = newConnPool(sm.s.Model, p.PeakRate()), rec.SetReplicaReady
		r.users = sm.prog.NewUserValues()
		if sm.opts.Played {
			r.compress = p.CompressAt
		}
		r.run(end, stop)
		r.syncStock(r.k.Now())
		sold, paid, reached = r.sold, r.paid, r.k.Now()
		if r.crowd != nil {
			herd, push = r.crowd.summary(r.crowd.plan.Watchers), r.crowd.pushSummary()
			if w := r.crowd.warning(); w != "" {
				rec.Warn(w)
			}
		}
		left, paidSKU = r.stock, r.paidSKU
		sm.events = r.k.Events()
		clock = r.scale
	default:
		f, ferr := sm.newFluid(stock, sh, end)
		if ferr != nil {
			return nil, ferr
		}
		if sm.svc.lb == "l4" {
			rec.Warn("the fluid mode spreads the load evenly over the replicas: the connections a layer-4 front pins (model.load_balancer: l4) need the request mode (model.mode: request)")
		}
		f.gauge, f.soldOut, f.scale, f.win = gauge, soldOut, clock, win
		f.batches = newFluidBatches(rec.Shard(0), ss)
		if f.ff == nil && !sm.opts.inlineSamples {
			f.startSampler()
		}
		f.run(end, func(a, b time.Duration) float64 { return p.Expected(b) - p.Expected(a) }, stop)
		sold, paid, reached = int64(f.sold+0.5), int64(f.paid+0.5), end
		left, paidSKU, clock = f.wholeLeft(), f.paidSKU, f.scale
		if f.ff != nil && f.ff.failed != "" {
			failed, reached = f.ff.err(), f.ff.at
		}
	}
	sm.steps = ss.timelines()
	partial := ctx.Err() != nil || failed != nil
	if partial {
		end = min(end, reached)
	}
	if failed != nil {
		rec.Warn(failed.Error())
	}
	run := rec.Finish(end)
	run.Summary.Partial = partial
	run.Summary.Scale = clock.trace
	run.Summary.Herd, run.Summary.Push = herd, push
	modelAudit(run.Summary, skus, stock, left, paidSKU, sold, paid)
	if failed != nil {
		return run, failed
	}
	if partial {
		return run, ctx.Err()
	}
	return run, nil
}

// newFluid makes the fluid mode's simulation of the prepared run: its tick, its strata, its
// watched gates.
func (sm *Prepared) newFluid(stock []int64, out sink, end time.Duration) (*fluidSim, error) {
	dt := sm.opts.Tick
	if dt <= 0 && sm.s.Model != nil {
		dt = sm.s.Model.Tick.D()
	}
	if dt <= 0 {
		dt = DefaultTick
	}
	strata := sm.opts.Strata
	if strata <= 0 {
		strata = strataFor(end, dt, DefaultStrata)
	}
	poisson := sm.s.Traffic.Arrivals != "uniform"
	f := newFluidSim(sm.svc, sm.js, stock, sm.Seed(), out, dt, strata, poisson)
	var err error
	if f.ff, err = newFailFast(sm.opts.FailFast); err != nil {
		return nil, err
	}
	if sm.opts.Played {
		f.compress = sm.play.CompressAt
	}
	return f, nil
}

// modelAudit is the audit of a simulated run: the model's inventory at the end (it cannot
// oversell), per SKU with the sell-out moments the run marked, and the sell-through.
func modelAudit(sum *result.Summary, skus []scenario.SKU, stock, left []int64, paidSKU []float64, sold, paid int64) {
	var st int64
	for _, k := range skus {
		st += k.Stock
	}
	sum.Audit = result.Audit{Checked: true, Stock: st, Sold: sold, Paid: paid, Violations: []string{}}
	// Per SKU, the model's inventory at the end (the last gauge reading may precede the last
	// answers), with the sell-out moments the run marked.
	result.ApplySKUAudit(sum, skuAudit(skus, stock, left, paidSKU))
	if st > 0 {
		if sum.Rates == nil {
			sum.Rates = map[string]result.Ratio{}
		}
		sum.Rates["sell_through"] = result.NewRatio(min(sold, st), st)
	}
}

// strataFor is the fluid mode's latency samples per class and tick for a run of length end: at
// least least. The tail of a class's latency is drawn once per stratum and tick: short runs have
// few ticks, so they get more strata (about 4096 draws per class over the run, at most 64).
func strataFor(end, tick time.Duration, least int) int {
	ticks := max(1, int(end/tick))
	return min(max(least, (4096+ticks-1)/ticks), 64)
}

// Run simulates scenario s: Prepare, then (*Prepared).Run into o.Recorder or a new Recorder.
func Run(ctx context.Context, s *scenario.Scenario, o Options) (*result.Run, error) {
	sm, err := Prepare(s, o)
	if err != nil {
		return nil, err
	}
	return sm.Run(ctx, o.Recorder)
}

// EmpiricalFromRun builds a service-time distribution from a live run's measured service
// times (its directory or summary.json, with histograms.hlog beside it): the calibration.
func EmpiricalFromRun(path string) (Dist, error) {
	run, err := result.ReadRun(path)
	if err != nil {
		return nil, fmt.Errorf("calibration from %s: %w", path, err)
	}
	if run.ServiceTime == nil || run.ServiceTime.TotalCount() == 0 {
		return nil, fmt.Errorf("calibration from %s: %w", path, errNoHistogram)
	}
	return EmpiricalFromPacked(run.ServiceTime, time.Microsecond)
}

var errNoHistogram = errors.New("no service-time histogram (histograms.hlog)")

// EmpiricalFromPacked reads a packed HDR histogram (values in unit) through its quantiles:
// one bar per 0.1% of the mass, finer in the tail.
func EmpiricalFromPacked(h *hdr.PackedHistogram, unit time.Duration) (*Empirical, error) {
	var ps []float64
	for p := 0.0; p < 99.9; p += 0.1 {
		ps = append(ps, p)
	}
	ps = append(ps, 99.9, 99.95, 99.99, 99.999, 100)
	vals := h.ValueAtPercentilesSlice(ps)
	u := unit.Seconds()
	lo := make([]float64, 0, len(ps))
	hi := make([]float64, 0, len(ps))
	counts := make([]int64, 0, len(ps))
	for i := 0; i+1 < len(ps); i++ {
		a, b := float64(vals[i])*u, float64(vals[i+1])*u
		lo = append(lo, a)
		hi = append(hi, max(a, b))
		counts = append(counts, int64((ps[i+1]-ps[i])*1000+0.5))
	}
	return NewEmpirical(lo, hi, counts)
}

// gauges hands the Recorder the model's readings with the SKUs named and the unlimited stock
// (held as 1<<62) shown as none, and tells Options.Progress.
func (sm *Prepared) gauges(rec *result.Recorder, skus []scenario.SKU) func(time.Duration, result.Gauges) {
	return func(now time.Duration, g result.Gauges) {
		if g.Stock >= 1<<61 {
			g.Stock, g.StockLeft = 0, 0
		}
		for i := range g.SKUs {
			if i < len(skus) {
				g.SKUs[i].SKU, g.SKUs[i].Flash = skus[i].SKU, skus[i].Flash()
			}
			if g.SKUs[i].Stock >= 1<<61 { // unlimited
				g.SKUs[i].Stock, g.SKUs[i].Left = 0, 0
			}
		}
		result.SortSKUs(g.SKUs)
		rec.SetGauges(now, g)
		if sm.opts.Progress != nil {
			sm.opts.Progress(now)
		}
	}
}
