package report

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
	// MaxLagS is the longest time between a live decision and the nearest predicted decision
	// with the same desired replicas (scenario seconds); +Inf when the prediction never asks
	// for a count the live fleet asked for.
	MaxLagS float64
	// Misses are the live decisions with no predicted decision within one period that is
	// within one replica of it: zero means the traces agree within one replica and one period.
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
	tol := d.PeriodS + 1e-6
	for _, l := range live {
		d.Decisions++
		// The prediction's decision in force at l.T (its first before any decision).
		k := sort.Search(len(predicted), func(i int) bool { return predicted[i].T > l.T+1e-9 }) - 1
		p := predicted[max(k, 0)]
		if diff := abs(l.Desired - p.Desired); diff > d.MaxReplicas || d.Decisions == 1 {
			d.MaxReplicas, d.AtS = diff, l.T
		}
		lag, near := math.Inf(1), false
		for _, q := range predicted {
			dt := math.Abs(q.T - l.T)
			if q.Desired == l.Desired {
				lag = min(lag, dt)
			}
			if dt <= tol && abs(q.Desired-l.Desired) <= 1 {
				near = true
			}
		}
		d.MaxLagS = max(d.MaxLagS, lag)
		if !near {
			d.Misses++
		}
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
