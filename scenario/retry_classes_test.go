package scenario

import (
	"strings"
	"testing"
)

// TestRetryOnErrorClasses: retry.on accepts statuses, codes and the no-answer error classes the
// engine retries on, and still rejects anything else.
func TestRetryOnErrorClasses(t *testing.T) {
	src := `name: r
skus: [{sku: a, stock: 1, price: 1}]
traffic: {start_rps: 1, stages: [{duration: 1s, rps: 1}]}
journeys: [{name: j, steps: [{purchase: {sku: a, retry: {on: [ON], max: 2}}}]}]
`
	for _, on := range []string{"503", "SHED", "timeout", "reset", "refused", "bad_answer", "other", "error"} {
		if _, err := Parse("r.yaml", []byte(strings.Replace(src, "ON", on, 1))); err != nil {
			t.Errorf("retry on %s: %v", on, err)
		}
	}
	for _, on := range []string{"timeouts", "Shed", "99"} {
		if _, err := Parse("r.yaml", []byte(strings.Replace(src, "ON", on, 1))); err == nil {
			t.Errorf("retry on %s: accepted, want an error", on)
		}
	}
}
