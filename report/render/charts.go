package render

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/flashload/flashload/result"
)

// chartSeries is one line of a chart; predicted lines are drawn dashed.
type chartSeries struct {
	name      string
	xy        plotter.XYs
	predicted bool
}

// chartSpec is one time chart of the result.
type chartSpec struct {
	id, title, ylabel, note string
	series                  []chartSeries
	faults                  []result.Fault // shaded over their spans (time charts of a live run)
}

// hasData drops the series that are zero everywhere (a live run's replicas when the target
// reports none) and says whether any is left: a chart of nothing is left out of the result.
func (sp *chartSpec) hasData() bool {
	kept := sp.series[:0]
	for _, se := range sp.series {
		for _, p := range se.xy {
			if p.Y != 0 {
				kept = append(kept, se)
				break
			}
		}
	}
	sp.series = kept
	return len(kept) > 0
}

// maxTitles bounds the hover points per series, so a day's timeline keeps the file small.
const maxTitles = 240

// draw renders the chart as SVG with a <title> on its points (every point up to maxTitles per
// series), so a browser shows the values on hover. div is the x axis' seconds per unit.
func (sp *chartSpec) draw(xlabel string, div float64) (Chart, error) {
	p := newPlot(xlabel, sp.ylabel)
	for i, se := range sp.series {
		if err := addLine(p, sp.title+", "+se.name, se.xy, i, se.predicted); err != nil {
			return Chart{}, err
		}
	}
	headroom(p)
	unit := strings.TrimSuffix(strings.TrimPrefix(xlabel[strings.LastIndex(xlabel, "(")+1:], "("), ")")
	note := sp.note
	if len(sp.faults) > 0 {
		note = strings.TrimSpace(note + " Shaded: the faults, over the time each was in effect (a line: an instant fault); hover for each.")
	}
	svg, err := svgWithTitles(p, func(dc draw.Canvas, b *bytes.Buffer) {
		shadeFaults(b, dc, p, sp.faults, div, unit)
		for _, se := range sp.series {
			step := max(1, (len(se.xy)+maxTitles-1)/maxTitles)
			for i := 0; i < len(se.xy); i += step {
				pt := se.xy[i]
				x, y := dc.X(p.X.Norm(pt.X)), dc.Y(p.Y.Norm(pt.Y))
				fmt.Fprintf(b, `<circle cx="%.2f" cy="%.2f" r="3" style="fill:transparent"><title>%s at %s %s: %s</title></circle>`+"\n",
					float64(x), float64(y), html.EscapeString(se.name), strconv.FormatFloat(pt.X, 'g', 5, 64), unit, strconv.FormatFloat(pt.Y, 'g', 6, 64))
			}
		}
	})
	return Chart{ID: sp.id, Title: sp.title, SVG: svg, Note: note}, err
}

// faultFill is the shade of a fault's span; an instant fault is a line of faultLine points.
const (
	faultFill    = "fill:rgb(214,39,40);fill-opacity:0.14"
	faultInstant = "fill:rgb(214,39,40);fill-opacity:0.7"
	faultLine    = 2.0
)

// shadeFaults writes a rectangle per fault over the chart's full height, from the moment it
// took effect to its end (div: seconds per x unit), clipped to the x range, with the fault as
// its hover title. Written before the points' titles, so those stay on top.
func shadeFaults(b *bytes.Buffer, dc draw.Canvas, p *plot.Plot, faults []result.Fault, div float64, unit string) {
	for _, f := range faults {
		from, to := f.Span()
		x0, x1 := math.Max(from/div, p.X.Min), math.Min(to/div, p.X.Max)
		if x0 > x1 {
			continue
		}
		l, r := float64(dc.X(p.X.Norm(x0))), float64(dc.X(p.X.Norm(x1)))
		style := faultFill
		if r-l < faultLine {
			l, r, style = l-faultLine/2, l+faultLine/2, faultInstant
		}
		y0, y1 := float64(dc.Min.Y), float64(dc.Max.Y)
		what := f.Kind
		if f.Detail != "" {
			what += " (" + f.Detail + ")"
		}
		state := "ok"
		if !f.OK {
			state = "failed: " + f.Error
		}
		fmt.Fprintf(b, `<rect class="fault" x="%.2f" y="%.2f" width="%.2f" height="%.2f" style="%s"><title>fault %s from %s to %s %s: %s</title></rect>`+"\n",
			l, math.Min(y0, y1), r-l, math.Abs(y1-y0), style, html.EscapeString(what),
			strconv.FormatFloat(from/div, 'g', 5, 64), strconv.FormatFloat(to/div, 'g', 5, 64), unit, html.EscapeString(state))
	}
}

// svgWithTitles renders p like svgOf, then lets titles write elements in the plot's data
// coordinates (points, in the flipped group vgsvg draws in) before the group closes.
func svgWithTitles(p *plot.Plot, titles func(draw.Canvas, *bytes.Buffer)) (template.HTML, error) {
	c := vgsvg.New(8*vg.Inch, 3.2*vg.Inch)
	dc := draw.New(c)
	p.Draw(dc)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	out := b.String()
	if i := strings.Index(out, "<svg"); i >= 0 {
		out = out[i:]
	}
	if i := strings.LastIndex(out, "</g>"); i >= 0 {
		var t bytes.Buffer
		titles(p.DataCanvas(dc), &t)
		out = out[:i] + t.String() + out[i:]
	}
	return template.HTML(out), nil //nolint:gosec // produced by vgsvg from numbers, and titles escaped
}

// stockSpecs are the stock charts: one per SKU, each on its own scale, with the sell-out moment
// marked (measured, and predicted when drawn beside); without per-SKU readings, the total.
func stockSpecs(s, predicted *result.Summary, skuXY func([]result.TimelinePoint, string) plotter.XYs,
	xs func([]result.TimelinePoint, func(result.TimelinePoint) float64) plotter.XYs, div float64) []chartSpec {
	perSKU := false
	for _, p := range s.Timeline {
		if len(p.SKULeft) > 0 {
			perSKU = true
			break
		}
	}
	if !perSKU || len(s.SKUs) == 0 {
		sp := chartSpec{id: "stock", title: "Stock left", ylabel: "units", series: []chartSeries{
			{"stock left", xs(s.Timeline, func(p result.TimelinePoint) float64 { return float64(p.StockLeft) }), false}}}
		if predicted != nil && len(predicted.Timeline) > 0 {
			sp.series = append(sp.series, chartSeries{"predicted", xs(predicted.Timeline, func(p result.TimelinePoint) float64 { return float64(p.StockLeft) }), true})
		}
		return []chartSpec{sp}
	}
	var out []chartSpec
	for _, k := range s.SKUs {
		if k.Stock <= 0 {
			continue // unlimited
		}
		sp := chartSpec{id: "stock-" + k.SKU, title: "Stock left: " + k.SKU, ylabel: "units",
			series: []chartSeries{{"stock left", skuXY(s.Timeline, k.SKU), false}}}
		if predicted != nil && len(predicted.Timeline) > 0 {
			sp.series = append(sp.series, chartSeries{"predicted", skuXY(predicted.Timeline, k.SKU), true})
		}
		if k.SoldOutAtS != nil {
			x := *k.SoldOutAtS / div
			sp.series = append(sp.series, chartSeries{"sold out", plotter.XYs{{X: x, Y: 0}, {X: x, Y: float64(k.Stock)}}, false})
			sp.note = "sold out at " + dur(*k.SoldOutAtS) + " of scenario time"
		}
		out = append(out, sp)
	}
	return out
}
