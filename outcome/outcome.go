// Package outcome is the vocabulary of answers: what one answer means for a journey, its
// retries, the audit and the counters, and why a request got no answer. Scenario files name
// these values in classify rules; both engines decide by them; the result model counts them.
package outcome

import (
	"strconv"

	"github.com/flashload/flashload/internal/codes"
)

// ErrorClass says why a request got no answer, or no usable one. The zero value means it got one.
type ErrorClass string

const (
	ErrNone      ErrorClass = ""
	ErrRefused   ErrorClass = "refused"    // connection refused
	ErrTimeout   ErrorClass = "timeout"    // no answer in time (dial, write or read)
	ErrReset     ErrorClass = "reset"      // connection reset or closed mid-request
	ErrBadAnswer ErrorClass = "bad_answer" // an answer that could not be parsed or classified
	ErrOther     ErrorClass = "other"
)

// Outcome is what one answer means, and what a step's last answer (after its retries) means:
// the Recorder counts Results by it, journeys and retries act on it, and the live engine's audit
// keeps it per purchase attempt. It is the one outcome type of the project: classify rules
// (scenario) name these values, the engine and the simulator decide by them.
type Outcome uint8

const (
	Unknown      Outcome = iota // no usable answer: a timeout, a reset, a 5xx other than shedding; it may or may not have happened
	Acknowledged                // it happened: RESERVED (or its replay), PAID, JOINED, any 2xx
	SoldOut                     // a definite no: out of stock (SOLD_OUT)
	Limited                     // a definite no: a per-user limit (LIMIT_EXCEEDED)
	Refused                     // another definite no the journey can act on (NOT_STARTED, SALE_ENDED, KEY_REUSED, ...)
	Pending                     // an answer, but the key's first request is still being served (IN_FLIGHT): the purchase is unknown
	Shed                        // refused for load before any work (SHED, RATE_LIMITED, 429, 503): the retryable no
	Error                       // the request itself failed for sure: connection refused, a 4xx without a code, BAD_REQUEST
)

var outcomeNames = [...]string{"unknown", "acknowledged", "sold_out", "limited", "refused", "pending", "shed", "error"}

// String is the outcome's name in scenario files (classify rules): "acknowledged", "shed", ...
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Parse reads an outcome's name.
func Parse(s string) (Outcome, bool) {
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
	case SoldOut, Limited, Refused, Shed, Error:
		return true
	}
	return false
}

// Errored reports an outcome the Recorder counts as an error (requests.errors).
func (o Outcome) Errored() bool { return o == Unknown || o == Error }

// Of is what an answer of flashload's target means, by its JSON code first (fasthttp
// itself may answer 503/429 in plain text), then by its status. errc is the error class when
// there was no answer.
func Of(status int, code string, errc ErrorClass) Outcome {
	if errc != ErrNone {
		if errc == ErrRefused {
			return Error // nothing reached the service
		}
		return Unknown
	}
	switch code {
	case codes.Shed, codes.RateLimited:
		return Shed
	case codes.Reserved, codes.Joined, codes.GroupCreated, codes.OK:
		return Acknowledged
	case codes.InFlight, codes.Pending:
		return Pending
	case codes.SoldOut:
		return SoldOut
	case codes.LimitExceeded:
		return Limited
	case codes.BadRequest:
		return Error
	}
	switch {
	case status == 0:
		return Unknown
	case status == 429 || (status == 503 && code == ""):
		return Shed
	case status >= 500:
		return Unknown // STORE_UNAVAILABLE, FAULT: the work may have been done
	case status >= 200 && status < 300:
		return Acknowledged
	case status >= 400 && code == "":
		return Error
	}
	return Refused
}
