package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
)

func TestFailFastDecidesOnlyWhatIsCertain(t *testing.T) {
	w, err := newFailFast([]string{"p(99) < 500ms", "error_rate < 1%", "availability >= 99.9%", "rate(pay_success) > 99%",
		"p(99){step:pay} < 1s", "oversold == 0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.checks) != 3 {
		t.Fatalf("%d checks, want p(99), error_rate and availability: %+v", len(w.checks), w.checks)
	}
	// 1000 answers so far, 5 of them at 500 ms: 1% of the most answers allows 10 when nothing
	// more comes, and fewer than that is no failure yet.
	w.add(outcome.Acknowledged, 201, 1000, 995)
	w.add(outcome.Acknowledged, 201, 500_000, 5)
	if w.doomed(time.Second, 0) {
		t.Fatalf("doomed by %s with 0.5%% slow answers", w.failed)
	}
	w.add(outcome.Acknowledged, 201, 600_000, 6) // 11 of 1006
	if w.doomed(time.Second, 100) {              // 11 ≤ 1% of 1106
		t.Fatalf("doomed by %s though 100 more answers could still pass it", w.failed)
	}
	if !w.doomed(2*time.Second, 0) || w.failed != "p(99) < 500ms" || w.at != 2*time.Second {
		t.Fatalf("not doomed by p(99) with 11 of 1006 slow and none to come: %q", w.failed)
	}

	// Availability: 2 errors in 1000 fail 99.9% only once at most 1000 answers remain... none.
	w2, _ := newFailFast([]string{"availability >= 99.9%", "error_rate < 0.5%"})
	w2.add(outcome.Acknowledged, 201, 1000, 998)
	w2.add(outcome.Error, 0, 5_000_000, 2)
	if w2.doomed(0, 1000) {
		t.Fatalf("doomed by %s with 2 errors and 1000 answers to come", w2.failed)
	}
	if !w2.doomed(0, 999) || w2.failed != "availability >= 99.9%" {
		t.Fatalf("availability not doomed: %q", w2.failed)
	}
	if _, err := newFailFast([]string{"p(99 < 1s"}); err == nil {
		t.Fatal("a bad gate parsed")
	}
	if w, _ := newFailFast([]string{"rate(pay_success) > 99%"}); w != nil {
		t.Fatal("a watcher with nothing to watch")
	}
}

// A run that fails its gate stops early with ErrGateFailed; the same run played to the end
// fails the same gate; a passing run is never stopped. Checked over a range of capacities, so
// fail-fast never changes a verdict.
func TestFailFastNeverChangesTheVerdict(t *testing.T) {
	s := mustParse(t, planScenario)
	stopped := 0
	for _, replicas := range []int{3, 4, 5, 6, 7, 9} {
		sc := *s
		sc.Model = withCapacity(s.Model, replicas, 0)
		full, err := Run(context.Background(), &sc, Options{Mode: ModeFluid})
		if err != nil {
			t.Fatal(err)
		}
		_, pass, err := result.EvaluateGates(full.Summary, s.Gates)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := Run(context.Background(), &sc, Options{Mode: ModeFluid, FailFast: s.Gates})
		if pass {
			if err != nil || fast.Summary.Partial || fast.Summary.Requests.Total != full.Summary.Requests.Total {
				t.Errorf("%d replicas pass, but fail-fast stopped the run: %v", replicas, err)
			}
			continue
		}
		if err == nil {
			continue // failing gates need not be decidable early
		}
		if !errors.Is(err, ErrGateFailed) || !fast.Summary.Partial || fast.Summary.DurationS >= full.Summary.DurationS {
			t.Errorf("%d replicas: err %v, partial %v, %.0f s of %.0f", replicas, err, fast.Summary.Partial,
				fast.Summary.DurationS, full.Summary.DurationS)
		}
		stopped++
	}
	if stopped == 0 {
		t.Fatal("no failing run was stopped early")
	}
}
