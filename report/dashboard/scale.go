package dashboard

import (
	"strconv"
	"strings"

	"github.com/NimbleMarkets/ntcharts/sparkline"

	"github.com/flashload/flashload/result"
)

// scaleLines draws a live fleet's autoscaler decisions so far beside the simulator's prediction
// up to the same scenario time: one sparkline each, one column per decision, on one scale, with
// the latest desired replicas at the end. "" when the snapshot has no live decisions.
func (m model) scaleLines(w int) string {
	s, st := m.snap, m.st
	if len(s.Scale) == 0 {
		return ""
	}
	now := s.ScenarioT.Seconds()
	var pred []result.ScalePoint
	for _, p := range s.PredictedScale {
		if p.T <= now+1e-9 {
			pred = append(pred, p)
		}
	}
	top := 1
	for _, tr := range [][]result.ScalePoint{s.Scale, pred} {
		for _, p := range tr {
			top = max(top, p.Desired)
		}
	}
	const label = 10 // "predicted "
	var b strings.Builder
	line := func(name string, tr []result.ScalePoint) {
		last := "-"
		if len(tr) > 0 {
			last = strconv.Itoa(tr[len(tr)-1].Desired)
		}
		b.WriteString("\n" + st.dim.Render(name+strings.Repeat(" ", label-len(name))))
		sw := w - label - len(last) - 1
		if sw >= 4 && len(tr) > 0 {
			sp := sparkline.New(sw, 1, sparkline.WithStyle(st.spark), sparkline.WithNoAutoMaxValue(), sparkline.WithMaxValue(float64(top)))
			for _, p := range tr[max(0, len(tr)-sw):] {
				sp.Push(float64(p.Desired))
			}
			sp.Draw()
			b.WriteString(sp.View() + " ")
		}
		b.WriteString(last)
	}
	line("live", s.Scale)
	if len(s.PredictedScale) > 0 {
		line("predicted", pred)
	}
	return b.String()
}
