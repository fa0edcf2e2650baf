package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Defaults of the capacity model, for fields the scenario leaves at zero.
var (
	DefaultReplicas          = 10
	DefaultWorkersPerReplica = 64
	DefaultServiceTime       = scenario.ServiceTime{Dist: "lognormal", P50: scenario.Duration(8 * time.Millisecond), P99: scenario.Duration(60 * time.Millisecond)}
	DefaultHitTime           = time.Millisecond
	DefaultTick              = time.Second
	DefaultStartup           = 30 * time.Second
	DefaultTargetUtilization = 0.7
	DefaultDBTarget          = 0.7
	DefaultReshard           = time.Minute
	DefaultQueryTime         = 2 * time.Millisecond
	DefaultBreakerWindow     = 10 * time.Second
	DefaultBreakerOpen       = 5 * time.Second
	DefaultBreakerMin        = 20
	// RequestModeLimit is the most expected requests for which Mode "auto" picks the per-request
	// mode; above it the fluid mode runs.
	RequestModeLimit = 2_000_000.0
)

// Step kinds: what a request costs depends on what it does.
const (
	kindView = iota
	kindPurchase
	kindPay
	kindCancel
	kindJoin
	kindRequest
	numKinds
)

var kindNames = [numKinds]string{"view", "purchase", "pay", "cancel", "join_group", "request"}

// roundTrip ends an answer that reached the target, in both modes: with a modelled round trip,
// the time at the target becomes the answer's server time (what a live target reports in
// Server-Timing) and the answer arrives the round trip later. Without one the model does not tell
// the two apart, and reports no server time.
func (s *service) roundTrip(res *result.Result) {
	if s.rtt > 0 {
		res.Server = res.Done - res.Sent
		res.Done += time.Duration(s.rtt * 1e9)
	}
}

// service is the resolved capacity model: the scenario's Model with defaults filled in and the
// distributions built. Both modes read it.
type service struct {
	replicas int
	workers  int
	cores    int
	lb       string
	base     Dist
	steps    [numKinds]Dist // per-kind service time of the application part
	hitRatio float64
	hitTime  float64 // seconds
	rtt      float64 // seconds outside the target on every answer (model.round_trip)

	db *dbModel

	queueLimit int
	timeout    float64 // seconds; 0 none
	shedAbove  float64

	breaker *breakerModel

	scaler  Scaler
	startup time.Duration
	min     int
	max     int
}

type dbModel struct {
	shards, maxShards int
	cap               float64 // queries per second per shard, at most
	query             float64 // seconds, alone
	alpha, beta       float64
	target            float64
	reshard           time.Duration
	schedule          []TimedValue // pre-sharding floors
}

// floor is the scheduled minimum of shards at now.
func (d *dbModel) floor(now time.Duration) int {
	n := 0
	for _, st := range d.schedule {
		if st.At <= now {
			n = st.Value
		}
	}
	return n
}

// factor is the Universal Scalability Law's slowdown of a query when n run on its shard.
func (d *dbModel) factor(n float64) float64 {
	if n <= 1 {
		return 1
	}
	return 1 + d.alpha*(n-1) + d.beta*n*(n-1)
}

// peakN is the concurrency at which a shard's throughput N/R(N) peaks.
func (d *dbModel) peakN() float64 {
	switch {
	case d.beta > 0:
		return math.Max(1, math.Sqrt((1-d.alpha)/d.beta))
	case d.alpha > 0:
		return 1 / d.alpha
	}
	return 1
}

// steady solves the shard's concurrency at an arrival rate lam (queries per second per shard):
// N = lam·R(N), R(N) = query·factor(N) (Little's law with the USL's response time). It
// returns the response time, and false when no steady state exists (the USL peak is below lam).
func (d *dbModel) steady(lam float64) (float64, bool) {
	a := lam * d.query
	if a <= 0 {
		return d.query, true
	}
	// β·a·N² + (α·a − β·a − 1)·N + a(1−α) = 0, smallest positive root.
	A, B, C := d.beta*a, d.alpha*a-d.beta*a-1, a*(1-d.alpha)
	var n float64
	if A == 0 {
		if B >= 0 {
			return 0, false
		}
		n = -C / B
	} else {
		disc := B*B - 4*A*C
		if disc < 0 {
			return 0, false
		}
		n = (-B - math.Sqrt(disc)) / (2 * A)
	}
	if n < 0 {
		return 0, false
	}
	return d.query * d.factor(n), true
}

type breakerModel struct {
	errRate float64
	window  time.Duration
	open    time.Duration
	min     int
}

// newService resolves a model. loadHist reads an empirical distribution's histogram file; the
// calibration (override) replaces the base service time when set. A calibration is a measured
// end-to-end service time (every step, cache hits and database included), so it also replaces
// step_times, the cache and the database: the model keeps only its capacity (replicas, workers,
// queues, shedding, the autoscaler).
func newService(m *scenario.Model, override Dist, loadHist func(path string) (Dist, error)) (*service, error) {
	if m == nil {
		m = &scenario.Model{}
	}
	if override != nil {
		cm := *m
		cm.StepTimes, cm.Cache, cm.DB = nil, nil, nil
		m = &cm
	}
	s := &service{replicas: m.Replicas, workers: m.WorkersPerReplica, lb: m.LoadBalancer,
		queueLimit: m.QueueLimit, timeout: m.Timeout.D().Seconds(), shedAbove: m.ShedAboveRPS, rtt: m.RoundTrip.D().Seconds()}
	if s.workers <= 0 {
		s.workers = DefaultWorkersPerReplica
	}
	s.cores = m.CoresPerReplica
	if s.cores <= 0 {
		s.cores = s.workers
	}
	if s.lb == "" {
		s.lb = "round-robin"
	}
	var err error
	if override != nil {
		s.base = override
	} else {
		st := m.ServiceTime
		if st.Dist == "" {
			st = DefaultServiceTime
		}
		if s.base, err = buildDist(st, loadHist); err != nil {
			return nil, fmt.Errorf("model.service_time: %w", err)
		}
	}
	for k := range s.steps {
		s.steps[k] = s.base
		if st, ok := m.StepTimes[kindNames[k]]; ok {
			if s.steps[k], err = buildDist(st, loadHist); err != nil {
				return nil, fmt.Errorf("model.step_times.%s: %w", kindNames[k], err)
			}
		}
	}
	s.hitTime = DefaultHitTime.Seconds()
	if c := m.Cache; c != nil {
		s.hitRatio = c.HitRatio
		if c.HitTime > 0 {
			s.hitTime = c.HitTime.D().Seconds()
		}
	}
	if d := m.DB; d != nil && d.Shards > 0 && d.ShardCapacityRPS > 0 {
		s.db = &dbModel{shards: d.Shards, maxShards: max(d.MaxShards, d.Shards), cap: d.ShardCapacityRPS,
			query: d.QueryTime.D().Seconds(), alpha: d.Alpha, beta: d.Beta, target: d.TargetUtilization, reshard: d.Reshard.D()}
		if s.db.query <= 0 {
			s.db.query = DefaultQueryTime.Seconds()
		}
		for _, st := range d.Schedule {
			s.db.schedule = append(s.db.schedule, TimedValue{At: st.At.D(), Value: min(st.Shards, s.db.maxShards)})
		}
		if s.db.target <= 0 {
			s.db.target = DefaultDBTarget
		}
		if s.db.reshard <= 0 {
			s.db.reshard = DefaultReshard
		}
	}
	if b := m.CircuitBreaker; b != nil && b.ErrorRate > 0 {
		s.breaker = &breakerModel{errRate: b.ErrorRate, window: b.Window.D(), open: b.Open.D(), min: b.MinRequests}
		if s.breaker.window <= 0 {
			s.breaker.window = DefaultBreakerWindow
		}
		if s.breaker.open <= 0 {
			s.breaker.open = DefaultBreakerOpen
		}
		if s.breaker.min <= 0 {
			s.breaker.min = DefaultBreakerMin
		}
	}

	if err := s.autoscaler(m.Autoscaler); err != nil {
		return nil, err
	}
	return s, nil
}

// autoscaler sets the service's autoscaler from model.autoscaler (nil: fixed): the decision
// rule, its bounds and the start-up delay of a pod, for s.replicas initial pods of s.workers.
func (s *service) autoscaler(a *scenario.Autoscaler) error {
	if a == nil {
		a = &scenario.Autoscaler{Type: "fixed"}
	}
	s.startup = a.Startup.D()
	if a.Startup == 0 && a.Type != "fixed" && a.Type != "" {
		s.startup = DefaultStartup
	}
	s.min = a.Min
	if s.replicas <= 0 {
		s.replicas = max(a.Min, 1)
		if a.Min == 0 {
			s.replicas = DefaultReplicas
		}
	}
	if s.min <= 0 {
		s.min = 1
	}
	s.max = a.Max
	if s.max <= 0 {
		s.max = max(s.replicas, s.min) * 100
	}
	target := a.TargetUtilization
	if target <= 0 {
		target = DefaultTargetUtilization
	}
	switch a.Type {
	case "", "fixed":
		s.scaler = Fixed{Replicas: s.replicas}
	case "hpa":
		s.scaler = DefaultHPA(target, s.min, s.max)
	case "kpa":
		s.scaler = DefaultKPA(target*float64(s.workers), s.min, s.max)
	case "scheduled":
		sc := Scheduled{Initial: s.replicas}
		for _, st := range a.Schedule {
			sc.Steps = append(sc.Steps, TimedValue{At: st.At.D(), Value: st.Replicas})
		}
		s.scaler = sc
	default:
		return fmt.Errorf("model.autoscaler.type %q: want hpa, kpa, fixed or scheduled", a.Type)
	}
	if (a.Type == "hpa" || a.Type == "kpa") && len(a.Schedule) > 0 {
		fl := Floored{Scaler: s.scaler}
		for _, st := range a.Schedule {
			fl.Steps = append(fl.Steps, TimedValue{At: st.At.D(), Value: st.Replicas})
		}
		s.scaler = fl
	}
	return nil
}

func buildDist(st scenario.ServiceTime, loadHist func(string) (Dist, error)) (Dist, error) {
	switch strings.ToLower(st.Dist) {
	case "exponential":
		if st.Mean <= 0 {
			return nil, fmt.Errorf("exponential needs mean > 0")
		}
		return Exponential{MeanS: st.Mean.D().Seconds()}, nil
	case "deterministic":
		if st.Mean <= 0 {
			return nil, fmt.Errorf("deterministic needs mean > 0")
		}
		return Deterministic{Value: st.Mean.D().Seconds()}, nil
	case "lognormal":
		if st.P50 <= 0 || st.P99 < st.P50 {
			return nil, fmt.Errorf("lognormal needs 0 < p50 ≤ p99")
		}
		return LogNormalFromP50P99(st.P50.D().Seconds(), st.P99.D().Seconds()), nil
	case "empirical":
		if loadHist == nil || st.Histogram == "" {
			return nil, fmt.Errorf("empirical needs a histogram")
		}
		return loadHist(st.Histogram)
	}
	return nil, fmt.Errorf("unknown distribution %q", st.Dist)
}

// usesDB says whether a request of this kind reaches the database (reads miss the cache first).
func usesDB(kind int) bool { return kind != kindView && kind != kindRequest }

// cacheable says whether the cache can answer a request of this kind.
func cacheable(kind int) bool { return kind == kindView || kind == kindRequest }

// scaleClock is the autoscaler's clock in both modes: its periods, start-up delay and
// stabilisation windows are scenario time, as a live fleet's are (rehearse --replicas
// MIN..MAX), while the kernel runs on the run clock. scen and wall map one to the other (a
// played run's compression); nil: the same clock. With keep, trace has every decision of a
// scaler that is not Fixed.
type scaleClock struct {
	scen, wall func(time.Duration) time.Duration
	keep       bool
	next       time.Duration // scenario time of the next decision
	last       time.Duration // run time of the last decision
	trace      []result.ScalePoint
}

func (c *scaleClock) scenAt(now time.Duration) time.Duration {
	if c.scen == nil {
		return now
	}
	return c.scen(now)
}

// wallAt is the first run time at which the scenario clock reaches sc.
func (c *scaleClock) wallAt(sc time.Duration) time.Duration {
	if c.wall == nil {
		return sc
	}
	w := c.wall(sc)
	for i := 0; i < 1000 && c.scen(w) < sc; i++ {
		w += time.Microsecond // rounding between the clocks: never before sc
	}
	return w
}

// decide plays one autoscaling period at run time now on the period's utilisation and
// concurrency (scaleStep, on scenario time), records it, and returns the decision and the
// ready pods removed.
func (c *scaleClock) decide(sc Scaler, f *fleet, lo, hi int, now time.Duration, util, conc float64) (Decision, int) {
	at := c.scenAt(now)
	ready := f.ready
	d, removed := scaleStep(sc, f, lo, hi, at, util, conc)
	if _, fixed := sc.(Fixed); c.keep && !fixed {
		c.trace = append(c.trace, result.ScalePoint{T: at.Seconds(), Util: util, Ready: ready, Desired: d.Desired})
	}
	c.last = now
	return d, removed
}

// fleet is the replicas' life cycle, shared by both modes: pods asked for start at once and
// serve after the start-up delay; pods taken away go starting ones first.
type fleet struct {
	ready    int
	starting []time.Duration // ready-at times, ascending
	startup  time.Duration
}

func (f *fleet) current() int { return f.ready + len(f.starting) }

// advance moves pods whose start-up is over to ready and returns how many.
func (f *fleet) advance(now time.Duration) int {
	n := 0
	for n < len(f.starting) && f.starting[n] <= now {
		n++
	}
	f.starting = f.starting[n:]
	f.ready += n
	return n
}

// scale sets the desired count; it returns how many ready pods were removed.
func (f *fleet) scale(desired int, now time.Duration) int {
	for f.current() < desired {
		f.starting = append(f.starting, now+f.startup)
	}
	removed := 0
	for f.current() > desired && len(f.starting) > 0 {
		f.starting = f.starting[:len(f.starting)-1]
	}
	for f.current() > desired && f.ready > 1 {
		f.ready--
		removed++
	}
	return removed
}

// nextReady is the time of the next pod becoming ready, or MaxInt64.
func (f *fleet) nextReady() time.Duration {
	if len(f.starting) == 0 {
		return math.MaxInt64
	}
	return f.starting[0]
}
