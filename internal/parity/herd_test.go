package parity

import (
	"math"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// TestParityHerd plays the bundled countdown at about a thousand watchers, live and simulated:
// the opening reaches the herd at the same moment (within 250 ms: the live push latency on a
// busy machine, against the model's fan-out), and the herd's purchases in the first second agree
// within the Poisson tolerance of the step counts (tolerance: 8 + 4·√n).
func TestParityHerd(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a thousand connections live")
	}
	s, err := scenario.Load("countdown")
	if err != nil {
		t.Fatal(err)
	}
	po := prepareParity(t, s, 4*time.Second)
	po.RateScale *= 1000.0 / parityArrivals // about a thousand watchers, a few dozen curve arrivals
	live, simulated := compareStepAnswers(t, s, po)
	lh, sh := live.Herd, simulated.Herd
	if lh == nil || sh == nil {
		t.Fatalf("herd live %+v, sim %+v", lh, sh)
	}
	t.Logf("live %+v\nsim  %+v", *lh, *sh)
	if lh.Watchers != sh.Watchers || lh.Watchers < 900 {
		t.Errorf("watchers live %d, sim %d, want the same ~1000", lh.Watchers, sh.Watchers)
	}
	if math.Abs(lh.OpenedAtS-sh.OpenedAtS) > 0.25 {
		t.Errorf("opening received live at %.3fs, simulated at %.3fs", lh.OpenedAtS, sh.OpenedAtS)
	}
	if a, b := lh.PurchasesFirst, sh.PurchasesFirst; math.Abs(float64(a-b)) > tolerance(a, b) || a == 0 {
		t.Errorf("herd purchases in the first second: live %d, sim %d (tolerance %.0f)", a, b, tolerance(a, b))
	}
}
