package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flashload/flashload/result"
)

// scaledFixture gives the fixture's live run and prediction autoscaler decisions every 15 s of scenario
// time: the live fleet one period behind the prediction on the way up.
func scaledFixture(t *testing.T) (*result.Run, *result.Summary) {
	t.Helper()
	tr := func(desired ...int) []result.ScalePoint {
		out := make([]result.ScalePoint, len(desired))
		for i, d := range desired {
			out[i] = result.ScalePoint{T: float64(15 * (i + 1)), Util: 0.1 * float64(d), Ready: d, Desired: d}
		}
		return out
	}
	run := fixture("live", 1)
	pred := fixture("sim", 0.8).Summary
	run.Summary.Scale = tr(2, 2, 3, 5, 6, 6, 6, 3, 2)
	pred.Scale = tr(2, 3, 5, 6, 6, 6, 3, 2, 2)
	return run, pred
}

func TestGoldenScaled(t *testing.T) {
	run, pred := scaledFixture(t)
	var b bytes.Buffer
	if err := RehearsalText(&b, Rehearsal{Name: "ramp", Live: run.Summary, Played: pred, Full: pred, Report: "runs/x/report.html"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "rehearsal-scaled.txt", b.Bytes())
	if !strings.Contains(b.String(), "2→3→5→6→3→2") || !strings.Contains(b.String(), "±3, 15s") {
		t.Errorf("no replicas row comparing 2→3→5→6→3→2 with the prediction at ±3, 15s:\n%s", b.String())
	}
	b.Reset()
	pred.Scale = nil
	if err := Calibration(&b, run.Summary, pred); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "replicas (decisions)") {
		t.Errorf("the live decisions are left out without a predicted trace:\n%s", b.String())
	}
}
