package result

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microseconds, 1µs to 24h, 3 significant digits. Values beyond the range
// are clamped to it (a request that took more than a day is recorded as a day).
const (
	HistLowest  = 1
	HistHighest = int64(24 * time.Hour / time.Microsecond)
	HistSigFigs = 3
)

// Histogram tags in histograms.hlog.
const (
	TagLatency     = "latency"      // from the intended send time
	TagServiceTime = "service_time" // from the actual send time
	TagServerTime  = "server_time"  // the target's own time (Server-Timing), one interval over the run
)

// DefaultWindow is the timeline window when neither RecorderOptions.Window nor Duration is set.
const DefaultWindow = time.Second

// DefaultSnapshotWindows is how many recent windows a Snapshot's timeline carries.
const DefaultSnapshotWindows = 120

// maxWindows bounds the timeline when the window is derived from RecorderOptions.Duration.
const maxWindows = 1440

var niceWindows = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour}

// WindowFor returns the window used for a run of run-clock length d when none is given: the
// smallest of 1s, 2s, 5s, 10s, 15s, 30s, 1m, 2m, 5m, ... that keeps the timeline to 1440 windows
// (a 60 s live run gets 1 s windows; a simulated 24 h day gets 1 min).
func WindowFor(d time.Duration) time.Duration {
	for _, w := range niceWindows {
		if d <= w*maxWindows {
			return w
		}
	}
	return niceWindows[len(niceWindows)-1]
}

func newPacked() *hdr.PackedHistogram { return hdr.NewPacked(HistLowest, HistHighest, HistSigFigs) }

// micros converts a duration to the recorded value, clamped to the histogram's range.
func micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if us < 0 {
		return 0
	}
	if us > HistHighest {
		return HistHighest
	}
	return us
}

// RecorderOptions configure a Recorder. Zero values mean "default".
type RecorderOptions struct {
	Name      string
	Mode      string // "live" or "sim"
	Seed      int64
	StartedAt time.Time
	Target    string // shown by the dashboard and copied to the Summary
	Strategy  string
	Segment   string

	Window   time.Duration // timeline window on the run clock; default WindowFor(Duration), or 1s
	Duration time.Duration // expected run-clock length: sets the default window and Snapshot.Progress
	Workers  int           // number of shards; default 1

	TargetRate func(wall time.Duration) float64 // scheduled arrivals per run-clock second
	// TargetCount, when set, is the expected number of this run's arrivals in [0, wall] (a
	// segment's share applied): window targets are then exact differences of it instead of
	// Simpson's rule over TargetRate.
	TargetCount      func(wall time.Duration) float64
	ScenarioAt       func(wall time.Duration) time.Duration // nil: identity (sim)
	ScenarioDuration time.Duration                          // for Snapshot
	CompressAt       func(wall time.Duration) float64       // for Snapshot.Compress; nil: 1
	NextStage        func(wall time.Duration) string        // for Snapshot.NextStage
	// Publish keeps what each harvest adds to a window until Seal hands it out (a generator that
	// publishes its windows: sealed.go). Without it Seal returns counters only.
	Publish bool
	// Unsealed keeps every window's histograms decoded. Sealing saves a live run's memory, but
	// costs an encoding per window while the run goes and a decoding at Finish: a simulation,
	// whose windows are few and come faster than the dashboard reads them, keeps them as they are.
	Unsealed bool
}

// Gauges are point-in-time readings (the sale, the autoscaler), set by the engine or the
// simulator with SetGauges; the timeline keeps the last reading of each window.
type Gauges struct {
	Stock           int64
	StockLeft       int64
	Sold            int64
	Paid            int64
	Released        int64
	Oversold        int64
	Replicas        int
	DesiredReplicas int
	Autoscaler      string
	// SKUs is the sale per SKU (SoldOutAtS unset: the Recorder notes the sell-out moments);
	// the totals above sum them.
	SKUs []SKUStats
}

// Recorder turns a stream of Results into per-window HDR histograms, counters and a timeline.
// Each worker goroutine records into its own Shard; a shard's mutex is only ever contended by
// Snapshot and Finish, which move the shard's windows into the Recorder, so Record is cheap and
// allocation-free once a window's buckets exist. The Recorder never reads the real clock: every
// time comes from the caller, on the run's clock (wall for live, virtual for sim).
type Recorder struct {
	opts   RecorderOptions
	win    time.Duration
	shards []*Shard

	mu       sync.Mutex
	windows  map[int64]*window // harvested, merged over shards
	total    *window           // all harvested windows, merged
	gauges   map[int64]Gauges  // the last reading of each window
	last     Gauges
	scale    Gauges // the last SetReplicas reading (Replicas, DesiredReplicas, Autoscaler)
	hasGauge bool
	repMin   int
	repMax   int
	warnings []string
	finished bool
	sealFrom int64                    // windows before this index are sealed (kept encoded), except late arrivals' windows
	soldOut  map[string]time.Duration // run-clock time each SKU sold out
	inFlight func() int64
	push     func() *Push
	pending  map[int64]*window // with Publish: what harvests added since the last Seal (sealed.go)
	pubNext  int64             // windows before this index were published once by Seal
	ready    map[string][]Span // replicas' ready spans (SetReplicaReady); an open span has ToS −1
}

// NewRecorder makes a Recorder with opts.Workers shards.
func NewRecorder(opts RecorderOptions) *Recorder {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	win := opts.Window
	if win <= 0 {
		win = DefaultWindow
		if opts.Duration > 0 {
			win = WindowFor(opts.Duration)
		}
	}
	r := &Recorder{opts: opts, win: win, windows: map[int64]*window{}, total: newWindow(-1), gauges: map[int64]Gauges{}}
	r.shards = make([]*Shard, opts.Workers)
	for i := range r.shards {
		r.shards[i] = newShard(win)
	}
	return r
}

// Window returns the timeline window length.
func (r *Recorder) Window() time.Duration { return r.win }

// Shard returns shard i (0 ≤ i < Workers). Each goroutine records into its own shard.
func (r *Recorder) Shard(i int) *Shard { return r.shards[i] }

// Shards returns the number of shards.
func (r *Recorder) Shards() int { return len(r.shards) }

// SetReplicas records a reading of a live fleet's autoscaler at run-clock time wall: the
// replicas that serve, those asked for, and the decision's reason. The sale's gauges of the
// window stay as they were; later readings of the sale without replicas keep this one.
func (r *Recorder) SetReplicas(wall time.Duration, ready, desired int, reason string) {
	r.mu.Lock()
	g := r.last
	r.mu.Unlock()
	g.Replicas, g.DesiredReplicas, g.Autoscaler = ready, desired, reason
	r.mu.Lock()
	r.scale = Gauges{Replicas: ready, DesiredReplicas: desired, Autoscaler: reason}
	r.mu.Unlock()
	r.SetGauges(wall, g)
}

// SetGauges records a reading of the sale and the autoscaler at run-clock time wall.
func (r *Recorder) SetGauges(wall time.Duration, g Gauges) {
	idx := int64(0)
	if wall > 0 {
		idx = int64(wall / r.win)
	}
	g.SKUs = slices.Clone(g.SKUs)
	r.mu.Lock()
	if g.Replicas == 0 && r.scale.Replicas > 0 {
		// A reading of the sale only: the fleet's last reading stands (SetReplicas).
		g.Replicas, g.DesiredReplicas, g.Autoscaler = r.scale.Replicas, r.scale.DesiredReplicas, r.scale.Autoscaler
	}
	r.gauges[idx] = g
	r.last, r.hasGauge = g, true
	r.soldOutCheck(wall, g)
	if g.Replicas > 0 {
		if r.repMin == 0 || g.Replicas < r.repMin {
			r.repMin = g.Replicas
		}
		r.repMax = max(r.repMax, g.Replicas)
	}
	r.mu.Unlock()
}

// SetPush gives the Recorder the engine's reading of its push feeds, for snapshots.
func (r *Recorder) SetPush(f func() *Push) {
	r.mu.Lock()
	r.push = f
	r.mu.Unlock()
}

// SetInFlight gives the Recorder the engine's count of requests in flight, for snapshots.
func (r *Recorder) SetInFlight(f func() int64) {
	r.mu.Lock()
	r.inFlight = f
	r.mu.Unlock()
}

// Warn adds a warning to the run (kept once, in order; at most 100).
func (r *Recorder) Warn(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.warnings {
		if w == msg {
			return
		}
	}
	if len(r.warnings) < 100 {
		r.warnings = append(r.warnings, msg)
	}
}

// harvest moves the shards' windows with index < before into the Recorder. With seal, the
// harvested windows before before-1 (all but the last complete one, which Snapshot reads in
// full) are sealed. Called with r.mu held.
func (r *Recorder) harvest(before int64, seal bool) {
	var moved []*window
	for _, s := range r.shards {
		s.mu.Lock()
		for idx, w := range s.open {
			if idx < before {
				moved = append(moved, w)
				delete(s.open, idx)
				if s.cur == w {
					s.cur = nil
				}
			}
		}
		s.mu.Unlock()
	}
	// Merge the shards' pieces of a window together first, then that sum once into the window
	// and once into the total: the total is large, the pieces are small, and Merge is linear in both.
	deltas := map[int64]*window{}
	for _, w := range moved {
		if d := deltas[w.idx]; d != nil {
			d.merge(w)
		} else {
			deltas[w.idx] = w
		}
	}
	for idx, d := range deltas {
		r.keep(idx, d)
		if g := r.windows[idx]; g != nil {
			g.merge(d)
		} else {
			r.windows[idx] = d
		}
	}
	r.total.mergeAll(slices.Collect(maps.Values(deltas)))
	if !seal || r.opts.Unsealed {
		return
	}
	for idx := range deltas { // late answers reopened these windows
		if idx < before-1 && idx < r.sealFrom {
			r.windows[idx].seal()
		}
	}
	for ; r.sealFrom < before-1; r.sealFrom++ {
		if w := r.windows[r.sealFrom]; w != nil {
			w.seal()
		}
	}
}

// counters is the shards' counters summed.
type counters struct {
	total, ok, errs, shed, dropped, retries, bytes, arrivals int64
	byStatus, byCode, byError, byStep, byJourney, byDrop     map[string]int64
	ratios                                                   map[string]Ratio
	conc                                                     *concTable
}

func (r *Recorder) counters() counters {
	c := counters{byStatus: map[string]int64{}, byCode: map[string]int64{}, byError: map[string]int64{},
		byStep: map[string]int64{}, byJourney: map[string]int64{}, byDrop: map[string]int64{}, ratios: map[string]Ratio{}}
	for _, s := range r.shards {
		s.mu.Lock()
		c.total += s.total
		c.ok += s.ok
		c.errs += s.errs
		c.shed += s.shed
		c.dropped += s.dropped
		c.retries += s.retries
		c.bytes += s.bytes
		c.arrivals += s.arrivals
		for k, v := range s.byStatus {
			if v != 0 {
				c.byStatus[strconv.Itoa(k)] += v
			}
		}
		for k, v := range s.more {
			c.byStatus[strconv.Itoa(k)] += v
		}
		s.byCode.addTo(c.byCode)
		s.byError.addTo(c.byError)
		s.steps.each(func(k string, st *namedStat) { c.byStep[k] += st.count })
		s.journeys.each(func(k string, st *namedStat) { c.byJourney[k] += st.count })
		s.byDrop.addTo(c.byDrop)
		if s.conc != nil {
			if c.conc == nil {
				c.conc = new(concTable)
			}
			c.conc.merge(s.conc)
		}
		for k, v := range s.ratios {
			q := c.ratios[k]
			q.Num += v[0]
			q.Den += v[1]
			c.ratios[k] = q
		}
		s.mu.Unlock()
	}
	for k, q := range c.ratios {
		c.ratios[k] = NewRatio(q.Num, q.Den)
	}
	return c
}

// NewRatio makes a Ratio with its Value.
func NewRatio(num, den int64) Ratio {
	q := Ratio{Num: num, Den: den}
	if den != 0 {
		q.Value = float64(num) / float64(den)
	}
	return q
}

// Snapshot returns what the dashboard shows at run-clock time now: the last complete window,
// the totals so far and the recent timeline. Windows before now's are moved out of the shards.
func (r *Recorder) Snapshot(now time.Duration) Snapshot {
	nowIdx := int64(0)
	if now > 0 {
		nowIdx = int64(now / r.win)
	}
	c := r.counters()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.finished {
		r.harvest(nowIdx, true)
	}
	snap := Snapshot{Name: r.opts.Name, Mode: r.opts.Mode, Target: r.opts.Target, Strategy: r.opts.Strategy,
		Segment: r.opts.Segment, Wall: now, ScenarioT: r.scenarioAt(now), ScenarioDuration: r.opts.ScenarioDuration,
		Compress: 1, ByCode: c.byCode, ByError: c.byError, Retries: c.retries, Done: r.finished}
	if r.opts.CompressAt != nil {
		snap.Compress = r.opts.CompressAt(now)
	}
	if r.opts.NextStage != nil {
		snap.NextStage = r.opts.NextStage(now)
	}
	if r.opts.Duration > 0 {
		snap.Progress = min(1, max(0, now.Seconds()/r.opts.Duration.Seconds()))
	}

	// The running total: harvested windows plus what the shards still hold.
	open := newWindow(-1)
	for _, s := range r.shards {
		s.mu.Lock()
		for _, w := range s.open {
			open.merge(w)
		}
		s.mu.Unlock()
	}
	tot := &window{idx: -1, lat: r.total.lat.Clone(), svc: r.total.svc.Clone(), n: r.total.n,
		arrivals: r.total.arrivals, errs: r.total.errs, shed: r.total.shed, drops: r.total.drops}
	tot.merge(open)
	marks := c.arrivals > 0
	snap.Total = windowStats(tot, now.Seconds(), r.targetAvg(now), marks)
	if nowIdx > 0 {
		a := time.Duration(nowIdx-1) * r.win
		snap.Last = windowStats(r.windows[nowIdx-1], r.win.Seconds(), r.targetRPS(a, a+r.win), marks)
	}

	from := max(0, nowIdx-DefaultSnapshotWindows)
	var carry Gauges
	for idx := int64(0); idx < from; idx++ { // gauges carry forward from before the shown span
		if g, ok := r.gauges[idx]; ok {
			carry = g
		}
	}
	for idx := from; idx < nowIdx; idx++ {
		snap.Timeline = append(snap.Timeline, r.point(idx, r.windows[idx], now, &carry, marks))
	}
	if r.hasGauge {
		g := r.last
		snap.Stock, snap.StockLeft, snap.Sold, snap.Paid, snap.Released, snap.Oversold = g.Stock, g.StockLeft, g.Sold, g.Paid, g.Released, g.Oversold
		snap.Replicas, snap.DesiredReplicas, snap.Autoscaler = g.Replicas, g.DesiredReplicas, g.Autoscaler
	}
	snap.SKUs = r.skuStats()
	if r.inFlight != nil {
		snap.InFlight = r.inFlight()
	}
	if r.push != nil {
		snap.Push = r.push()
	}
	snap.Warnings = append([]string(nil), r.warnings...)
	if nowIdx > 0 {
		if w := r.windows[nowIdx-1]; w != nil {
			snap.ByReplica = w.reps.toMap()
		}
	}
	snap.ReplicasReady = r.readyNow()
	return snap
}

// Finish closes the run at run-clock time end and returns it. The caller sets the audit, the
// gates (EvaluateGates) and Partial. Results recorded after Finish are ignored by the Run.
func (r *Recorder) Finish(end time.Duration) *Run {
	c := r.counters()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.harvest(math.MaxInt64, false)
	r.finished = true

	last := int64(-1)
	for idx := range r.windows {
		last = max(last, idx)
	}
	if end <= 0 {
		end = time.Duration(last+1) * r.win
	}
	endIdx := int64(math.Ceil(float64(end)/float64(r.win))) - 1
	last = max(last, endIdx)

	s := &Summary{Schema: SummarySchema, Name: r.opts.Name, Mode: r.opts.Mode, Seed: r.opts.Seed,
		StartedAt: r.opts.StartedAt, DurationS: end.Seconds(), ScenarioTimeS: r.scenarioAt(end).Seconds(),
		Target: r.opts.Target, Strategy: r.opts.Strategy, Segment: r.opts.Segment, WindowS: r.win.Seconds(),
		Gates: []GateResult{}, Timeline: []TimelinePoint{}, Audit: Audit{Violations: []string{}}}
	s.Requests = c.requests()
	if len(c.ratios) > 0 {
		s.Rates = c.ratios
	}
	s.LatencyMs, s.ServiceTimeMs = percentiles(r.total.lat), percentiles(r.total.svc)
	s.ServerTimeMs = serverPercentiles(r.total.srv)
	if c.conc != nil {
		s.Concurrency = c.conc.bins()
	}
	s.Replicas = Replicas{Min: r.repMin, Max: r.repMax}
	s.Warnings = append([]string(nil), r.warnings...)

	run := &Run{Summary: s, Latency: r.total.lat.Clone(), ServiceTime: r.total.svc.Clone(), Window: r.win}
	if r.total.srv != nil {
		run.ServerTime = r.total.srv.Clone()
	}
	steps := r.mergeNamed(func(s *Shard) *namedSet { return &s.steps })
	journeys := r.mergeNamed(func(s *Shard) *namedSet { return &s.journeys })
	s.Steps, s.Journeys = steps.stats(), journeys.stats()
	run.Steps, run.Journeys = steps.histograms(), journeys.histograms()
	s.Requests.ByReplica, run.ByReplica = r.finishReplicas(end)
	r.finishSKUs(s, end)
	var carry Gauges
	var targetSum float64
	for idx := int64(0); idx <= last; idx++ {
		w := r.windows[idx]
		p := r.point(idx, w, end, &carry, c.arrivals > 0)
		if start := time.Duration(idx) * r.win; start < end {
			targetSum += p.TargetRPS * (min(start+r.win, end) - start).Seconds()
		}
		s.Timeline = append(s.Timeline, p)
		if w != nil {
			lat, svc := w.handOver()
			run.Windows = append(run.Windows, WindowHist{Index: idx, Latency: lat, ServiceTime: svc})
		}
	}
	finishRates(s, targetSum)
	FillReplicaShares(s)
	return run
}

// finishRates fills the rate block from the totals and the timeline. targetSum is the integral of
// the target rate over the run (expected arrivals).
func finishRates(s *Summary, targetSum float64) {
	s.Rate = Rate{}
	if s.DurationS > 0 {
		s.Rate.TargetAvg = targetSum / s.DurationS
		s.Rate.AchievedAvg = float64(achieved(s.Requests.Total, s.Requests.Arrivals, s.Requests.Arrivals > 0)) / s.DurationS
		s.Rate.RequestsAvg = float64(s.Requests.Total) / s.DurationS
	}
	for i, p := range s.Timeline {
		s.Rate.PeakTarget = max(s.Rate.PeakTarget, p.TargetRPS)
		// A short last window would make a noisy peak: only full windows count for peak_achieved.
		if p.Wall+s.WindowS <= s.DurationS+1e-9 || (i == 0 && len(s.Timeline) == 1) {
			s.Rate.PeakAchieved = max(s.Rate.PeakAchieved, p.AchievedRPS)
		}
	}
}
