package render

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/flashload/flashload/traffic"
)

// TrafficImport writes what an import read and made: the counts, the unparseable lines it
// kept, where the history is out of order or has holes, and the curve's span and peak.
func TrafficImport(w io.Writer, imp *traffic.Import, elapsed time.Duration) error {
	ew := &errWriter{w: w}
	r := &imp.Report
	speed := ""
	if s := elapsed.Seconds(); s > 0 && r.Bytes > 0 {
		speed = fmt.Sprintf(", %.0f MB/s", float64(r.Bytes)/1e6/s)
	}
	ew.printf("read %s %s from %d file(s): %s lines, %.1f MB in %s%s\n", r.Format, "history", r.Files,
		Count(float64(r.Lines)), float64(r.Bytes)/1e6, elapsed.Round(time.Millisecond), speed)
	ew.printf("  counted %s records, %s requests; %s unparseable\n", Count(float64(r.Records)), Count(r.Requests), Count(float64(r.Bad)))
	for _, b := range r.BadSamples {
		ew.printf("    %s\n", b)
	}
	if r.Bad > int64(len(r.BadSamples)) {
		ew.printf("    (%s more not shown)\n", Count(float64(r.Bad-int64(len(r.BadSamples)))))
	}
	if r.OutOfOrder > 0 {
		ew.printf("  out of order: %s records; the first: %s\n", Count(float64(r.OutOfOrder)), r.FirstOutOfOrder)
	}
	if r.Duplicates > 0 {
		ew.printf("  duplicate times: %s rows (rates averaged, counts summed); the first: %s\n", Count(float64(r.Duplicates)), r.FirstDuplicate)
	}
	if r.GapCount > 0 {
		ew.printf("  gaps: %d\n", r.GapCount)
		for _, g := range r.Gaps {
			ew.printf("    %s\n", g)
		}
		if r.GapCount > len(r.Gaps) {
			ew.printf("    (%d more not shown)\n", r.GapCount-len(r.Gaps))
		}
	}
	if r.Filled > 0 {
		ew.printf("  %d intervals without data are interpolated in the curve\n", r.Filled)
	}
	s := imp.Series
	peak, at := s.Peak()
	ew.printf("curve: %d points at %s from %s to %s (%s); mean %s/s, peak %s/s at %s\n", s.Len(), traffic.FormatDuration(s.Step),
		s.Start.Format(time.RFC3339), s.End().Format(time.RFC3339), traffic.FormatDuration(s.Span()), Rate(s.Mean()), Rate(peak),
		s.At(max(at, 0)).Format(time.RFC3339))
	return ew.err
}

// TrafficMix writes the request mix: the top routes by share, with a suggested journey weight
// (the share in whole percent), and what the rest, the routes past the table's bound and the
// unreadable requests add up to.
func TrafficMix(w io.Writer, m *traffic.Mix, top int) error {
	ew := &errWriter{w: w}
	routes := m.Routes()
	ew.printf("request mix: %s requests, %d routes\n", Count(float64(m.Total)), len(routes))
	ew.printf("  %6s  %7s  %12s  %-7s  %s\n", "weight", "share", "requests", "method", "route")
	var shown int64
	for i, r := range routes {
		if i == top {
			break
		}
		shown += r.Count
		ew.printf("  %6.0f  %6.2f%%  %12s  %-7s  %s\n", r.Share*100, r.Share*100, Count(float64(r.Count)), r.Method, r.Path)
	}
	if rest := int64(0); len(routes) > top {
		for _, r := range routes[top:] {
			rest += r.Count
		}
		ew.printf("  %6s  %6.2f%%  %12s  %-7s  (%d more routes)\n", "", share(rest, m.Total), Count(float64(rest)), "", len(routes)-top)
	}
	if m.Other > 0 {
		ew.printf("  %6s  %6.2f%%  %12s  %-7s  (routes past the table's bound of %d)\n", "", share(m.Other, m.Total), Count(float64(m.Other)), "", len(routes))
	}
	if m.Invalid > 0 {
		ew.printf("  %6s  %6.2f%%  %12s  %-7s  (no readable request line)\n", "", share(m.Invalid, m.Total), Count(float64(m.Invalid)), "")
	}
	return ew.err
}

func share(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// TrafficModel writes what a fit found: the seasons, the trend, the past promotions and outages,
// and the decisions the fit took on its own.
func TrafficModel(w io.Writer, m *traffic.Model) error {
	ew := &errWriter{w: w}
	seasons := ""
	for i, p := range m.Seasons {
		if i > 0 {
			seasons += ","
		}
		seasons += traffic.FormatDuration(p)
	}
	ew.printf("model: %s of history at %s, seasons %s, daily swing ×%.2f (peak over trough), trend %+.2f%% a day\n",
		traffic.FormatDuration(m.End.Sub(m.Start)), traffic.FormatDuration(m.Step), seasons, m.SeasonalAmplitude(), 100*math.Expm1(m.Trend()))
	for _, n := range m.Notes {
		ew.printf("  %s\n", n)
	}
	for _, sp := range m.Spikes {
		ew.printf("  promotion spike at %s: %s long, peak ×%.1f at %s, %s extra requests\n", sp.Start.Format(time.RFC3339),
			traffic.FormatDuration(sp.Duration), sp.Uplift, sp.Peak.Format(time.RFC3339), Count(sp.Extra))
	}
	if m.Dips > 0 {
		ew.printf("  %d intervals far below the fit (outages?) left out of it\n", m.Dips)
	}
	return ew.err
}

// TrafficForecast writes a forecast: per quantile its file, mean and peak.
func TrafficForecast(w io.Writer, fc *traffic.Forecast, files []string) error {
	ew := &errWriter{w: w}
	ew.printf("forecast: %s from %s at %s\n", traffic.FormatDuration(time.Duration(len(fc.Bands[0]))*fc.Step),
		fc.Start.Format(time.RFC3339), traffic.FormatDuration(fc.Step))
	for k, q := range fc.Quantiles {
		s := fc.Series(k)
		peak, at := s.Peak()
		ew.printf("  %-6s mean %8s/s  peak %8s/s at %s  %s\n", traffic.QuantileName(q), Rate(s.Mean()), Rate(peak),
			s.At(max(at, 0)).Format(time.RFC3339), files[k])
	}
	return ew.err
}

// TrafficBacktest writes a backtest's verdict.
func TrafficBacktest(w io.Writer, r *traffic.BacktestResult) error {
	ew := &errWriter{w: w}
	verdict := "beats"
	if !r.BeatsBaseline {
		verdict = "does not beat"
	}
	lo, hi := r.Quantiles[0], r.Quantiles[len(r.Quantiles)-1]
	ew.printf("backtest: trained on %d points before %s, held out %s (%d points scored)\n", r.TrainPoints, r.Cut.Format(time.RFC3339), r.Holdout, r.Points)
	ew.printf("  WAPE %.2f%%, seasonal naive (%s earlier) %.2f%%: the forecast %s the baseline\n", 100*r.WAPE, r.Season, 100*r.SeasonalNaiveWAPE, verdict)
	ew.printf("  coverage of %s..%s: %.1f%% of points (nominal %.0f%%)\n", traffic.QuantileName(lo), traffic.QuantileName(hi), 100*r.Coverage, 100*r.NominalCoverage)
	return ew.err
}
