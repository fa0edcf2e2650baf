package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"

	"github.com/flashload/flashload/result"
)

// scaleSpec is the chart of the autoscaler's decisions: the desired replicas at each decision of
// the live fleet and of the prediction (dashed), as steps over scenario time (div: seconds per
// unit of the axis). ok is false when the run has no decisions.
func scaleSpec(live, predicted *result.Summary, div float64) (chartSpec, bool) {
	if len(live.Scale) == 0 {
		return chartSpec{}, false
	}
	sp := chartSpec{id: "scale", title: "Replicas at each autoscaler decision (desired)", ylabel: "replicas",
		series: []chartSeries{{"live", scaleSteps(live.Scale, div), false}}}
	if predicted != nil && len(predicted.Scale) > 0 {
		sp.series = append(sp.series, chartSeries{"predicted", scaleSteps(predicted.Scale, div), true})
		sp.note = ScaleDiffText(result.CompareScale(live.Scale, predicted.Scale))
	}
	return sp, true
}

// scaleSteps draws a trace as a step line: each decision holds until the next.
func scaleSteps(tr []result.ScalePoint, div float64) plotter.XYs {
	out := make(plotter.XYs, 0, 2*len(tr))
	for i, p := range tr {
		if i > 0 {
			out = append(out, plotter.XY{X: p.T / div, Y: float64(tr[i-1].Desired)})
		}
		out = append(out, plotter.XY{X: p.T / div, Y: float64(p.Desired)})
	}
	return out
}

// ScaleLevelsText is a trace's levels of desired replicas: "2→4→6→2".
func ScaleLevelsText(tr []result.ScalePoint) string {
	lv := result.ScaleLevels(tr)
	parts := make([]string, len(lv))
	for i, n := range lv {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "→")
}

// ScaleDiffText says how far the live decisions are from the predicted ones, in words.
func ScaleDiffText(d result.ScaleDiff) string {
	if d.Decisions == 0 {
		return "no decisions to compare"
	}
	lag := "never the same"
	if !math.IsInf(d.MaxLagS, 1) {
		lag = dur(d.MaxLagS)
	}
	verdict := fmt.Sprintf("%d of %d decisions further than one replica and one period", d.Misses, d.Decisions)
	if d.Agree() {
		verdict = fmt.Sprintf("all %d decisions within one replica and one period", d.Decisions)
	}
	return fmt.Sprintf("max %d replica(s) apart (at %s), max lag %s (period %s): %s",
		d.MaxReplicas, dur(d.AtS), lag, dur(d.PeriodS), verdict)
}
