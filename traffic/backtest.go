package traffic

import (
	"fmt"
	"math"
	"time"
)

// BacktestOptions says how to judge a forecast on history it did not see.
type BacktestOptions struct {
	Holdout  time.Duration // the span held out after the cut (required)
	Cut      time.Time     // zero: the history's end minus Holdout
	Fit      FitOptions
	Forecast ForecastOptions // Horizon is set from Holdout; 0.5 is added to the quantiles when missing
}

// BacktestResult is a backtest's verdict. WAPE is the sum of absolute errors of the p50 curve
// over the sum of the held-out rates; SeasonalNaiveWAPE the same for the rate one longest
// season earlier (the last seen cycle repeated); Coverage the share of held-out points inside
// the outermost band (lowest to highest quantile), whose nominal level is NominalCoverage.
type BacktestResult struct {
	WAPE              float64   `json:"wape"`
	SeasonalNaiveWAPE float64   `json:"seasonal_naive_wape"`
	Coverage          float64   `json:"coverage"`
	Points            int       `json:"points"`
	NominalCoverage   float64   `json:"nominal_coverage"`
	BeatsBaseline     bool      `json:"beats_baseline"`
	Cut               time.Time `json:"cut"`
	Holdout           string    `json:"holdout"`
	Season            string    `json:"baseline_season"`
	Quantiles         []float64 `json:"quantiles"`
	TrainPoints       int       `json:"train_points"`
}

// Backtest fits the history before the cut, forecasts the held-out span after it, and scores
// the forecast and the seasonal-naive baseline on the same points. It returns the forecast
// too, for whoever wants to look at it.
func Backtest(s Series, o BacktestOptions) (*BacktestResult, *Forecast, error) {
	if o.Holdout <= 0 {
		return nil, nil, fmt.Errorf("--backtest must be > 0")
	}
	cut := o.Cut
	if cut.IsZero() {
		cut = s.End().Add(-o.Holdout)
	}
	ci := s.Index(cut)
	if cut.After(s.At(ci)) {
		ci++ // a cut inside an interval trains on none of it
	}
	if ci <= 0 || ci >= s.Len() {
		return nil, nil, fmt.Errorf("--cut %s is outside the history (%s to %s)", cut.UTC().Format(time.RFC3339),
			s.Start.UTC().Format(time.RFC3339), s.End().UTC().Format(time.RFC3339))
	}
	cj := min(ci+int((o.Holdout+s.Step-1)/s.Step), s.Len())
	train, test := s.Slice(0, ci), s.Slice(ci, cj)
	m, err := Fit(train, o.Fit)
	if err != nil {
		return nil, nil, fmt.Errorf("training on the history before %s: %w", s.At(ci).UTC().Format(time.RFC3339), err)
	}
	fo := o.Forecast
	fo.Horizon = test.Span()
	fo.Quantiles = withMedian(fo.Quantiles)
	fc, err := m.Forecast(fo)
	if err != nil {
		return nil, nil, err
	}
	lo, hi, mid := 0, len(fc.Quantiles)-1, 0
	for k, q := range fc.Quantiles {
		if q == 0.5 {
			mid = k
		}
	}
	season := m.Seasons[len(m.Seasons)-1]
	p := int(season / s.Step)
	res := &BacktestResult{Cut: s.At(ci).UTC(), Holdout: FormatDuration(test.Span()), Season: FormatDuration(season),
		Quantiles: fc.Quantiles, TrainPoints: ci, NominalCoverage: fc.Quantiles[hi] - fc.Quantiles[lo]}
	var sumY, errF, errN float64
	inside := 0
	for i, y := range test.Values {
		naive := math.NaN()
		for j := ci + i - (i/p+1)*p; j >= 0 && math.IsNaN(naive); j -= p {
			naive = s.Values[j]
		}
		if math.IsNaN(y) || math.IsNaN(naive) {
			continue
		}
		res.Points++
		sumY += y
		errF += math.Abs(y - fc.Bands[mid][i])
		errN += math.Abs(y - naive)
		if y >= fc.Bands[lo][i] && y <= fc.Bands[hi][i] {
			inside++
		}
	}
	if res.Points == 0 || sumY == 0 {
		return nil, nil, fmt.Errorf("%w: the held-out span after %s has no traffic to score", ErrHistory, res.Cut.Format(time.RFC3339))
	}
	res.WAPE, res.SeasonalNaiveWAPE = errF/sumY, errN/sumY
	res.Coverage = float64(inside) / float64(res.Points)
	res.BeatsBaseline = res.WAPE < res.SeasonalNaiveWAPE
	return res, fc, nil
}

func withMedian(qs []float64) []float64 {
	if len(qs) == 0 {
		qs = DefaultQuantiles
	}
	for _, q := range qs {
		if q == 0.5 {
			return qs
		}
	}
	return append(append([]float64(nil), qs...), 0.5)
}
