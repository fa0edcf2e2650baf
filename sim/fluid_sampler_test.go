package sim

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// The samples drawn on the sampler's goroutine are the samples drawn inline: the same seed gives
// the same summary (counts, histograms, timeline) and the same step timelines, to the byte.
func TestSamplerDrawsWhatInlineDraws(t *testing.T) {
	s, err := scenario.Load("double-eleven")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	play := func(inline bool) ([]byte, []byte) {
		sm, err := Prepare(s, Options{Mode: ModeFluid, Tick: 20 * time.Second, StartedAt: at, inlineSamples: inline})
		if err != nil {
			t.Fatal(err)
		}
		run, err := sm.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := json.Marshal(run.Summary)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := json.Marshal(sm.StepLatency())
		if err != nil {
			t.Fatal(err)
		}
		return sum, steps
	}
	sum0, steps0 := play(true)
	sum1, steps1 := play(false)
	if string(sum0) != string(sum1) {
		t.Errorf("the summaries differ: inline %d bytes, sampler %d bytes", len(sum0), len(sum1))
	}
	if string(steps0) != string(steps1) {
		t.Errorf("the step timelines differ")
	}
	var sum struct {
		Requests struct{ Total int64 }
	}
	if err := json.Unmarshal(sum1, &sum); err != nil || sum.Requests.Total == 0 {
		t.Fatalf("nothing was played: %v", err)
	}
}
