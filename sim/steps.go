package sim

import (
	"maps"
	"slices"
	"time"

	"github.com/flashload/flashload/result"
)

// StepWindow is one timeline window of one step's answered requests (status below 400): the
// "order processing latency" of a capacity table is the purchase step's.
type StepWindow struct {
	T      float64 // run-clock seconds at the window's start
	N      int64
	MeanMs float64
}

// stepSink passes results on and keeps, per step, the mean latency of answered requests per
// window.
type stepSink struct {
	sink
	win   time.Duration
	steps map[string][]stepAcc
}

type stepAcc struct {
	sum float64 // ms × n
	n   int64
}

func newStepSink(inner sink, win time.Duration) *stepSink {
	return &stepSink{sink: inner, win: win, steps: map[string][]stepAcc{}}
}

func (s *stepSink) RecordN(r *result.Result, n int64) {
	s.sink.RecordN(r, n)
	if r.Status == 0 || r.Status >= 400 || n <= 0 {
		return
	}
	s.add(r.Step, int64(r.Intended/s.win), float64(r.Done-r.Intended)/1e6*float64(n), n)
}

// add counts n answered requests of a step whose latencies sum to sumMs, in window idx.
func (s *stepSink) add(step string, idx int64, sumMs float64, n int64) {
	if n <= 0 || idx < 0 {
		return
	}
	acc := s.steps[step]
	if idx >= int64(len(acc)) {
		acc = append(acc, make([]stepAcc, idx+1-int64(len(acc)))...)
		s.steps[step] = acc
	}
	acc[idx].sum += sumMs
	acc[idx].n += n
}

func (s *stepSink) timelines() map[string][]StepWindow {
	out := map[string][]StepWindow{}
	for _, k := range slices.Sorted(maps.Keys(s.steps)) {
		for i, a := range s.steps[k] {
			w := StepWindow{T: (time.Duration(i) * s.win).Seconds(), N: a.n}
			if a.n > 0 {
				w.MeanMs = a.sum / float64(a.n)
			}
			out[k] = append(out[k], w)
		}
	}
	return out
}
