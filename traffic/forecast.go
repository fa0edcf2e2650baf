package traffic

import (
	"fmt"
	"math"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// maxNoise bounds the residuals a model keeps for its bands.
const maxNoise = 4096

// fitNoise keeps the within-block residuals: their scale by slot of the shortest season
// (smoothed over neighbouring slots; traffic is noisier at night in relative terms) and their
// standardized distribution, which gives the bands their shape.
func (m *Model) fitNoise(s Series, z []float64, f fitted, w []float64) {
	if m.blockSteps == 1 {
		return // each step is its own level: all the noise is the level's
	}
	p := len(m.short)
	bySlot := make([][]float64, p)
	for i := range z {
		if w[i] > 0 && !math.IsNaN(z[i]) {
			k := m.slot(s.At(i), p)
			bySlot[k] = append(bySlot[k], math.Abs(z[i]-f.level[i]-f.season[i]))
		}
	}
	raw := make([]float64, p)
	for k, v := range bySlot {
		raw[k] = math.NaN()
		if len(v) > 0 {
			raw[k] = 1.4826 * quantileOf(v, 0.5)
		}
	}
	half := max(p/48, 1)
	m.scale = make([]float64, p)
	for k := range raw {
		var sum, n float64
		for d := -half; d <= half; d++ {
			if v := raw[(k+d+p)%p]; !math.IsNaN(v) {
				sum, n = sum+v, n+1
			}
		}
		m.scale[k] = m.sigma
		if n > 0 {
			m.scale[k] = sum / n
		}
	}
	floor := 0.2 * median(m.scale)
	for k := range m.scale {
		m.scale[k] = math.Max(m.scale[k], math.Max(floor, 1e-9))
	}
	var std []float64
	for i := range z {
		if w[i] > 0 && !math.IsNaN(z[i]) {
			std = append(std, (z[i]-f.level[i]-f.season[i])/m.scale[m.slot(s.At(i), p)])
		}
	}
	sort.Float64s(std)
	if len(std) > maxNoise {
		thin := make([]float64, maxNoise)
		for k := range thin {
			thin[k] = stat.Quantile((float64(k)+0.5)/maxNoise, stat.LinInterp, std, nil)
		}
		std = thin
	}
	m.noise = std
}

// offset is quantile q of the log rate about the level and season, at a slot of the shortest
// season, given the level's variance there. The noise's own quantile (its spread widened for
// the profile's estimation error) and the level's normal quantile add in quadrature, exact
// for normal parts and close for others.
func (m *Model) offset(q float64, slot int, levelVar float64) float64 {
	zq := distuv.UnitNormal.Quantile(q)
	lv := zq * math.Sqrt(levelVar)
	if len(m.noise) == 0 {
		return lv
	}
	sc := m.scale[slot]
	med := stat.Quantile(0.5, stat.LinInterp, m.noise, nil)
	a := (stat.Quantile(q, stat.LinInterp, m.noise, nil) - med) * sc * math.Sqrt(1+1/math.Max(m.seasonN, 1))
	return med*sc + math.Copysign(math.Hypot(a, lv), q-0.5)
}

// ForecastOptions says what to forecast. Zero values take the defaults.
type ForecastOptions struct {
	Horizon   time.Duration // how far past the history's end (required)
	Quantiles []float64     // default DefaultQuantiles
	Growth    float64       // multiplies every rate (default 1): "last year's sale at 1.3x"
	Promos    []time.Time   // a promotion starts at each: the past spikes' shape is placed there
}

// Forecast is one curve per quantile over the horizon, at the model's step, from the history's end.
type Forecast struct {
	Start     time.Time
	Step      time.Duration
	Quantiles []float64
	Bands     [][]float64 // Bands[k][i]: the rate at Quantiles[k] over interval i
}

// Series is the curve of quantile k.
func (f *Forecast) Series(k int) Series {
	return Series{Start: f.Start, Step: f.Step, Values: f.Bands[k]}
}

// MaxHorizon is the longest horizon the model forecasts: half the history. Its level and trend
// come from that history; beyond half its length they would be guesses.
func (m *Model) MaxHorizon() time.Duration { return m.End.Sub(m.Start) / 2 }

// Forecast forecasts the horizon after the history. It refuses (ErrHistory) a horizon beyond
// MaxHorizon, and promotions outside the horizon or without a past spike to copy.
func (m *Model) Forecast(o ForecastOptions) (*Forecast, error) {
	if o.Horizon <= 0 {
		return nil, fmt.Errorf("--horizon must be > 0")
	}
	if o.Horizon > m.MaxHorizon() {
		return nil, fmt.Errorf("%w: --horizon %s: the history covers %s, and a forecast reaches at most half of it (%s): its level and trend are estimated from that history, and further out they would be guesses; give more history or a shorter horizon",
			ErrHistory, FormatDuration(o.Horizon), FormatDuration(m.End.Sub(m.Start)), FormatDuration(m.MaxHorizon()))
	}
	qs, err := quantiles(o.Quantiles)
	if err != nil {
		return nil, err
	}
	growth := o.Growth
	if growth == 0 {
		growth = 1
	}
	if growth < 0 || math.IsNaN(growth) || math.IsInf(growth, 0) {
		return nil, fmt.Errorf("--growth %v: want a factor > 0", o.Growth)
	}
	n := int((o.Horizon + m.Step - 1) / m.Step)
	fc := &Forecast{Start: m.End, Step: m.Step, Quantiles: qs, Bands: make([][]float64, len(qs))}
	promo, err := m.promoIndex(fc, n, o.Promos)
	if err != nil {
		return nil, err
	}
	for k := range qs {
		fc.Bands[k] = make([]float64, n)
	}
	hist := int(m.End.Sub(m.Start) / m.Step)
	b := float64(m.blockSteps)
	for i := 0; i < n; i++ {
		t := fc.Start.Add(time.Duration(i) * m.Step)
		mean, lvar := m.lvl.at((float64(hist+i) + 0.5) / b)
		base := mean + m.seasonAt(t)
		slot := m.slot(t, len(m.short))
		for k, q := range qs {
			zq := base + m.offset(q, slot, lvar)
			if tau := promo[i]; tau >= 0 {
				zq += m.promoShape(tau, q)
			}
			fc.Bands[k][i] = math.Max(math.Exp(zq)-m.c, 0) * growth
		}
	}
	return fc, nil
}

// promoIndex maps each forecast interval to the step of the promotion running there (-1: none).
func (m *Model) promoIndex(fc *Forecast, n int, promos []time.Time) ([]int, error) {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = -1
	}
	if len(promos) == 0 {
		return idx, nil
	}
	if len(m.Spikes) == 0 {
		return nil, fmt.Errorf("%w: --promo: the history holds no promotion spike whose shape could be placed", ErrHistory)
	}
	for _, p := range promos {
		i0 := int(p.Sub(fc.Start) / m.Step)
		if p.Before(fc.Start) || i0 >= n {
			return nil, fmt.Errorf("--promo %s is outside the forecast (%s to %s)", p.UTC().Format(time.RFC3339),
				fc.Start.UTC().Format(time.RFC3339), fc.Start.Add(time.Duration(n)*m.Step).UTC().Format(time.RFC3339))
		}
		for tau := 0; tau < m.promoSteps() && i0+tau < n; tau++ {
			idx[i0+tau] = tau
		}
	}
	return idx, nil
}

// quantiles checks and sorts quantiles (default DefaultQuantiles).
func quantiles(qs []float64) ([]float64, error) {
	if len(qs) == 0 {
		qs = DefaultQuantiles
	}
	out := append([]float64(nil), qs...)
	sort.Float64s(out)
	for i, q := range out {
		if !(q > 0 && q < 1) {
			return nil, fmt.Errorf("--quantiles: %v is not between 0 and 1", q)
		}
		if i > 0 && q == out[i-1] {
			return nil, fmt.Errorf("--quantiles: %v given twice", q)
		}
	}
	return out, nil
}

// QuantileName is the file stem of a quantile's curve: p50, p90, p99.9.
func QuantileName(q float64) string {
	return "p" + trimFloat(q*100)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
