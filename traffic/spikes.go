package traffic

import (
	"fmt"
	"math"
	"time"
)

// MaxSpike is the longest surge taken for a promotion; a longer one is a change of level and
// stays in the fit.
const MaxSpike = 48 * time.Hour

// Spike is a past promotion: a surge far above what the level and the seasons expected, for at
// most MaxSpike. Its shape (how far above the fit each step was) is what a forecast places at
// a future promotion.
type Spike struct {
	Start    time.Time
	Peak     time.Time
	Duration time.Duration
	Uplift   float64 // the peak's rate over the rate the fit expected there
	Extra    float64 // requests above the fit over the whole spike
	shape    []float64
}

var (
	spikeCore   = math.Log(1.5) // at least this far above the fit (in log(rate+c)) somewhere
	spikeShound = math.Log(1.1) // and extended while at least this far, for its ramps
)

// findSpikes classifies the runs of intervals far from the first fit: surges up to MaxSpike
// long are promotions (kept out of the fit, their shape remembered), deep drops are outages
// (kept out), and longer surges are a change of level (taken back into the fit).
func (m *Model) findSpikes(s Series, z []float64, f fitted, w []float64) {
	n := len(z)
	r := make([]float64, n)
	for i := range z {
		r[i] = z[i] - f.level[i] - f.season[i]
	}
	core := math.Max(outlierSigmas*m.sigma, spikeCore)
	shoulder := math.Max(1.5*m.sigma, spikeShound)
	maxSteps := int(MaxSpike / s.Step)
	for i := 0; i < n; i++ {
		if !(r[i] > core) {
			if r[i] < -outlierSigmas*m.sigma {
				m.Dips++
			}
			continue
		}
		lo, hi := i, i+1
		for lo > 0 && r[lo-1] > shoulder {
			lo--
		}
		for {
			for hi < n && r[hi] > shoulder {
				hi++
			}
			// A dip of up to two steps inside a surge does not end it.
			if hi+2 < n && (r[hi+1] > shoulder || r[hi+2] > shoulder) {
				hi += 2
				continue
			}
			break
		}
		if hi-lo > maxSteps {
			for k := lo; k < hi; k++ {
				w[k] = 1
			}
			m.Notes = append(m.Notes, fmt.Sprintf("a rise lasting %s from %s is longer than a promotion (%s): taken as a change of level",
				FormatDuration(time.Duration(hi-lo)*s.Step), s.At(lo).UTC().Format(time.RFC3339), FormatDuration(MaxSpike)))
			i = hi
			continue
		}
		sp := Spike{Start: s.At(lo), Duration: time.Duration(hi-lo) * s.Step, shape: make([]float64, hi-lo)}
		top := math.Inf(-1)
		for k := lo; k < hi; k++ {
			w[k] = 0
			v := r[k]
			if math.IsNaN(v) {
				v = 0
			}
			sp.shape[k-lo] = v
			base := math.Max(math.Exp(f.level[k]+f.season[k])-m.c, 0)
			if y := s.Values[k]; !math.IsNaN(y) {
				sp.Extra += (y - base) * s.Step.Seconds()
				if v > top {
					top, sp.Peak = v, s.At(k)
					sp.Uplift = y / math.Max(base, 1e-9)
				}
			}
		}
		m.Spikes = append(m.Spikes, sp)
		i = hi
	}
}

// promoShape is the log uplift at step tau of a promotion for quantile q: the q-quantile over
// the past spikes of their uplift tau steps after their start (0 past a spike's end).
func (m *Model) promoShape(tau int, q float64) float64 {
	v := make([]float64, len(m.Spikes))
	any := false
	for k, sp := range m.Spikes {
		if tau < len(sp.shape) {
			v[k], any = sp.shape[tau], true
		}
	}
	if !any {
		return 0
	}
	return quantileOf(v, q)
}

// promoSteps is the longest past spike, in steps.
func (m *Model) promoSteps() int {
	n := 0
	for _, sp := range m.Spikes {
		n = max(n, len(sp.shape))
	}
	return n
}
