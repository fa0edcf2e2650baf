package traffic

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var monday = time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)

func week(n int) time.Duration { return time.Duration(n) * 7 * 24 * time.Hour }

// wapeAgainst is the WAPE of a curve against the noise-free truth of g.
func wapeAgainst(s Series, g Synthetic) float64 {
	var e, sum float64
	for i, v := range s.Values {
		truth := g.Rate(s.At(i).Add(s.Step / 2))
		e += math.Abs(v - truth)
		sum += truth
	}
	return e / sum
}

// A history with known seasons, trend and noise: the fit finds the trend, the forecast's p50
// follows the noise-free truth closely, beats the seasonal naive baseline, and its p10..p90
// band holds close to 80% of the held-out points.
func TestForecastRecoversSynthetic(t *testing.T) {
	cases := []struct {
		name string
		g    Synthetic
	}{
		{"flat", Synthetic{Start: monday, Mean: 100, Daily: 0.6, PeakHour: 20, Weekend: 1.3, Noise: 0.1}},
		{"growing", Synthetic{Start: monday, Mean: 100, Daily: 0.6, PeakHour: 20, Weekend: 1.3, TrendPerDay: 0.01, Noise: 0.1}},
		{"quiet weekends", Synthetic{Start: monday, Mean: 40, Daily: 0.9, PeakHour: 11, Weekend: 0.5, TrendPerDay: -0.005, Noise: 0.05}},
	}
	for _, c := range cases {
		var cover, wape, naive, truth float64
		const seeds = 3
		for seed := uint64(1); seed <= seeds; seed++ {
			s := c.g.Series(15*time.Minute, week(5), seed)
			m, err := Fit(s.Slice(0, s.Len()-int(week(1)/s.Step)), FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Trend(); math.Abs(got-c.g.TrendPerDay) > 0.003 {
				t.Errorf("%s seed %d: trend %.4f a day, want %.4f", c.name, seed, got, c.g.TrendPerDay)
			}
			r, fc, err := Backtest(s, BacktestOptions{Holdout: week(1), Forecast: ForecastOptions{Quantiles: []float64{0.1, 0.5, 0.9}}})
			if err != nil {
				t.Fatal(err)
			}
			cover += r.Coverage / seeds
			wape += r.WAPE / seeds
			naive += r.SeasonalNaiveWAPE / seeds
			truth += wapeAgainst(fc.Series(1), c.g) / seeds
		}
		t.Logf("%s: WAPE %.3f (seasonal naive %.3f), p50 against the truth %.3f, p10..p90 coverage %.3f", c.name, wape, naive, truth, cover)
		if wape >= naive {
			t.Errorf("%s: WAPE %.3f does not beat seasonal naive %.3f", c.name, wape, naive)
		}
		if truth > 0.04 {
			t.Errorf("%s: the p50 curve is %.1f%% off the noise-free truth", c.name, 100*truth)
		}
		if cover < 0.7 || cover > 0.9 {
			t.Errorf("%s: p10..p90 holds %.1f%% of the held-out points, want near 80%%", c.name, 100*cover)
		}
	}
}

// The profile's swing is the truth's: the daily peak-to-trough ratio of the forecast's p50
// over a weekday matches the generator's within a few percent.
func TestForecastKeepsDailySwing(t *testing.T) {
	g := Synthetic{Start: monday, Mean: 100, Daily: 0.5, PeakHour: 14, Noise: 0.05}
	s := g.Series(10*time.Minute, week(4), 7)
	m, err := Fit(s, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := m.Forecast(ForecastOptions{Horizon: 24 * time.Hour, Quantiles: []float64{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	day := fc.Series(0)
	hi, _ := day.Peak()
	lo := math.Inf(1)
	thi, tlo := 0.0, math.Inf(1)
	for i, v := range day.Values {
		lo = math.Min(lo, v)
		r := g.Rate(day.At(i).Add(day.Step / 2))
		thi, tlo = math.Max(thi, r), math.Min(tlo, r)
	}
	if got, want := hi/lo, thi/tlo; math.Abs(got/want-1) > 0.06 {
		t.Fatalf("daily swing ×%.2f, truth ×%.2f", got, want)
	}
}

// Past promotions are found with their uplift, kept out of the fit (the Monday after a
// Monday sale is an ordinary Monday), and placed again where --promo says.
func TestPromotionSpikes(t *testing.T) {
	g := Synthetic{Start: monday, Mean: 100, Daily: 0.4, PeakHour: 20, Weekend: 1.2, Noise: 0.05, Promos: []Promo{
		{At: monday.Add(week(1) + 20*time.Hour), Peak: 6, Decay: time.Hour},
		{At: monday.Add(week(3) + 3*24*time.Hour + 12*time.Hour), Peak: 4, Decay: time.Hour},
	}}
	s := g.Series(5*time.Minute, week(4), 3)
	m, err := Fit(s, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Spikes) != 2 {
		t.Fatalf("found %d spikes: %+v", len(m.Spikes), m.Spikes)
	}
	for i, sp := range m.Spikes {
		p := g.Promos[i]
		if d := sp.Start.Sub(p.At); d < -10*time.Minute || d > 10*time.Minute {
			t.Errorf("spike %d starts %v, the promotion at %v", i, sp.Start, p.At)
		}
		if sp.Uplift < 0.8*p.Peak || sp.Uplift > 1.25*p.Peak {
			t.Errorf("spike %d uplift ×%.2f, the promotion's ×%.1f", i, sp.Uplift, p.Peak)
		}
	}
	plain, err := m.Forecast(ForecastOptions{Horizon: week(1), Quantiles: []float64{0.5, 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	// The week after is an ordinary week: no spike where one was.
	if w := wapeAgainst(plain.Series(0), Synthetic{Start: g.Start, Mean: g.Mean, Daily: g.Daily, PeakHour: g.PeakHour, Weekend: g.Weekend}); w > 0.03 {
		t.Fatalf("the week after the promotions is %.1f%% off an ordinary week", 100*w)
	}
	at := s.End().Add(2*24*time.Hour + 20*time.Hour)
	promo, err := m.Forecast(ForecastOptions{Horizon: week(1), Quantiles: []float64{0.5, 0.9}, Promos: []time.Time{at}})
	if err != nil {
		t.Fatal(err)
	}
	i := int(at.Sub(promo.Start) / promo.Step)
	for k := range promo.Quantiles {
		up := promo.Bands[k][i] / plain.Bands[k][i]
		// p50: the median of the two spikes' uplifts (×4 and ×6); p90 toward the larger.
		if up < 3.5 || up > 6.5 {
			t.Errorf("%s: promotion ×%.2f at its start", QuantileName(promo.Quantiles[k]), up)
		}
	}
	if promo.Bands[1][i] < promo.Bands[0][i] {
		t.Errorf("p90 %v under p50 %v", promo.Bands[1][i], promo.Bands[0][i])
	}
	if _, err := m.Forecast(ForecastOptions{Horizon: week(1), Promos: []time.Time{s.Start}}); err == nil {
		t.Error("a promotion before the forecast was accepted")
	}
}

// Growth multiplies the whole forecast.
func TestGrowth(t *testing.T) {
	s := Synthetic{Start: monday, Mean: 50, Daily: 0.5, Noise: 0.05}.Series(time.Hour, week(3), 1)
	m, err := Fit(s, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Forecast(ForecastOptions{Horizon: week(1)})
	b, _ := m.Forecast(ForecastOptions{Horizon: week(1), Growth: 1.3})
	for k := range a.Bands {
		for i := range a.Bands[k] {
			if math.Abs(b.Bands[k][i]-1.3*a.Bands[k][i]) > 1e-9*a.Bands[k][i] {
				t.Fatalf("growth 1.3: %v vs %v", b.Bands[k][i], a.Bands[k][i])
			}
		}
	}
}

// What the history cannot support is refused, with the reason.
func TestRefusals(t *testing.T) {
	s := Synthetic{Start: monday, Mean: 50, Daily: 0.5, Noise: 0.05}.Series(time.Hour, 10*24*time.Hour, 1)
	m, err := Fit(s, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Seasons) != 1 || !strings.Contains(strings.Join(m.Notes, ";"), "season 7d left out") {
		t.Fatalf("seasons %v notes %v", m.Seasons, m.Notes)
	}
	_, err = m.Forecast(ForecastOptions{Horizon: week(1)})
	if !errors.Is(err, ErrHistory) || !strings.Contains(err.Error(), "at most half of it (5d)") {
		t.Fatalf("horizon 7d on 10d: %v", err)
	}
	if _, err := Fit(s, FitOptions{Seasons: []time.Duration{week(1)}}); !errors.Is(err, ErrHistory) || !strings.Contains(err.Error(), "needs two cycles (14d)") {
		t.Fatalf("season 7d on 10d: %v", err)
	}
	if _, err := Fit(s.Slice(0, 30), FitOptions{}); !errors.Is(err, ErrHistory) {
		t.Fatalf("30h: %v", err)
	}
	if _, err := Fit(s, FitOptions{Seasons: []time.Duration{90 * time.Minute}}); err == nil {
		t.Fatal("a season of 1.5 steps was accepted")
	}
	if _, err := m.Forecast(ForecastOptions{Horizon: 24 * time.Hour, Quantiles: []float64{1.5}}); err == nil {
		t.Fatal("quantile 1.5 accepted")
	}
}

// Missing intervals are left out of the fit, not taken for zero traffic.
func TestGapsAreMissing(t *testing.T) {
	g := Synthetic{Start: monday, Mean: 100, Daily: 0.5, PeakHour: 12, Noise: 0.05}
	s := g.Series(30*time.Minute, week(3), 2)
	for i := 200; i < 300; i++ {
		s.Values[i] = math.NaN()
	}
	m, err := Fit(s, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := m.Forecast(ForecastOptions{Horizon: 3 * 24 * time.Hour, Quantiles: []float64{0.5}})
	if w := wapeAgainst(fc.Series(0), g); w > 0.04 {
		t.Fatalf("with a gap, %.1f%% off the truth", 100*w)
	}
}

// The public dataset the forecast is documented on: half-hourly electricity demand in England
// and Wales, 12 weeks of summer 2000 (Taylor 2003; the `taylor` series of R's forecast package,
// Debian r-cran-forecast). Over the last six weeks, each held out in turn, the forecast's mean
// WAPE beats seasonal naive's; docs/traffic.md lists the weeks where it does not.
func TestTaylorBeatsSeasonalNaive(t *testing.T) {
	imp, err := ImportFiles(context.Background(), []string{"testdata/public/taylor.csv"}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := imp.Series
	var wape, naive float64
	for k := 6; k >= 1; k-- {
		r, _, err := Backtest(s, BacktestOptions{Holdout: week(1), Cut: s.End().Add(-week(k)), Forecast: ForecastOptions{Quantiles: []float64{0.1, 0.5, 0.9}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("cut %s: WAPE %.4f, seasonal naive %.4f, p10..p90 coverage %.3f", r.Cut.Format("2006-01-02"), r.WAPE, r.SeasonalNaiveWAPE, r.Coverage)
		wape += r.WAPE / 6
		naive += r.SeasonalNaiveWAPE / 6
	}
	if wape >= naive {
		t.Fatalf("mean WAPE %.4f does not beat seasonal naive %.4f", wape, naive)
	}
}
