package traffic

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat"
)

// level is the fitted level, in blocks (days, usually) from the history's start: a damped
// linear trend over the recent window, and the last block's deviation from it, which decays
// as an AR(1) with coefficient phi.
type level struct {
	alpha, slope float64
	trend        bool
	xbar, sxx    float64 // of the blocks the trend was fitted on
	s2           float64 // variance of the block means about the trend, widened for their autocorrelation
	n            int     // blocks fitted
	phi          float64
	sigmaE       float64 // standard deviation of a block's deviation from the trend
	lastX, lastE float64
	t            float64   // the slope's t statistic (with autocorrelated blocks)
	errVar       []float64 // measured variance of the level's error h blocks ahead (index h; 0 unmeasured)
}

// TrendDamping is how much of the trend each further day of a forecast keeps: a trend
// extrapolated undamped for a week overshoots more often than it helps (a damped trend in the
// sense of Gardner and McKenzie).
const TrendDamping = 0.9

// fitLevel fits the level on the block means of the last window, then measures how far that
// method's forecasts of later blocks fell from them at each lead, from every earlier origin of
// the history: the bands widen to what the level really did, not only to what a model of it
// says.
func (m *Model) fitLevel(s Series, z []float64, f fitted, w []float64, window time.Duration) {
	cx, cy := m.blockMeans(s, z, w, f.season)
	b := float64(m.blockSteps)
	xs := make([]float64, len(cx))
	for i := range cx {
		xs[i] = cx[i] / b
	}
	wb := window.Seconds() / (time.Duration(m.blockSteps) * s.Step).Seconds()
	first := func(end int) int { // the first block of the window ending at block end
		i := end
		for i > 0 && xs[end]-xs[i-1] < wb {
			i--
		}
		return i
	}
	if len(xs) == 0 { // cannot happen after the checks in Fit; a flat level at the mean keeps it safe
		m.lvl = level{alpha: stat.Mean(z, w), lastX: float64(len(z)) / b}
		return
	}
	last := len(xs) - 1
	l := fitBlocks(xs[first(last):], cy[first(last):])
	maxLead := int(math.Ceil((xs[last] - xs[0]) / 2))
	sum, cnt := make([]float64, maxLead+2), make([]float64, maxLead+2)
	for o := 3; o < last; o++ {
		lo := fitBlocks(xs[first(o):o+1], cy[first(o):o+1])
		for j := o + 1; j <= last; j++ {
			h := int(math.Round(xs[j] - xs[o]))
			if h > maxLead+1 {
				break
			}
			mean, _ := lo.at(xs[j])
			sum[h] += (cy[j] - mean) * (cy[j] - mean)
			cnt[h]++
		}
	}
	l.errVar = make([]float64, len(sum))
	for h := range sum {
		if cnt[h] >= 3 {
			l.errVar[h] = sum[h] / cnt[h]
		}
	}
	if l.trend {
		m.Notes = append(m.Notes, fmt.Sprintf("trend: %+.2f%% a day, damped by %v a day ahead (t = %.1f with autocorrelated days)",
			100*(math.Exp(l.slope/m.blockDays())-1), TrendDamping, l.t))
	} else {
		m.Notes = append(m.Notes, "no significant trend: the level is held at its recent mean, plus the last days' drift")
	}
	m.lvl = l
}

// fitBlocks fits a level to block means: the slope is kept only when its t statistic, taken
// with the effective number of blocks n·(1−φ)/(1+φ) since neighbouring days are alike, is at
// least 2; else the level is held at the mean. A trend that noise could have drawn is the
// worst thing to extrapolate.
func fitBlocks(xs, ys []float64) level {
	l := level{n: len(xs)}
	l.xbar = stat.Mean(xs, nil)
	for _, x := range xs {
		l.sxx += (x - l.xbar) * (x - l.xbar)
	}
	if len(xs) >= 4 && l.sxx > 0 {
		a, sl := stat.LinearRegression(xs, ys, nil, false)
		e := residuals(xs, ys, a, sl)
		s2 := sumSquares(e) / float64(len(xs)-2) * arInflation(ar1(e))
		if l.t = sl / math.Sqrt(s2/l.sxx); math.Abs(l.t) >= 2 || s2 == 0 {
			l.alpha, l.slope, l.trend, l.s2 = a, sl, true, s2
		}
	}
	if !l.trend {
		l.alpha = stat.Mean(ys, nil)
		e := residuals(xs, ys, l.alpha, 0)
		if len(ys) > 1 {
			l.s2 = sumSquares(e) / float64(len(ys)-1) * arInflation(ar1(e))
		}
	}
	e := residuals(xs, ys, l.alpha, l.slope)
	l.phi = ar1(e)
	l.sigmaE = math.Sqrt(sumSquares(e) / float64(len(e)))
	l.lastX, l.lastE = xs[len(xs)-1], e[len(e)-1]
	return l
}

func residuals(xs, ys []float64, a, b float64) []float64 {
	e := make([]float64, len(xs))
	for i := range xs {
		e[i] = ys[i] - a - b*xs[i]
	}
	return e
}

func sumSquares(e []float64) float64 {
	var s float64
	for _, v := range e {
		s += v * v
	}
	return s
}

// ar1 is the lag-one autocorrelation of e, clamped to [0, 0.95].
func ar1(e []float64) float64 {
	var num, den float64
	for i := 1; i < len(e); i++ {
		num += e[i] * e[i-1]
		den += e[i-1] * e[i-1]
	}
	if den == 0 {
		return 0
	}
	return math.Min(math.Max(num/den, 0), 0.95)
}

// arInflation is how much an AR(1) with coefficient phi widens the variance of a mean or slope
// over what independent values would give: (1+φ)/(1−φ).
func arInflation(phi float64) float64 { return (1 + phi) / (1 - phi) }

// at is the level's forecast and its variance at x blocks from the history's start: the
// larger of the model's variance and the error variance measured at that lead.
func (l level) at(x float64) (mean, variance float64) {
	h := math.Max(x-l.lastX, 0)
	decay := math.Pow(l.phi, h)
	tx := x
	if h > 0 {
		tx = l.lastX + TrendDamping*(1-math.Pow(TrendDamping, h))/(1-TrendDamping)
	}
	mean = l.alpha + l.slope*tx + decay*l.lastE
	variance = l.sigmaE * l.sigmaE * (1 - decay*decay)
	if l.n > 0 {
		v := l.s2 / float64(l.n)
		if l.trend && l.sxx > 0 {
			v += l.s2 * (tx - l.xbar) * (tx - l.xbar) / l.sxx
		}
		variance += v
	}
	return mean, math.Max(variance, l.measured(h))
}

// measured interpolates the measured error variance at lead h (0 where nothing was measured).
func (l level) measured(h float64) float64 {
	k := int(h)
	v := func(i int) float64 {
		if i <= 0 || i >= len(l.errVar) {
			return 0
		}
		return l.errVar[i]
	}
	if k+1 >= len(l.errVar) {
		// Past the longest lead measured, the error grows as a random walk's would.
		for j := len(l.errVar) - 1; j > 0; j-- {
			if l.errVar[j] > 0 {
				return l.errVar[j] * h / float64(j)
			}
		}
		return 0
	}
	f := h - float64(k)
	return v(k)*(1-f) + v(k+1)*f
}
