package report

import (
	"math"
	"strconv"

	"github.com/flashload/flashload/internal/codes"
)

// Outcome is what one answer means, and what a step's last answer (after its retries) means:
// the Recorder counts Results by it, journeys and retries act on it, and the live engine's audit
// keeps it per purchase attempt. It is the one outcome type of the project: classify rules
// (scenario) name these values, the engine and the simulator decide by them.
type Outcome uint8

const (
	OutcomeUnknown      Outcome = iota // no usable answer: a timeout, a reset, a 5xx other than shedding; it may or may not have happened
	OutcomeAcknowledged                // it happened: RESERVED (or its replay), PAID, JOINED, any 2xx
	OutcomeSoldOut                     // a definite no: out of stock (SOLD_OUT)
	OutcomeLimited                     // a definite no: a per-user limit (LIMIT_EXCEEDED)
	OutcomeRefused                     // another definite no the journey can act on (NOT_STARTED, SALE_ENDED, KEY_REUSED, ...)
	OutcomePending                     // an answer, but the key's first request is still being served (IN_FLIGHT): the purchase is unknown
	OutcomeShed                        // refused for load before any work (SHED, RATE_LIMITED, 429, 503): the retryable no
	OutcomeError                       // the request itself failed for sure: connection refused, a 4xx without a code, BAD_REQUEST
)

var outcomeNames = [...]string{"unknown", "acknowledged", "sold_out", "limited", "refused", "pending", "shed", "error"}

// String is the outcome's name in scenario files (classify rules): "acknowledged", "shed", ...
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// ParseOutcome reads an outcome's name.
func ParseOutcome(s string) (Outcome, bool) {
	for i, n := range outcomeNames {
		if n == s {
			return Outcome(i), true
		}
	}
	return 0, false
}

// Rejected reports a definite no: the service did not and will not do it. A step whose retries
// are over on a load refusal (Shed) ends rejected too.
func (o Outcome) Rejected() bool {
	switch o {
	case OutcomeSoldOut, OutcomeLimited, OutcomeRefused, OutcomeShed, OutcomeError:
		return true
	}
	return false
}

// Errored reports an outcome the Recorder counts as an error (requests.errors).
func (o Outcome) Errored() bool { return o == OutcomeUnknown || o == OutcomeError }

// OutcomeOf is what an answer of flashload's target means, by its JSON code first (fasthttp
// itself may answer 503/429 in plain text), then by its status. errc is the error class when
// there was no answer.
func OutcomeOf(status int, code string, errc ErrorClass) Outcome {
	if errc != ErrNone {
		if errc == ErrRefused {
			return OutcomeError // nothing reached the service
		}
		return OutcomeUnknown
	}
	switch code {
	case codes.Shed, codes.RateLimited:
		return OutcomeShed
	case codes.Reserved, codes.Joined, codes.GroupCreated, codes.OK:
		return OutcomeAcknowledged
	case codes.InFlight, codes.Pending:
		return OutcomePending
	case codes.SoldOut:
		return OutcomeSoldOut
	case codes.LimitExceeded:
		return OutcomeLimited
	case codes.BadRequest:
		return OutcomeError
	}
	switch {
	case status == 0:
		return OutcomeUnknown
	case status == 429 || (status == 503 && code == ""):
		return OutcomeShed
	case status >= 500:
		return OutcomeUnknown // STORE_UNAVAILABLE, FAULT: the work may have been done
	case status >= 200 && status < 300:
		return OutcomeAcknowledged
	case status >= 400 && code == "":
		return OutcomeError
	}
	return OutcomeRefused
}

// Classify is how the Recorder counts a Result: OutcomeOf its status, code and error class.
// Requests.Shed also counts a 503 with another code (STORE_UNAVAILABLE), whose outcome is
// unknown: the service refused it, but may have done the work.
func Classify(r *Result) Outcome { return OutcomeOf(r.Status, r.Code, r.Err) }

// spectrum is the quantile set kept in Percentiles.Quantiles, besides the named fields.
var spectrum = []float64{25, 75, 95, 99.5, 99.95, 99.99, 99.999}

// quantileKey is the Quantiles key of a percentile: "95", "99.5".
func quantileKey(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

// Quantile returns the percentile q (0..100) in milliseconds when the summary holds it.
func (p Percentiles) Quantile(q float64) (float64, bool) {
	switch q {
	case 50:
		return p.P50, true
	case 90:
		return p.P90, true
	case 99:
		return p.P99, true
	case 99.9:
		return p.P999, true
	case 100:
		return p.Max, true
	}
	if v, ok := p.Quantiles[quantileKey(q)]; ok {
		return v, true
	}
	return math.NaN(), false
}
