package result

import (
	"context"
	"errors"
	"testing"
)

// A target that holds its gates up to 733/s: the search brackets it within the precision,
// never reports a failing rate, and records every step.
func TestFindCapacityBrackets(t *testing.T) {
	for _, start := range []float64{50, 700, 733, 5000} {
		var played []float64
		c, best, err := FindCapacity(context.Background(), CapacitySearch{Start: start, Precision: 0.02,
			Try: func(_ context.Context, rate float64) (*Summary, bool, error) {
				played = append(played, rate)
				s := &Summary{LatencyMs: Percentiles{P99: rate / 10}, Requests: Requests{Total: 100}}
				return s, rate <= 733, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxRate > 733 || c.MaxRate < 733*0.98 {
			t.Errorf("start %g: max rate %g, want in [%g, 733]", start, c.MaxRate, 733*0.98)
		}
		if best == nil || best.LatencyMs.P99 != c.MaxRate/10 {
			t.Errorf("start %g: best summary %+v is not the max rate's", start, best)
		}
		if len(c.Steps) != len(played) {
			t.Fatalf("%d steps recorded, %d played", len(c.Steps), len(played))
		}
		for i, st := range c.Steps {
			if st.Rate != played[i] || st.Pass != (st.Rate <= 733) || st.P99Ms != st.Rate/10 {
				t.Errorf("start %g: step %d %+v", start, i, st)
			}
		}
	}
}

func TestFindCapacityNothingPasses(t *testing.T) {
	_, _, err := FindCapacity(context.Background(), CapacitySearch{Start: 100, MaxSteps: 6,
		Try: func(context.Context, float64) (*Summary, bool, error) { return &Summary{}, false, nil }})
	if !errors.Is(err, ErrNoPassingRate) {
		t.Fatalf("err %v, want ErrNoPassingRate", err)
	}
	if _, _, err := FindCapacity(context.Background(), CapacitySearch{Start: 0}); err == nil {
		t.Fatal("start 0 accepted")
	}
}
