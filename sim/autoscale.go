package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/flashload/flashload/scenario"
)

// Observation is what an autoscaler sees when it decides.
type Observation struct {
	Now         time.Duration // virtual time
	Current     int           // replicas asked for (ready or starting)
	Ready       int           // replicas that serve
	Utilization float64       // busy workers / ready workers, averaged since the last decision
	Concurrency float64       // requests in flight (queued or served) in total, averaged since the last decision
}

// Decision is an autoscaler's answer: the replicas it wants, and why, in words.
type Decision struct {
	Desired int
	Reason  string
}

// Scaler is an autoscaler: Decide is called every Period of virtual time. The decision rules
// are pure functions of their parameters, the observation and the explicit history the
// scaler carries from one decision to the next (HPAStep, KPAStep).
type Scaler interface {
	Name() string
	Period() time.Duration
	Decide(o Observation) Decision
}

// ScalingPolicy is a Kubernetes HPA rate limit: at most Value pods (Type "Pods") or Value
// percent (Type "Percent") of change per Period.
type ScalingPolicy struct {
	Type   string
	Value  int
	Period time.Duration
}

// HPA is the Kubernetes Horizontal Pod Autoscaler (autoscaling/v2) on CPU utilisation, with
// Kubernetes' defaults when fields are zero (DefaultHPA).
type HPA struct {
	Target            float64       // target utilisation, 0..1
	Tolerance         float64       // 0.1
	Sync              time.Duration // 15s
	Min, Max          int
	UpStabilization   time.Duration // 0
	DownStabilization time.Duration // 5m
	UpPolicies        []ScalingPolicy
	DownPolicies      []ScalingPolicy
	DisableUpLimits   bool // no scale-up policies at all
	state             HPAHistory
}

// DefaultHPA returns Kubernetes' default behaviour for the given target and bounds.
func DefaultHPA(target float64, min, max int) *HPA {
	return &HPA{
		Target: target, Tolerance: 0.1, Sync: 15 * time.Second, Min: min, Max: max,
		DownStabilization: 5 * time.Minute,
		UpPolicies: []ScalingPolicy{
			{Type: "Pods", Value: 4, Period: 15 * time.Second},
			{Type: "Percent", Value: 100, Period: 15 * time.Second},
		},
		DownPolicies: []ScalingPolicy{{Type: "Percent", Value: 100, Period: 15 * time.Second}},
	}
}

// HPAHistory is what the HPA remembers between decisions: its raw recommendations (for the
// stabilisation windows) and the scale events (for the rate-limiting policies).
type HPAHistory struct {
	Recs   []TimedValue
	Events []TimedValue
}

// TimedValue is a value at a virtual time.
type TimedValue struct {
	At    time.Duration
	Value int
}

func (h *HPA) Name() string          { return "hpa" }
func (h *HPA) Period() time.Duration { return h.Sync }
func (h *HPA) Decide(o Observation) Decision {
	d, next := HPAStep(*h, h.state, o)
	h.state = next
	return d
}

// HPAStep is one HPA sync: Kubernetes' replica calculation, stabilisation and rate limits.
//   - raw = ceil(ready × utilisation/target), unless |ratio−1| ≤ tolerance. While scaling up,
//     pods that are not ready yet count as 0% busy (as Kubernetes treats unready pods), and the
//     decision is dropped when that flips its direction.
//   - stabilisation: the result never goes below the smallest recommendation of the up window,
//     nor above the largest of the down window (5 minutes by default).
//   - policies: scale-up at most max(4 pods, 100%) per 15 s by default, measured from the
//     replica count at the start of the policy period; scale-down at most 100% per 15 s.
//   - clamped to [Min, Max].
func HPAStep(h HPA, hist HPAHistory, o Observation) (Decision, HPAHistory) {
	cur := o.Current
	raw, why := cur, "no metrics (no ready pod)"
	if o.Ready > 0 && h.Target > 0 {
		ratio := o.Utilization / h.Target
		unready := max(0, cur-o.Ready)
		switch {
		case math.Abs(ratio-1) <= h.Tolerance:
			why = fmt.Sprintf("utilisation %.0f%% within tolerance of %.0f%%", o.Utilization*100, h.Target*100)
		case ratio > 1 && unready > 0:
			nr := o.Utilization * float64(o.Ready) / (h.Target * float64(o.Ready+unready))
			if nr <= 1+h.Tolerance {
				why = fmt.Sprintf("utilisation %.0f%%, but %d pods still starting", o.Utilization*100, unready)
			} else {
				raw = int(math.Ceil(nr * float64(o.Ready+unready)))
				why = fmt.Sprintf("utilisation %.0f%% > %.0f%% (%d starting)", o.Utilization*100, h.Target*100, unready)
			}
		default:
			raw = int(math.Ceil(ratio * float64(o.Ready)))
			why = fmt.Sprintf("utilisation %.0f%% vs target %.0f%%", o.Utilization*100, h.Target*100)
		}
	}

	// Stabilisation over the recorded raw recommendations, this one included.
	next := HPAHistory{}
	keep := max(h.DownStabilization, h.UpStabilization)
	for _, r := range hist.Recs {
		if r.At > o.Now-keep {
			next.Recs = append(next.Recs, r)
		}
	}
	next.Recs = append(next.Recs, TimedValue{o.Now, raw})
	up, down := raw, raw
	for _, r := range next.Recs {
		if r.At > o.Now-h.UpStabilization {
			up = min(up, r.Value)
		}
		if r.At > o.Now-h.DownStabilization {
			down = max(down, r.Value)
		}
	}
	desired := cur
	if desired < up {
		desired = up
	}
	if desired > down {
		desired = down
		if desired > raw {
			why += fmt.Sprintf("; held at %d by the %s scale-down stabilisation", desired, h.DownStabilization)
		}
	}

	// Rate limits, from the replica count at the start of each policy's period.
	longest := time.Duration(0)
	for _, p := range append(append([]ScalingPolicy(nil), h.UpPolicies...), h.DownPolicies...) {
		longest = max(longest, p.Period)
	}
	for _, e := range hist.Events {
		if e.At+longest > o.Now {
			next.Events = append(next.Events, e)
		}
	}
	changeSince := func(period time.Duration, sign int) int {
		s := 0
		for _, e := range next.Events {
			if e.At+period > o.Now && e.Value*sign > 0 {
				s += e.Value
			}
		}
		return s
	}
	if desired > cur && !h.DisableUpLimits && len(h.UpPolicies) > 0 {
		limit := math.MinInt
		for _, p := range h.UpPolicies {
			start := cur - changeSince(p.Period, +1)
			l := start + p.Value
			if p.Type == "Percent" {
				l = int(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
			}
			limit = max(limit, l)
		}
		if desired > limit {
			desired = max(limit, cur)
			why += fmt.Sprintf("; scale-up limited to %d by policy", desired)
		}
	}
	if desired < cur && len(h.DownPolicies) > 0 {
		limit := math.MaxInt
		for _, p := range h.DownPolicies {
			start := cur - changeSince(p.Period, -1)
			l := start - p.Value
			if p.Type == "Percent" {
				l = int(math.Floor(float64(start) * (1 - float64(p.Value)/100)))
			}
			limit = min(limit, l)
		}
		if desired < limit {
			desired = min(limit, cur)
		}
	}
	if h.Max > 0 && desired > h.Max {
		desired = h.Max
		why += fmt.Sprintf("; at max %d", h.Max)
	}
	if desired < h.Min {
		desired = h.Min
	}
	if desired != cur {
		next.Events = append(next.Events, TimedValue{o.Now, desired - cur})
	}
	return Decision{Desired: desired, Reason: fmt.Sprintf("hpa %d→%d: %s", cur, desired, why)}, next
}

// KPA is Knative's Pod Autoscaler on concurrency: a stable window (60 s) and a panic window
// (6 s); when the panic window wants at least PanicThreshold (200%) of the ready pods it
// panics: it scales on the panic window and never down, until a stable window has passed
// without the threshold being crossed.
type KPA struct {
	TargetConcurrency float64       // per pod
	StableWindow      time.Duration // 60s
	PanicWindow       time.Duration // 6s
	PanicThreshold    float64       // 2.0
	Tick              time.Duration // 2s
	MaxScaleUpRate    float64       // 1000
	MaxScaleDownRate  float64       // 2
	Min, Max          int
	state             KPAHistory
}

// DefaultKPA returns Knative's defaults for the given per-pod target and bounds.
func DefaultKPA(target float64, min, max int) *KPA {
	return &KPA{TargetConcurrency: target, StableWindow: time.Minute, PanicWindow: 6 * time.Second,
		PanicThreshold: 2, Tick: 2 * time.Second, MaxScaleUpRate: 1000, MaxScaleDownRate: 2, Min: min, Max: max}
}

// KPAHistory is the concurrency samples of the stable window and the panic state.
type KPAHistory struct {
	Samples     []TimedFloat
	Panicking   bool
	PanicTime   time.Duration
	MaxPanicPod int
}

// TimedFloat is a sample at a virtual time.
type TimedFloat struct {
	At    time.Duration
	Value float64
}

func (k *KPA) Name() string          { return "kpa" }
func (k *KPA) Period() time.Duration { return k.Tick }
func (k *KPA) Decide(o Observation) Decision {
	d, next := KPAStep(*k, k.state, o)
	k.state = next
	return d
}

// KPAStep is one tick of Knative's autoscaler.
func KPAStep(k KPA, hist KPAHistory, o Observation) (Decision, KPAHistory) {
	next := KPAHistory{Panicking: hist.Panicking, PanicTime: hist.PanicTime, MaxPanicPod: hist.MaxPanicPod}
	for _, s := range hist.Samples {
		if s.At > o.Now-k.StableWindow {
			next.Samples = append(next.Samples, s)
		}
	}
	next.Samples = append(next.Samples, TimedFloat{o.Now, o.Concurrency})
	var sSum, pSum float64
	var sN, pN int
	for _, s := range next.Samples {
		sSum += s.Value
		sN++
		if s.At > o.Now-k.PanicWindow {
			pSum += s.Value
			pN++
		}
	}
	stable, panic := sSum/float64(sN), pSum/float64(max(pN, 1))
	ready := max(o.Ready, 1)
	dStable := math.Ceil(stable / k.TargetConcurrency)
	dPanic := math.Ceil(panic / k.TargetConcurrency)
	up := math.Ceil(k.MaxScaleUpRate * float64(ready))
	down := math.Floor(float64(ready) / k.MaxScaleDownRate)
	clamp := func(x float64) int { return int(math.Max(down, math.Min(up, x))) }
	ds, dp := clamp(dStable), clamp(dPanic)

	over := dPanic/float64(ready) >= k.PanicThreshold
	switch {
	case over:
		if !next.Panicking {
			next.Panicking = true
		}
		next.PanicTime = o.Now
	case next.Panicking && o.Now >= next.PanicTime+k.StableWindow:
		next.Panicking = false
		next.MaxPanicPod = 0
	}
	desired, why := ds, fmt.Sprintf("stable concurrency %.1f/pod, target %.1f", stable/float64(ready), k.TargetConcurrency)
	if next.Panicking {
		desired = max(dp, next.MaxPanicPod, o.Current)
		next.MaxPanicPod = desired
		why = fmt.Sprintf("panic: 6s concurrency %.1f/pod ≥ %.0f%% of target", panic/float64(ready), k.PanicThreshold*100)
	}
	if k.Max > 0 && desired > k.Max {
		desired = k.Max
	}
	desired = max(desired, k.Min)
	return Decision{Desired: desired, Reason: fmt.Sprintf("kpa %d→%d: %s", o.Current, desired, why)}, next
}

// Fixed never scales.
type Fixed struct{ Replicas int }

func (f Fixed) Name() string          { return "fixed" }
func (f Fixed) Period() time.Duration { return time.Minute }
func (f Fixed) Decide(o Observation) Decision {
	return Decision{Desired: f.Replicas, Reason: fmt.Sprintf("fixed at %d", f.Replicas)}
}

// Scheduled pre-scales to planned replica counts at planned times (before a known peak);
// before the first step it keeps Initial.
type Scheduled struct {
	Initial int
	Steps   []TimedValue // sorted by At
}

func (s Scheduled) Name() string          { return "scheduled" }
func (s Scheduled) Period() time.Duration { return 15 * time.Second }
func (s Scheduled) Decide(o Observation) Decision {
	n, why := s.Initial, "before the schedule"
	for _, st := range s.Steps {
		if st.At <= o.Now {
			n, why = st.Value, fmt.Sprintf("scheduled at %s", st.At)
		}
	}
	return Decision{Desired: n, Reason: fmt.Sprintf("scheduled %d→%d: %s", o.Current, n, why)}
}

// Floored keeps another autoscaler above a schedule of minimums: pre-scaling before a known
// peak (a cron scaler beside the HPA). The inner autoscaler still sees every observation.
type Floored struct {
	Scaler
	Steps []TimedValue // sorted by At
}

func (f Floored) Decide(o Observation) Decision {
	d := f.Scaler.Decide(o)
	floor := 0
	for _, st := range f.Steps {
		if st.At <= o.Now {
			floor = st.Value
		}
	}
	if d.Desired < floor {
		d.Reason += fmt.Sprintf("; raised to the scheduled floor %d", floor)
		d.Desired = floor
	}
	return d
}

// withShards adds the database's shard count to an autoscaler's reason (for the dashboard).
func withShards(reason string, shards int) string {
	if shards == 0 {
		return reason
	}
	if reason == "" {
		return fmt.Sprintf("db %d shards", shards)
	}
	return fmt.Sprintf("%s; db %d shards", reason, shards)
}

// scaleStep is one autoscaling period, the rule both simulator modes and a live fleet play:
// the scaler decides on the observation (utilisation and concurrency averaged over the period),
// the decision is clamped to [min, max], and the pods' life cycle follows it (f.scale: new pods
// start now and serve after the start-up delay; pods taken away go starting ones first). It
// returns the decision and how many ready pods were removed.
func scaleStep(sc Scaler, f *fleet, lo, hi int, now time.Duration, util, conc float64) (Decision, int) {
	d := sc.Decide(Observation{Now: now, Current: f.current(), Ready: f.ready, Utilization: util, Concurrency: conc})
	d.Desired = min(max(d.Desired, lo), hi)
	return d, f.scale(d.Desired, now)
}

// Autoscaling is a model's autoscaler with its pods' life cycle, for a fleet outside the
// simulator (rehearse --replicas MIN..MAX): the same decision rule (Scaler), bounds, start-up
// delay and scaleStep the simulator plays, on scenario time the caller supplies.
type Autoscaling struct {
	scaler  Scaler
	min     int
	max     int
	startup time.Duration
	fleet   fleet
	last    Decision
}

// NewAutoscaling builds m's autoscaler (model.autoscaler) over lo..hi replicas (the bounds
// replace the model's min and max), starting with lo ready pods of the model's
// workers_per_replica.
func NewAutoscaling(m *scenario.Model, lo, hi int) (*Autoscaling, error) {
	if m == nil || m.Autoscaler == nil {
		return nil, fmt.Errorf("the scenario's model has no autoscaler")
	}
	if lo < 1 || hi < lo {
		return nil, fmt.Errorf("replicas %d..%d: want 1 ≤ MIN ≤ MAX", lo, hi)
	}
	a := *m.Autoscaler
	a.Min, a.Max = lo, hi
	s := &service{replicas: lo, workers: m.WorkersPerReplica}
	if s.workers <= 0 {
		s.workers = DefaultWorkersPerReplica
	}
	if err := s.autoscaler(&a); err != nil {
		return nil, err
	}
	return &Autoscaling{scaler: s.scaler, min: s.min, max: s.max, startup: s.startup,
		fleet: fleet{ready: lo, startup: s.startup}}, nil
}

// Period is the time between decisions (scenario time).
func (a *Autoscaling) Period() time.Duration { return a.scaler.Period() }

// Startup is a new pod's delay before it serves (scenario time).
func (a *Autoscaling) Startup() time.Duration { return a.startup }

// Name is the autoscaler's name (hpa, kpa, ...).
func (a *Autoscaling) Name() string { return a.scaler.Name() }

// Decide plays one period at scenario time now: pods whose start-up is over become ready
// first, then the scaler decides. It returns the decision and how many ready pods it removed.
func (a *Autoscaling) Decide(now time.Duration, util, conc float64) (Decision, int) {
	a.fleet.advance(now)
	d, removed := scaleStep(a.scaler, &a.fleet, a.min, a.max, now, util, conc)
	a.last = d
	return d, removed
}

// Advance moves pods whose start-up is over by now to ready and returns how many.
func (a *Autoscaling) Advance(now time.Duration) int { return a.fleet.advance(now) }

// Ready is the pods that serve; Current adds those still starting.
func (a *Autoscaling) Ready() int   { return a.fleet.ready }
func (a *Autoscaling) Current() int { return a.fleet.current() }

// Last is the latest decision.
func (a *Autoscaling) Last() Decision { return a.last }
