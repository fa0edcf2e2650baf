package traffic

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
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

// logRoutes is the request mix of a generated log: weights, methods and path patterns (%d
// takes a number, so each route has many paths, as a real log's ids do).
var logRoutes = []struct {
	weight int
	method string
	path   string
	status int
}{
	{55, "GET", "/v1/skus/sku-%d", 200},
	{20, "POST", "/v1/skus/sku-%d/purchase", 201},
	{10, "GET", "/v1/orders/%d", 200},
	{8, "POST", "/v1/orders/%d/pay", 200},
	{5, "GET", "/static/app.%d.js", 200},
	{2, "GET", "/healthz", 200},
}

// WriteLog writes an nginx combined access log of the history over span: requests arrive as a
// Poisson process at Rate, one line each, in time order, from seed. It returns the lines
// written. At most maxBytes are written (0: no bound), ending on a whole line.
func (g Synthetic) WriteLog(w io.Writer, span time.Duration, seed uint64, maxBytes int64) (int64, error) {
	rng := rand.New(rand.NewPCG(seed, 0x1ce4e5b9))
	bw := bufio.NewWriterSize(w, 1<<20)
	total := 0
	for _, r := range logRoutes {
		total += r.weight
	}
	zone := time.FixedZone("", 8*3600)
	var line []byte
	var lines, written int64
	for sec := time.Duration(0); sec < span; sec += time.Second {
		t := g.Start.Add(sec)
		n := poisson(rng, g.Rate(t.Add(time.Second/2)))
		if n == 0 {
			continue
		}
		stamp := t.In(zone).Format("02/Jan/2006:15:04:05 -0700")
		for ; n > 0; n-- {
			pick := rng.IntN(total)
			k := 0
			for pick >= logRoutes[k].weight {
				pick -= logRoutes[k].weight
				k++
			}
			r := logRoutes[k]
			path := r.path
			if strings.Contains(path, "%d") {
				path = fmt.Sprintf(path, rng.IntN(100000))
			}
			line = fmt.Appendf(line[:0], "10.%d.%d.%d - - [%s] \"%s %s HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) flashload-genlog\"\n",
				rng.IntN(256), rng.IntN(256), rng.IntN(256), stamp, r.method, path, r.status, 200+rng.IntN(2000))
			if maxBytes > 0 && written+int64(len(line)) > maxBytes {
				return lines, bw.Flush()
			}
			if _, err := bw.Write(line); err != nil {
				return lines, err
			}
			written += int64(len(line))
			lines++
		}
	}
	return lines, bw.Flush()
}

// poisson draws a Poisson count of mean lambda (normal above 500, where the two agree to well
// under a request).
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 500 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
