package result

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines runs of segments of one scenario (flashload run --segment I/N, one per
// generator) into the run a single generator would have recorded. It is exact where the data
// allows: HDR histograms add (so every percentile is the union's), counters and maps sum, named
// ratios add numerators and denominators, and timelines align by window (run-clock offset from
// each segment's own start). Gauges come from the one shared target, so a window keeps the
// largest replica count and the smallest stock left any segment saw. The audit's server-side
// figures (stock, sold, paid, released, oversold, duplicates, undersold) are the same target's,
// so the largest is kept; lost sums (each segment audits its own acknowledged purchases);
// unexpected keeps the smallest (an order one segment did not attempt may be another's).
// Gates are the union of the runs' gates, re-evaluated on the merged summary.
//
// Every run needs its histograms (read with ReadRun from a directory with histograms.hlog)
// and the same window length.
func Merge(runs ...*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("merge: no runs")
	}
	first := runs[0]
	if err := mergeable(runs); err != nil {
		return nil, err
	}

	f := first.Summary
	s := &Summary{Schema: SummarySchema, Name: f.Name, Mode: f.Mode, Seed: f.Seed, StartedAt: f.StartedAt,
		Target: f.Target, Strategy: f.Strategy, WindowS: f.WindowS, Gates: []GateResult{}, Timeline: []TimelinePoint{}}
	s.Faults = f.Faults // every segment plays the same scenario, faults included
	s.Requests = Requests{ByStatus: map[string]int64{}, ByCode: map[string]int64{}}
	out := &Run{Summary: s, Latency: newPacked(), ServiceTime: newPacked(), Window: first.Window}
	wins := map[int64]*WindowHist{}
	var targetSum float64
	var gates []string
	audit := Audit{Checked: true, Unexpected: math.MaxInt64, Violations: []string{}}
	var conc concTable // each generator counts its own requests in flight
	for _, r := range runs {
		conc.addBins(r.Summary.Concurrency)
		rs := r.Summary
		if rs.StartedAt.Before(s.StartedAt) {
			s.StartedAt = rs.StartedAt
		}
		s.DurationS = max(s.DurationS, rs.DurationS)
		s.ScenarioTimeS = max(s.ScenarioTimeS, rs.ScenarioTimeS)
		s.Partial = s.Partial || rs.Partial
		if s.Aborted == "" {
			s.Aborted = rs.Aborted
		}
		targetSum += rs.Rate.TargetAvg * rs.DurationS
		addRequests(&s.Requests, &rs.Requests)
		for k, q := range rs.Rates {
			if s.Rates == nil {
				s.Rates = map[string]Ratio{}
			}
			m := s.Rates[k]
			s.Rates[k] = NewRatio(m.Num+q.Num, m.Den+q.Den)
		}
		mergeAudit(&audit, &rs.Audit)
		if rs.Replicas.Min > 0 && (s.Replicas.Min == 0 || rs.Replicas.Min < s.Replicas.Min) {
			s.Replicas.Min = rs.Replicas.Min
		}
		s.Replicas.Max = max(s.Replicas.Max, rs.Replicas.Max)
		for _, w := range rs.Warnings {
			if !slices.Contains(s.Warnings, w) {
				s.Warnings = append(s.Warnings, w)
			}
		}
		for _, g := range rs.Gates {
			if !slices.Contains(gates, g.Expr) {
				gates = append(gates, g.Expr)
			}
		}
		out.Latency.Merge(r.Latency)
		out.ServiceTime.Merge(r.ServiceTime)
		if r.ServerTime != nil {
			if out.ServerTime == nil {
				out.ServerTime = newPacked()
			}
			out.ServerTime.Merge(r.ServerTime)
		}
		for _, w := range r.Windows {
			m := wins[w.Index]
			if m == nil {
				m = &WindowHist{Index: w.Index, Latency: newPacked(), ServiceTime: newPacked()}
				wins[w.Index] = m
			}
			m.Latency.Merge(w.Latency)
			m.ServiceTime.Merge(w.ServiceTime)
		}
	}
	if audit.Unexpected == math.MaxInt64 {
		audit.Unexpected = 0
	}
	if audit.Checked {
		audit.Error = ""
	}
	s.Audit = audit
	s.Concurrency = conc.bins()
	if len(runs) > 1 {
		s.Segment = fmt.Sprintf("merged %d", len(runs))
	} else {
		s.Segment = f.Segment
	}
	out.Windows = sortWindows(wins)
	s.LatencyMs, s.ServiceTimeMs = percentiles(out.Latency), percentiles(out.ServiceTime)
	s.ServerTimeMs = serverPercentiles(out.ServerTime)
	s.Timeline = mergeTimelines(runs, wins, s)
	var exactSteps, exactJourneys bool
	s.Steps, out.Steps, exactSteps = mergeNamedRuns(runs, func(s *Summary) map[string]NamedStats { return s.Steps }, func(r *Run) map[string]*hdr.PackedHistogram { return r.Steps })
	s.Journeys, out.Journeys, exactJourneys = mergeNamedRuns(runs, func(s *Summary) map[string]NamedStats { return s.Journeys }, func(r *Run) map[string]*hdr.PackedHistogram { return r.Journeys })
	if !exactSteps || !exactJourneys {
		s.Warnings = append(s.Warnings, "merge: some runs carry no per-step histograms; their steps' percentiles are the largest of the runs', not exact")
	}
	var exactReplicas bool
	s.Requests.ByReplica, out.ByReplica, exactReplicas = mergeReplicaRuns(runs)
	if !exactReplicas {
		s.Warnings = append(s.Warnings, "merge: some runs carry no per-replica histograms; those replicas' percentiles are the largest of the runs', not exact")
	}
	s.SKUs = mergeSKUs(runs)
	MarkFaults(s)
	finishRates(s, targetSum)
	FillReplicaShares(s)
	s.Gates, _, _ = EvaluateGates(s, gates) // the expressions parsed when the runs were gated; failures are in s.Gates
	return out, nil
}

// mergeable checks that runs can merge exactly: each has a summary and histograms, and they share
// their window length and mode.
func mergeable(runs []*Run) error {
	first := runs[0]
	var errs []error
	for i, r := range runs {
		switch {
		case r.Summary == nil:
			errs = append(errs, fmt.Errorf("run %d has no summary", i+1))
		case r.Latency == nil || r.ServiceTime == nil:
			errs = append(errs, fmt.Errorf("run %d (%s) has no histograms (histograms.hlog): an exact merge needs them", i+1, r.Summary.Name))
		case r.Window != first.Window:
			errs = append(errs, fmt.Errorf("run %d (%s) has %s windows, run 1 has %s", i+1, r.Summary.Name, r.Window, first.Window))
		case r.Summary.Mode != first.Summary.Mode:
			errs = append(errs, fmt.Errorf("run %d (%s) is a %s run, run 1 is %s", i+1, r.Summary.Name, r.Summary.Mode, first.Summary.Mode))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// mergeSKUs combines the runs' per-SKU blocks: the target's figures are shared, so the largest
// is kept; lost sums (each run audits its own purchases); the earliest sell-out wins.
func mergeSKUs(runs []*Run) []SKUStats {
	var out []SKUStats
	for _, r := range runs {
		for _, k := range r.Summary.SKUs {
			i := slices.IndexFunc(out, func(o SKUStats) bool { return o.SKU == k.SKU })
			if i < 0 {
				k.Lost = 0
				out = append(out, k)
				i = len(out) - 1
			} else {
				m := &out[i]
				m.Stock, m.Sold, m.Paid, m.Released = max(m.Stock, k.Stock), max(m.Sold, k.Sold), max(m.Paid, k.Paid), max(m.Released, k.Released)
				m.Oversold, m.Left, m.Flash = max(m.Oversold, k.Oversold), min(m.Left, k.Left), m.Flash || k.Flash
				if k.SoldOutAtS != nil && (m.SoldOutAtS == nil || *k.SoldOutAtS < *m.SoldOutAtS) {
					m.SoldOutAtS = k.SoldOutAtS
				}
			}
			out[i].Lost += k.Lost
		}
	}
	SortSKUs(out)
	return out
}

func addRequests(dst, src *Requests) {
	dst.Total += src.Total
	dst.Arrivals += src.Arrivals
	dst.OK += src.OK
	dst.Failed += src.Failed
	dst.Errors += src.Errors
	dst.Shed += src.Shed
	dst.Dropped += src.Dropped
	dst.Retries += src.Retries
	addMap(&dst.ByStatus, src.ByStatus)
	addMap(&dst.ByCode, src.ByCode)
	addMap(&dst.ByError, src.ByError)
	addMap(&dst.ByStep, src.ByStep)
	addMap(&dst.ByJourney, src.ByJourney)
	addMap(&dst.DroppedBy, src.DroppedBy)
}

func addMap(dst *map[string]int64, src map[string]int64) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = map[string]int64{}
	}
	for k, v := range src {
		(*dst)[k] += v
	}
}

func mergeAudit(dst, src *Audit) {
	dst.Checked = dst.Checked && src.Checked
	if !src.Checked && dst.Error == "" {
		dst.Error = src.Error
	}
	dst.Unknown += src.Unknown
	dst.Stock = max(dst.Stock, src.Stock)
	dst.Sold = max(dst.Sold, src.Sold)
	dst.Paid = max(dst.Paid, src.Paid)
	dst.Released = max(dst.Released, src.Released)
	dst.Oversold = max(dst.Oversold, src.Oversold)
	dst.Duplicates = max(dst.Duplicates, src.Duplicates)
	dst.Undersold = max(dst.Undersold, src.Undersold)
	dst.Lost += src.Lost
	dst.Unexpected = min(dst.Unexpected, src.Unexpected)
	for _, v := range src.Violations {
		if !slices.Contains(dst.Violations, v) {
			dst.Violations = append(dst.Violations, v)
		}
	}
}

// mergeTimelines aligns the runs' timelines by window index and recomputes the rates and
// percentiles of each window from the merged histograms.
func mergeTimelines(runs []*Run, wins map[int64]*WindowHist, s *Summary) []TimelinePoint {
	win := runs[0].Window
	if win <= 0 {
		return []TimelinePoint{}
	}
	byIdx := map[int64]*TimelinePoint{}
	seen := map[int64]bool{}
	var last int64 = -1
	for _, r := range runs {
		for _, p := range r.Summary.Timeline {
			idx := int64(math.Round(p.Wall / win.Seconds()))
			last = max(last, idx)
			m := byIdx[idx]
			if m == nil {
				m = &TimelinePoint{T: p.T, Wall: p.Wall, Replicas: p.Replicas, StockLeft: p.StockLeft}
				byIdx[idx] = m
			}
			for k, v := range p.SKULeft {
				if m.SKULeft == nil {
					m.SKULeft = map[string]int64{}
				}
				if old, ok := m.SKULeft[k]; !ok || v < old {
					m.SKULeft[k] = v
				}
			}
			m.TargetRPS += p.TargetRPS
			m.Requests += p.Requests
			m.Arrivals += p.Arrivals
			m.Errors += p.Errors
			m.Shed += p.Shed
			m.Dropped += p.Dropped
			m.Replicas = max(m.Replicas, p.Replicas)
			for k, v := range p.ByReplica {
				if m.ByReplica == nil {
					m.ByReplica = map[string]int64{}
				}
				m.ByReplica[k] += v
			}
			if seen[idx] {
				m.StockLeft = min(m.StockLeft, p.StockLeft)
			}
			seen[idx] = true
		}
	}
	out := make([]TimelinePoint, 0, last+1)
	end := time.Duration(s.DurationS * float64(time.Second))
	for idx := int64(0); idx <= last; idx++ {
		p := byIdx[idx]
		if p == nil {
			p = &TimelinePoint{Wall: (time.Duration(idx) * win).Seconds()}
		}
		start := time.Duration(idx) * win
		stop := min(start+win, end)
		if stop <= start {
			stop = start + win
		}
		p.AchievedRPS = float64(achieved(p.Requests, p.Arrivals, s.Requests.Arrivals > 0)) / (stop - start).Seconds()
		if w := wins[idx]; w != nil && w.Latency.TotalCount() > 0 {
			p.P50Ms = usToMs(w.Latency.ValueAtPercentile(50))
			p.P99Ms = usToMs(w.Latency.ValueAtPercentile(99))
		}
		out = append(out, *p)
	}
	return out
}
