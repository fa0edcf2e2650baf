package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/flashload/flashload/gate"
	"github.com/flashload/flashload/outcome"
)

// ErrGateFailed says a run stopped early because a gate (Options.FailFast) could no longer
// pass, whatever the rest of the run would have brought.
var ErrGateFailed = errors.New("a gate can no longer pass")

// failFast watches a run's gates while it plays. A gate on the whole run's counts can be
// decided before the end: its failing answers so far only grow, and the answers still to come
// are bounded (the arrivals left and the sessions in flight, each sending at most its journey's
// requests with every retry). When the failing answers so far exceed what the gate allows of
// that bound, no rest of the run can make it pass. Gates it cannot bound (tagged ones, rates,
// the audit, replicas) are left to the end.
type failFast struct {
	checks          []ffCheck
	total, ok, errs float64
	failed          string // the gate that can no longer pass
	at              time.Duration
}

type ffCheck struct {
	expr  string
	kind  uint8
	limit float64 // the share of answers allowed to fail the gate
	us    int64   // latency checks: answers at or above this many µs fail it
	slow  float64 // latency checks: such answers so far
}

const (
	ffLatency uint8 = iota
	ffErrorRate
	ffAvailability
)

// newFailFast returns the watcher of the gates it can bound, nil when there is none.
func newFailFast(exprs []string) (*failFast, error) {
	w := &failFast{}
	for _, e := range exprs {
		t, err := gate.Parse(e)
		if err != nil {
			return nil, err
		}
		if t.TagKey != "" {
			continue
		}
		c := ffCheck{expr: e}
		switch {
		case t.Metric == "p" && (t.Op == gate.OpLT || t.Op == gate.OpLE) && t.Quantile > 0 && t.Quantile < 100:
			// p(N) < X fails once more than (100−N)% of the answers took X or longer: fewer than
			// N% are left below X, so the N-th percentile is X or more. For <= the answers must
			// lie beyond X's histogram bucket (a bucket spans under 0.1% of its values).
			c.kind, c.limit = ffLatency, 1-t.Quantile/100
			c.us = int64(t.Bound*1000 + 0.999)
			if t.Op == gate.OpLE {
				c.us += c.us/1024 + 1
			}
		case t.Metric == "error_rate" && (t.Op == gate.OpLT || t.Op == gate.OpLE):
			c.kind, c.limit = ffErrorRate, t.Bound
		case t.Metric == "availability" && (t.Op == gate.OpGT || t.Op == gate.OpGE):
			c.kind, c.limit = ffAvailability, 1-t.Bound
		default:
			continue
		}
		w.checks = append(w.checks, c)
	}
	if len(w.checks) == 0 {
		return nil, nil
	}
	return w, nil
}

// add counts n answers of one outcome and latency (µs; service time is the same in the model).
func (w *failFast) add(o outcome.Outcome, status int, us int64, n float64) {
	w.total += n
	switch {
	case o == outcome.Shed || status == 503:
	case o.Errored():
		w.errs += n
	default:
		w.ok += n
	}
	for i := range w.checks {
		if c := &w.checks[i]; c.kind == ffLatency && us >= c.us {
			c.slow += n
		}
	}
}

// doomed says whether a gate can no longer pass when at most rest answers are still to come,
// and remembers which one and when.
func (w *failFast) doomed(now time.Duration, rest float64) bool {
	if w.failed != "" {
		return true
	}
	most := w.total + rest // the most answers the run can end with (the model drops none)
	for _, c := range w.checks {
		var bad float64
		switch c.kind {
		case ffLatency:
			bad = c.slow
		case ffErrorRate:
			bad = w.errs
		case ffAvailability:
			bad = w.total - w.ok
		}
		// Strictly beyond the allowed share of the most answers: the final share is at least
		// bad / most, so an error rate ends at or above it and an availability at or below
		// 1 − it. Both fail their gate.
		if bad > c.limit*most*(1+1e-9) { // the slack keeps a share parsed as 99.9% from failing at exactly 99.9%
			w.failed, w.at = c.expr, now
			return true
		}
	}
	return false
}

func (w *failFast) err() error {
	return fmt.Errorf("%w: %s (stopped at %s)", ErrGateFailed, w.failed, w.at)
}

// requestsBound is the most requests one arrival can send (a journey's request steps, each with
// every retry), on average over the journeys' weights, and at most for any one session.
func requestsBound(js []journey) (perArrival, perSession float64) {
	var w float64
	for _, j := range js {
		n := 0.0
		for i := range j.steps {
			if st := &j.steps[i]; st.kind >= 0 {
				n += float64(1 + st.maxRetries())
			}
		}
		perArrival += j.weight * n
		perSession = max(perSession, n)
		w += j.weight
	}
	if w > 0 {
		perArrival /= w
	}
	return perArrival, perSession
}
