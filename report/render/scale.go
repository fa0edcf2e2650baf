package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flashload/flashload/result"
)

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
