package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Calibration is a capacity model fitted to one live run, meant to carry over to other rates:
// the target's concurrency per replica (the knee of the run's concurrency table) and its
// service-time distribution (a named family with the measured shape, at the mean of the
// requests that did not queue). Calibrate builds it; Apply writes it into a scenario's model.
type Calibration struct {
	Requests int64   // answered requests of the run
	Rate     float64 // their rate, per run-clock second
	Replicas int     // the measured target's replicas (1 when the run does not say)

	// Workers is the fitted concurrency per replica. When WorkersFound is false the run never
	// had enough requests in flight to show a knee: Workers is then the most that were in
	// flight (per replica), a lower bound, and Apply keeps a larger model value.
	Workers      int
	WorkersFound bool
	MaxInFlight  int // the most requests in flight seen with enough samples (all replicas)

	ServiceTime scenario.ServiceTime // the fitted family, at the unqueued mean
	Mean        time.Duration        // the unqueued mean service time
	SCV         float64              // the unqueued service time's squared coefficient of variation
	// RoundTrip is the mean time outside the target (client service time − the target's own,
	// Server-Timing): 0 when the target did not say, the service time then including it.
	RoundTrip time.Duration
	Notes     []string // how the figures were found, in words
}

// minBin is the fewest requests a row of the concurrency table needs to take part in the fit.
const minBin = 20

// maxRoundTrip is the largest share of the client's mean service time the round trip may take
// for the calibration to model it apart: the model's round trip is a constant (its mean), right
// beside a service many times longer (its spread is nothing to the service's) and wrong where the
// round trip is most of the answer, as on the default rehearsal, whose answer's whole tail is the
// round trip's spread (docs/simulator.md).
const maxRoundTrip = 0.25

// minTimed is the share of a run's answers that must carry the target's own time for the
// calibration to use it.
const minTimed = 0.9

// row is one row of the concurrency table as the fit reads it: requests sent with n in flight,
// and their service time (ms), the client's or the target's own.
type row struct {
	n        int
	w        float64
	mean, sd float64
}

// ErrNoServiceTimes is returned for a run without a service-time histogram.
var ErrNoServiceTimes = errors.New("no service-time histogram (histograms.hlog)")

// CalibrateDir reads a live run (its directory or summary.json) and calibrates from it.
func CalibrateDir(path string) (*Calibration, error) {
	run, err := result.ReadRun(path)
	if err != nil {
		return nil, fmt.Errorf("calibration from %s: %w", path, err)
	}
	c, err := Calibrate(run)
	if err != nil {
		return nil, fmt.Errorf("calibration from %s: %w", path, err)
	}
	return c, nil
}

// Calibrate fits the capacity model to a live run.
//
// Concurrency: a target with c slots per replica answers a request sent with n ≤ c in flight
// in its service time S, and one sent with n > c after n−c others ahead of it left, about
// (n−c)·E[S]/c later (exact for exponential S). For every c the mean service time by in-flight
// count is fitted with E[T|n] = a·(1 + max(0, n−c)/c), weighted by the rows' counts; the c with
// the least squared error wins. A knee at the largest in-flight count seen is no knee: the
// concurrency is then only bounded below.
//
// Service time: the requests sent with at most c in flight did not queue: their mean and
// squared coefficient of variation choose the family (fitFamily). Without a concurrency table
// the whole run's service times stand in (queueing included).
//
// Round trip: when (nearly) every answer carried the target's own time (Server-Timing), the
// fit reads that time instead of the client's, and the mean difference is the round trip
// outside the target (the network, the kernel, both HTTP stacks), which the model adds to each
// answer without holding a worker. Read from the client alone, the service time includes it,
// and a model that holds workers for it has less capacity than the target: on loopback 0.1 to
// 0.2 ms of a 10 ms service, which moves a prediction at 95% load by 20 to 40%. The in-flight
// counts stay the client's, answers on their way back included: a round trip long beside the
// service time blurs the knee (docs/simulator.md has the figures).
func Calibrate(run *result.Run) (*Calibration, error) {
	if run == nil || run.Summary == nil || run.ServiceTime == nil || run.ServiceTime.TotalCount() == 0 {
		return nil, ErrNoServiceTimes
	}
	s := run.Summary
	c := &Calibration{Requests: run.ServiceTime.TotalCount(), Replicas: max(s.Replicas.Max, 1)}
	if s.DurationS > 0 {
		c.Rate = float64(c.Requests) / s.DurationS
	}
	h := run.ServiceTime
	meanAll := h.Mean() / 1000 // ms
	if meanAll <= 0 {
		return nil, ErrNoServiceTimes
	}
	mean, scv := meanAll, math.Pow(h.StdDev()/1000/meanAll, 2)
	all, timed := rows(s.Concurrency)
	if timed != nil {
		var n, rt float64
		for _, b := range s.Concurrency {
			n += float64(b.ServerCount)
			rt += float64(b.ServerCount) * b.RoundTripMsMean
		}
		rt /= n
		d := time.Duration(rt * float64(time.Millisecond))
		if rt <= maxRoundTrip*meanAll {
			c.RoundTrip, all = d, timed
			c.Notes = append(c.Notes, fmt.Sprintf("the target's own time (Server-Timing) on %.0f of %d answers: round trip outside it %s",
				n, c.Requests, d.Round(time.Microsecond)))
		} else {
			timed = nil // calibrated from the client's times
			c.Notes = append(c.Notes, fmt.Sprintf("the target's own time (Server-Timing) on %.0f of %d answers, but the round trip outside it (%s) is most of the answer: calibrated from the client's times, which keep its spread",
				n, c.Requests, d.Round(time.Microsecond)))
		}
	}
	var fit []row
	for _, r := range all {
		if r.w >= minBin && r.n > 0 {
			fit = append(fit, r)
			c.MaxInFlight = max(c.MaxInFlight, r.n)
		}
	}
	if len(fit) == 0 {
		c.Notes = append(c.Notes, "no concurrency table (a run by this version's live engine has one): the concurrency is unknown")
		if timed != nil {
			mean, scv = unqueued(all, math.MaxInt)
		}
	} else {
		total := kneeFit(fit)
		c.Workers = max(1, int(math.Round(float64(total)/float64(c.Replicas))))
		c.WorkersFound = total < c.MaxInFlight
		mean, scv = unqueued(all, total)
		if c.WorkersFound {
			c.Notes = append(c.Notes, fmt.Sprintf("concurrency: service time rises past %d in flight (%d replica(s): %d each)", total, c.Replicas, c.Workers))
		} else {
			c.Notes = append(c.Notes, fmt.Sprintf("concurrency: no knee up to %d in flight, the most seen: at least %d per replica", c.MaxInFlight, c.Workers))
		}
	}
	c.ServiceTime, c.SCV = fitFamily(mean, scv), scv
	c.Mean = time.Duration(mean * float64(time.Millisecond))
	c.Notes = append(c.Notes, fmt.Sprintf("service time: %s (scv %.2f), unqueued mean %s of %s overall",
		c.ServiceTime.Dist, scv, c.Mean.Round(time.Microsecond), time.Duration(meanAll*float64(time.Millisecond)).Round(time.Microsecond)))
	return c, nil
}

// rows reads the concurrency table twice: every request's client-side service time, and (nil
// unless at least minTimed of the answers carried one) the target's own time.
func rows(bins []result.ConcurrencyBin) (client, timed []row) {
	var n, withServer int64
	for _, b := range bins {
		if b.InFlight > 0 && b.Count > 0 {
			client = append(client, row{b.InFlight, float64(b.Count), b.ServiceMsMean, b.ServiceMsSD})
			n += b.Count
			withServer += b.ServerCount
		}
	}
	if n == 0 || float64(withServer) < minTimed*float64(n) {
		return client, nil
	}
	for _, b := range bins {
		if b.InFlight > 0 && b.ServerCount > 0 {
			timed = append(timed, row{b.InFlight, float64(b.ServerCount), b.ServerMsMean, b.ServerMsSD})
		}
	}
	return client, timed
}

// unqueued is the mean (ms) and scv of the service time of the requests sent with at most c
// in flight.
func unqueued(rows []row, c int) (mean, scv float64) {
	var n, s1, s2 float64
	for _, r := range rows {
		if r.n <= c {
			n += r.w
			s1 += r.w * r.mean
			s2 += r.w * (r.sd*r.sd + r.mean*r.mean)
		}
	}
	mean = s1 / n
	return mean, math.Max(0, s2/n/(mean*mean)-1)
}

// kneeFit returns the total concurrency c that fits the rows best.
func kneeFit(rows []row) int {
	maxN := rows[len(rows)-1].n
	bestC, bestErr := maxN, math.Inf(1)
	for cand := 1; cand <= maxN; cand++ {
		var wmg, wgg float64
		for _, r := range rows {
			g := 1 + math.Max(0, float64(r.n-cand))/float64(cand)
			wmg += r.w * r.mean * g
			wgg += r.w * g * g
		}
		a := wmg / wgg
		var sse float64
		for _, r := range rows {
			g := 1 + math.Max(0, float64(r.n-cand))/float64(cand)
			d := r.mean - a*g
			sse += r.w * d * d
		}
		if sse < bestErr {
			bestC, bestErr = cand, sse
		}
	}
	return bestC
}

// fitFamily names the family of a service time with the given mean (ms) and squared
// coefficient of variation: deterministic (scv near 0), exponential (near 1), else the
// lognormal with that mean and scv. The margins are wide enough for a few thousand samples.
func fitFamily(meanMs, scv float64) scenario.ServiceTime {
	ms := func(v float64) scenario.Duration { return scenario.Duration(v * float64(time.Millisecond)) }
	switch {
	case scv < 0.05:
		return scenario.ServiceTime{Dist: "deterministic", Mean: ms(meanMs)}
	case math.Abs(scv-1) <= 0.1:
		return scenario.ServiceTime{Dist: "exponential", Mean: ms(meanMs)}
	}
	sigma := math.Sqrt(math.Log1p(scv))
	p50 := meanMs * math.Exp(-sigma*sigma/2)
	return scenario.ServiceTime{Dist: "lognormal", P50: ms(p50), P99: ms(p50 * math.Exp(z99*sigma))}
}

// Apply returns a copy of m (nil: an empty model) with the calibration: the service time and
// the round trip outside the target, the workers per replica (a lower bound only raises the
// model's), and the measured replicas when the model has none. A calibration is a measured
// end-to-end service time, so step_times, the cache and the database go: the model keeps its
// capacity and autoscaler.
func (c *Calibration) Apply(m *scenario.Model) *scenario.Model {
	var out scenario.Model
	if m != nil {
		out = *m
	}
	out.ServiceTime, out.RoundTrip = c.ServiceTime, scenario.Duration(c.RoundTrip)
	out.StepTimes, out.Cache, out.DB = nil, nil, nil
	if c.Mean > 0 {
		// Answers the model gives without the service time (sold out, over the limit, not
		// started, shed) take the cache's hit time, 1 ms by default: many times what the live
		// target takes to refuse. The measured service time covers every answer, refusals
		// included, so its mean stands for them.
		out.Cache = &scenario.Cache{HitTime: scenario.Duration(c.Mean)}
	}
	switch {
	case c.Workers == 0:
	case c.WorkersFound || out.WorkersPerReplica < c.Workers:
		out.WorkersPerReplica = c.Workers
		out.CoresPerReplica = 0
	}
	if out.Replicas == 0 && out.Autoscaler == nil {
		out.Replicas = c.Replicas
	}
	return &out
}
