package scenario

import (
	"strconv"
	"strings"
	"time"

	"github.com/flashload/flashload/outcome"
)

// The journey rules: what an answer means, whether a step tries again, how long it waits, and
// whether the journey goes on. They are compiled once per step (StepRules) and applied alike by
// the live engine (engine) and the simulator (sim): a scenario retries and ends its
// journeys the same way whichever engine plays it.

// MaxDoublings caps the backoff's doubling: retry n waits Backoff × 2^min(n−1, MaxDoublings).
const MaxDoublings = 10

// RetryRule is a step's `retry`, compiled: the statuses, codes and error classes it retries on,
// how many times, and how long it waits.
type RetryRule struct {
	Max      int           // retries after the first attempt
	Backoff  time.Duration // the first retry's wait; 0 (or none in the file): retry at once
	Jitter   time.Duration // up to this much random extra per retry
	statuses []int
	codes    []string
	errs     []outcome.ErrorClass
}

// errorClasses are the error classes `retry.on` may name; "error" names all of them.
var errorClasses = []outcome.ErrorClass{outcome.ErrTimeout, outcome.ErrRefused, outcome.ErrReset, outcome.ErrBadAnswer, outcome.ErrOther}

// CompileRetry compiles a step's retry (validated by Parse); nil when it retries nothing.
func CompileRetry(rt *Retry) *RetryRule {
	if rt == nil || rt.Max <= 0 {
		return nil
	}
	r := &RetryRule{Max: rt.Max, Backoff: max(rt.Backoff.D(), 0), Jitter: max(rt.Jitter.D(), 0)}
	for _, o := range rt.On {
		o = strings.TrimSpace(o)
		if n, err := strconv.Atoi(o); err == nil {
			r.statuses = append(r.statuses, n)
			continue
		}
		switch c := outcome.ErrorClass(strings.ToLower(o)); {
		case c == "error" || c == "errors":
			r.errs = append(r.errs, errorClasses...)
		case retryErrorClasses[string(c)]:
			r.errs = append(r.errs, c)
		default:
			r.codes = append(r.codes, strings.ToUpper(o))
		}
	}
	return r
}

// Matches reports whether `on` names this answer: its status or its JSON code, or, when there
// was no answer, its error class (a timeout has no status: `on: [504]` does not retry it).
func (r *RetryRule) Matches(status int, code string, errc outcome.ErrorClass) bool {
	if r == nil {
		return false
	}
	if errc != outcome.ErrNone {
		for _, e := range r.errs {
			if e == errc {
				return true
			}
		}
		return false
	}
	for _, s := range r.statuses {
		if s == status {
			return true
		}
	}
	if code != "" {
		for _, c := range r.codes {
			if c == code {
				return true
			}
		}
	}
	return false
}

// Delay is the wait before retry n (1-based): Backoff doubled at each retry (at most
// 2^MaxDoublings times), plus u·Jitter (u ∈ [0, 1) from the seed), and never less than the
// answer's Retry-After. It runs on the run's clock from the answer (or the timeout): like
// Retry-After, a backoff is the client's real wait and is not compressed.
func (r *RetryRule) Delay(n int, u float64, retryAfter time.Duration) time.Duration {
	d := r.Backoff << min(max(n-1, 0), MaxDoublings)
	d += time.Duration(u * float64(r.Jitter))
	return max(d, retryAfter)
}

// StepRules are one step's journey rules.
type StepRules struct {
	Retry        *RetryRule  // nil: no retries
	Classify     *Classifier // a request step's classify rules; nil: outcome.Of (flashload's target)
	Purchase     bool        // a purchase attempt (the preset, or a request with purchase: true)
	IgnoreLimits bool        // a bot that keeps buying after a refusal
}

// NewStepRules compiles the rules of a step.
func NewStepRules(st *Step) StepRules {
	switch {
	case st.Purchase != nil:
		return StepRules{Retry: CompileRetry(st.Purchase.Retry), Purchase: true, IgnoreLimits: st.Purchase.IgnoreLimits}
	case st.Request != nil:
		r := StepRules{Retry: CompileRetry(st.Request.Retry), Purchase: st.Request.Purchase}
		if len(st.Request.Classify) > 0 {
			r.Classify = NewClassifier(st.Request.Classify)
		}
		return r
	}
	return StepRules{}
}

// Outcome is what an answer means for this step: by its classify rules when it has some and got
// an answer, else by flashload's target's codes (outcome.Of).
func (r *StepRules) Outcome(status int, code string, errc outcome.ErrorClass, body []byte) outcome.Outcome {
	if r.Classify != nil && errc == outcome.ErrNone {
		return r.Classify.Classify(status, body)
	}
	return outcome.Of(status, code, errc)
}

// ModelOutcome is what a modelled answer means: the simulator's answers carry flashload's
// target's codes and no body, so classify rules (which read bodies) give way to the codes.
func (r *StepRules) ModelOutcome(status int, code string, errc outcome.ErrorClass) outcome.Outcome {
	return outcome.Of(status, code, errc)
}

// Again reports whether the step sends another attempt after an answer, when retries attempts
// followed its first one already: retries remain, `on` names the answer, and it was not
// acknowledged (a success is never sent twice).
func (r *StepRules) Again(retries int, status int, code string, errc outcome.ErrorClass, o outcome.Outcome) bool {
	return r.Retry != nil && retries < r.Retry.Max && o != outcome.Acknowledged && r.Retry.Matches(status, code, errc)
}

// EndsJourney reports whether a step's final outcome (after its retries) ends the journey: a
// purchase refused for sure leaves nothing to pay or cancel, unless it is a bot's that ignores
// limits.
func (r *StepRules) EndsJourney(o outcome.Outcome) bool {
	return r.Purchase && !r.IgnoreLimits && o.Rejected()
}
