package result

import (
	"math"
	"strconv"

	"github.com/flashload/flashload/outcome"
)

// Classify is how the Recorder counts a Result: what the step's classify rules made of it when
// they read it, else outcome.Of its status, code and error class. Requests.Shed also counts an
// unclassified 503 with another code (STORE_UNAVAILABLE), whose outcome is unknown: the service
// refused it, but may have done the work.
func Classify(r *Result) outcome.Outcome {
	if r.Classified {
		return r.Outcome
	}
	return outcome.Of(r.Status, r.Code, r.Err)
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
