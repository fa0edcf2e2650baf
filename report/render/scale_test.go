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

func TestChartsScale(t *testing.T) {
	run, pred := scaledFixture(t)
	charts, err := Charts(run, pred)
	if err != nil {
		t.Fatal(err)
	}
	var c *Chart
	for i := range charts {
		if charts[i].ID == "scale" {
			c = &charts[i]
		}
	}
	if c == nil {
		t.Fatal("no scale chart")
	}
	svg := string(c.SVG)
	for _, want := range []string{"<title>live at", "<title>predicted at"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the scale chart has no %q series", want)
		}
	}
	if !strings.Contains(c.Note, "all 9 decisions within one replica and one period") {
		t.Errorf("note %q", c.Note)
	}
	run.Summary.Scale = nil
	charts, _ = Charts(run, pred)
	for _, c := range charts {
		if c.ID == "scale" {
			t.Error("a scale chart without live decisions")
		}
	}
}

// TestScaleSteps: a trace is drawn as steps, each decision held until the next.
func TestScaleSteps(t *testing.T) {
	xy := scaleSteps([]result.ScalePoint{{T: 15, Desired: 2}, {T: 30, Desired: 4}, {T: 45, Desired: 3}}, 15)
	want := [][2]float64{{1, 2}, {2, 2}, {2, 4}, {3, 4}, {3, 3}}
	if len(xy) != len(want) {
		t.Fatalf("%v, want %v", xy, want)
	}
	for i, w := range want {
		if xy[i].X != w[0] || xy[i].Y != w[1] {
			t.Fatalf("%v, want %v", xy, want)
		}
	}
}
