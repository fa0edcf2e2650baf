package report

import (
	"math"
	"strconv"
)

// Outcome is how the Recorder counts one Result.
type Outcome uint8

const (
	OutcomeOK    Outcome = iota // an answer the journey can act on, including business refusals (SOLD_OUT, LIMIT_EXCEEDED)
	OutcomeError                // no answer, a 5xx other than shedding, or a 4xx without a JSON code (or BAD_REQUEST)
	OutcomeShed                 // the service refused for load: code SHED or RATE_LIMITED, or status 503/429
)

// Classify decides a Result's outcome. Clients classify by JSON code first, since fasthttp
// itself may answer 503/429 in plain text.
func Classify(r *Result) Outcome {
	switch {
	case r.Code == "SHED" || r.Code == "RATE_LIMITED" || r.Status == 503 || r.Status == 429:
		return OutcomeShed
	case r.Err != ErrNone || r.Status == 0 || r.Status >= 500:
		return OutcomeError
	case r.Status >= 400 && (r.Code == "" || r.Code == "BAD_REQUEST"):
		return OutcomeError
	}
	return OutcomeOK
}

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
