package result

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func (r *Recorder) scenarioAt(wall time.Duration) time.Duration {
	if r.opts.ScenarioAt == nil {
		return wall
	}
	return r.opts.ScenarioAt(wall)
}

// targetRPS averages the target rate over [a, b] (Simpson's rule: exact for piecewise-quadratic
// curves within a window, close for the rest).
func (r *Recorder) targetRPS(a, b time.Duration) float64 {
	if b <= a {
		return 0
	}
	if c := r.opts.TargetCount; c != nil {
		return (c(b) - c(a)) / (b - a).Seconds()
	}
	if r.opts.TargetRate == nil {
		return 0
	}
	f := r.opts.TargetRate
	return (f(a) + 4*f((a+b)/2) + f(b)) / 6
}

// targetAvg is the average target rate over [0, end], integrated window by window.
func (r *Recorder) targetAvg(end time.Duration) float64 {
	if end <= 0 {
		return 0
	}
	if c := r.opts.TargetCount; c != nil {
		return c(end) / end.Seconds()
	}
	if r.opts.TargetRate == nil {
		return 0
	}
	var sum float64
	for a := time.Duration(0); a < end; a += r.win {
		b := min(a+r.win, end)
		sum += r.targetRPS(a, b) * (b - a).Seconds()
	}
	return sum / end.Seconds()
}

// point builds the timeline point of window idx, whose run-clock span ends at or before end.
// carry holds the gauges of the previous window, for windows without a reading. arrivals says
// whether the run marks arrivals (Result.First): achieved_rps then counts them.
func (r *Recorder) point(idx int64, w *window, end time.Duration, carry *Gauges, arrivals bool) TimelinePoint {
	start := time.Duration(idx) * r.win
	stop := min(start+r.win, end)
	if stop <= start {
		stop = start + r.win
	}
	secs := (stop - start).Seconds()
	p := TimelinePoint{T: r.scenarioAt(start).Seconds(), Wall: start.Seconds(), TargetRPS: r.targetRPS(start, stop)}
	if g, ok := r.gauges[idx]; ok {
		*carry = g
	}
	p.Replicas, p.StockLeft = carry.Replicas, carry.StockLeft
	if len(carry.SKUs) > 0 {
		p.SKULeft = make(map[string]int64, len(carry.SKUs))
		for _, k := range carry.SKUs {
			p.SKULeft[k.SKU] = k.Left
		}
	}
	if w != nil {
		p.Requests, p.Arrivals = w.n, w.arrivals
		p.AchievedRPS = float64(achieved(w.n, w.arrivals, arrivals)) / secs
		p.Errors, p.Shed, p.Dropped = w.errs, w.shed, w.drops
		p.ByReplica = w.reps.toMap()
		if w.sealed {
			p.P50Ms, p.P99Ms = usToMs(w.p50), usToMs(w.p99)
		} else if w.lat.TotalCount() > 0 {
			p.P50Ms = usToMs(w.lat.ValueAtPercentile(50))
			p.P99Ms = usToMs(w.lat.ValueAtPercentile(99))
		}
	}
	return p
}

// achieved is what achieved rates count: arrivals when the run marks them, else every answer.
func achieved(answers, arrivals int64, marks bool) int64 {
	if marks {
		return arrivals
	}
	return answers
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// percentiles reads a summary latency block from a histogram in microseconds.
// serverPercentiles is the server-time block: nil without a histogram or values.
func serverPercentiles(h *hdr.PackedHistogram) *Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	p := percentiles(h)
	return &p
}

func percentiles(h *hdr.PackedHistogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	qs := append([]float64{50, 90, 99, 99.9}, spectrum...)
	vs := h.ValueAtPercentilesSlice(qs)
	p := Percentiles{Mean: h.Mean() / 1000, P50: usToMs(vs[0]), P90: usToMs(vs[1]), P99: usToMs(vs[2]),
		P999: usToMs(vs[3]), Max: usToMs(h.Max()), Quantiles: map[string]float64{}}
	for i, q := range spectrum {
		p.Quantiles[quantileKey(q)] = usToMs(vs[4+i])
	}
	return p
}

func windowStats(w *window, secs, target float64, arrivals bool) WindowStats {
	ws := WindowStats{TargetRPS: target}
	if w == nil {
		return ws
	}
	w.unseal()
	ws.Requests, ws.Errors, ws.Dropped, ws.Shed = w.n, w.errs, w.drops, w.shed
	if secs > 0 {
		ws.AchievedRPS = float64(achieved(w.n, w.arrivals, arrivals)) / secs
	}
	ws.Latency, ws.Service = percentiles(w.lat), percentiles(w.svc)
	return ws
}
