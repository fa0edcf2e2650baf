package traffic

import (
	"math"
	"math/rand/v2"
	"time"
)

// Synthetic is a traffic history with known parts, for tests, benchmarks and documentation:
// a daily cycle, a weekend dip, a trend, promotions and multiplicative noise. Its expected
// rate at t is
//
//	Mean · exp(TrendPerDay·days + Daily·(cos(2π(h−PeakHour)/24) + ½cos(4π(h−PeakHour)/24))) · Weekend on Sat/Sun · promo(t)
//
// with h the hour of the day in UTC and days since Start.
type Synthetic struct {
	Start       time.Time
	Mean        float64 // requests per second at Start, before the cycles
	Daily       float64 // amplitude of the daily cycle, in log units
	PeakHour    float64 // hour of the daily peak (UTC)
	Weekend     float64 // multiplier on Saturdays and Sundays (0: 1)
	TrendPerDay float64 // growth per day, in log units
	Noise       float64 // standard deviation of the per-step log-normal noise
	Promos      []Promo
}

// Promo is a promotion in a Synthetic history: the rate jumps to Peak times its usual level at
// At and decays back exponentially with time constant Decay.
type Promo struct {
	At    time.Time
	Peak  float64
	Decay time.Duration
}

// Rate is the expected rate at t, without noise.
func (g Synthetic) Rate(t time.Time) float64 {
	days := t.Sub(g.Start).Hours() / 24
	h := float64(t.UTC().Hour()) + float64(t.UTC().Minute())/60 + float64(t.UTC().Second())/3600
	x := 2 * math.Pi * (h - g.PeakHour) / 24
	r := g.Mean * math.Exp(g.TrendPerDay*days+g.Daily*(math.Cos(x)+0.5*math.Cos(2*x)))
	if wd := t.UTC().Weekday(); g.Weekend > 0 && (wd == time.Saturday || wd == time.Sunday) {
		r *= g.Weekend
	}
	for _, p := range g.Promos {
		if d := t.Sub(p.At); d >= 0 && p.Decay > 0 {
			r *= 1 + (p.Peak-1)*math.Exp(-float64(d)/float64(p.Decay))
		}
	}
	return r
}

// Series samples the history at step over span, each interval's expected rate (at its middle)
// times log-normal noise drawn from seed.
func (g Synthetic) Series(step, span time.Duration, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 0x7f4a7c15))
	s := Series{Start: g.Start, Step: step, Values: make([]float64, int(span/step))}
	for i := range s.Values {
		s.Values[i] = g.Rate(s.At(i).Add(step/2)) * math.Exp(g.Noise*rng.NormFloat64()-g.Noise*g.Noise/2)
	}
	return s
}
