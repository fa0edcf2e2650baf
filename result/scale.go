package result

import (
	"math"
	"sort"
)

// ScaleDiff is how far a live autoscaler's decisions are from a prediction's (Summary.Scale of
// a live fleet and of its played simulation), decision by live decision.
type ScaleDiff struct {
	Decisions int     // live decisions compared
	PeriodS   float64 // the prediction's period (scenario seconds between decisions); 0: unknown
	// MaxReplicas is the largest |live − predicted| desired replicas at a live decision (the
	// prediction's decision at or before it), at scenario time AtS.
	MaxReplicas int
	AtS         float64
	// MaxLagS is the longest time from a live decision to the nearest predicted decision within
	// one replica of it (scenario seconds, in whole periods: a live decision is matched to the
	// prediction's nearest in time, so a live autoscaler's tick jitter does not count); +Inf
	// when the prediction never comes within one replica.
	MaxLagS float64
	// Misses are the live decisions whose lag is more than one period: zero means the traces
	// agree within one replica and one period at every decision.
	Misses int
}

// Agree says whether every live decision has a predicted one within one period and one replica.
func (d ScaleDiff) Agree() bool { return d.Decisions > 0 && d.Misses == 0 }

// CompareScale compares the live decisions with the predicted ones. Both are in scenario time,
// oldest first. With no prediction or no live decision it returns a zero ScaleDiff.
func CompareScale(live, predicted []ScalePoint) ScaleDiff {
	var d ScaleDiff
	if len(live) == 0 || len(predicted) == 0 {
		return d
	}
	if len(predicted) > 1 {
		d.PeriodS = predicted[1].T - predicted[0].T
	}
	for _, l := range live {
		d.Decisions++
		// The prediction's decision in force at l.T (its first before any decision).
		k := sort.Search(len(predicted), func(i int) bool { return predicted[i].T > l.T+1e-9 }) - 1
		p := predicted[max(k, 0)]
		if diff := abs(l.Desired - p.Desired); diff > d.MaxReplicas || d.Decisions == 1 {
			d.MaxReplicas, d.AtS = diff, l.T
		}
		// The lag, in periods from the prediction's decision nearest in time.
		if k+1 < len(predicted) && (k < 0 || predicted[k+1].T-l.T < l.T-predicted[k].T) {
			k++
		}
		k = max(k, 0)
		lag := math.Inf(1)
		for i, q := range predicted {
			if abs(q.Desired-l.Desired) <= 1 {
				lag = min(lag, float64(abs(i-k)))
			}
		}
		if lag > 1 {
			d.Misses++
		}
		d.MaxLagS = max(d.MaxLagS, lag*d.PeriodS)
	}
	return d
}

// ScaleLevels is the trace's desired replicas with repeats removed: 2, 4, 6, 3, 2.
func ScaleLevels(tr []ScalePoint) []int {
	var out []int
	for _, p := range tr {
		if len(out) == 0 || out[len(out)-1] != p.Desired {
			out = append(out, p.Desired)
		}
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
