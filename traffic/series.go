// Package traffic turns request history into replay curves and forecasts them.
//
// History enters through the importers (ImportFiles, ImportReader): nginx or Apache combined
// access logs and AWS load balancer logs, streamed line by line in bounded memory, a Prometheus
// query_range answer, or a timestamp,value CSV. Each becomes a Series, the mean request rate per
// step. A Series leaves as a replay curve (WriteCurve: the t,rps CSV a scenario's
// traffic.replay reads) or goes into Fit, whose Model forecasts a horizon with quantile bands
// (Forecast) and can be judged on held-out history against the seasonal-naive baseline
// (Backtest). Nothing here opens a network connection or reads the clock.
package traffic

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flashload/flashload/scenario"
)

// DefaultStep is the interval of an imported curve when none is given.
const DefaultStep = time.Minute

// Series is a regular series of request rates: Values[i] is the mean rate, in requests per
// second, over [Start + i·Step, Start + (i+1)·Step). NaN marks an interval without data.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Len is the number of intervals.
func (s Series) Len() int { return len(s.Values) }

// At is the start of interval i.
func (s Series) At(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// End is the end of the last interval.
func (s Series) End() time.Time { return s.At(len(s.Values)) }

// Span is the time the series covers.
func (s Series) Span() time.Duration { return time.Duration(len(s.Values)) * s.Step }

// Index is the interval holding t, which may lie outside the series (negative or ≥ Len).
func (s Series) Index(t time.Time) int {
	d := t.Sub(s.Start)
	i := int(d / s.Step)
	if d < 0 && d%s.Step != 0 {
		i--
	}
	return i
}

// Slice is the part of the series in intervals [i, j), sharing its values.
func (s Series) Slice(i, j int) Series {
	return Series{Start: s.At(i), Step: s.Step, Values: s.Values[i:j]}
}

// Missing counts the intervals without data.
func (s Series) Missing() int {
	n := 0
	for _, v := range s.Values {
		if math.IsNaN(v) {
			n++
		}
	}
	return n
}

// Peak is the highest rate and the interval that has it (-1 when every interval is missing).
func (s Series) Peak() (float64, int) {
	best, at := math.Inf(-1), -1
	for i, v := range s.Values {
		if v > best {
			best, at = v, i
		}
	}
	if at < 0 {
		return 0, -1
	}
	return best, at
}

// Mean is the mean rate over the intervals with data.
func (s Series) Mean() float64 {
	sum, n := 0.0, 0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			sum, n = sum+v, n+1
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Filled returns a copy whose missing intervals are interpolated linearly between the nearest
// known ones (held flat at the ends): a replay curve needs a rate everywhere.
func (s Series) Filled() Series {
	out := Series{Start: s.Start, Step: s.Step, Values: append([]float64(nil), s.Values...)}
	v := out.Values
	prev := -1
	for i := 0; i <= len(v); i++ {
		if i < len(v) && math.IsNaN(v[i]) {
			continue
		}
		if i-prev > 1 {
			for k := prev + 1; k < i; k++ {
				switch {
				case prev < 0 && i == len(v):
					v[k] = 0
				case prev < 0:
					v[k] = v[i]
				case i == len(v):
					v[k] = v[prev]
				default:
					f := float64(k-prev) / float64(i-prev)
					v[k] = v[prev] + f*(v[i]-v[prev])
				}
			}
		}
		prev = i
	}
	return out
}

// Points is the series as replay points: t is each interval's start from the first one.
// Missing intervals are interpolated (Filled).
func (s Series) Points() []scenario.Point {
	f := s.Filled()
	pts := make([]scenario.Point, len(f.Values))
	for i, v := range f.Values {
		pts[i] = scenario.Point{T: time.Duration(i) * s.Step, RPS: v}
	}
	return pts
}

// StartComment is the comment line WriteCurve puts first; ReadHistory takes the curve's start
// time from it, so an imported curve can be forecast with its days and weeks in place.
const StartComment = "# start "

// WriteCurve writes the series as a replay curve: a comment with its start and step, a t,rps
// header, then one row per interval (t in seconds from the first interval; missing intervals
// interpolated). scenario files read it as traffic.replay.
func WriteCurve(w io.Writer, s Series, note string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s%s step %s", StartComment, s.Start.UTC().Format(time.RFC3339), FormatDuration(s.Step))
	if note != "" {
		fmt.Fprintf(bw, " %s", note)
	}
	bw.WriteString("\nt,rps\n")
	var buf []byte
	for _, p := range s.Points() {
		buf = strconv.AppendFloat(buf[:0], p.T.Seconds(), 'f', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, roundRate(p.RPS), 'f', -1, 64)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}

// roundRate keeps six significant digits: a curve file stays readable and loses nothing a
// simulation could tell apart.
func roundRate(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if err != nil {
		return v
	}
	return p
}

// FormatDuration writes a duration as the flags take it, with whole days as d and no zero
// tails: 1m, 30m, 1h30m, 1d, 7d, 1d12h.
func FormatDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	day := 24 * time.Hour
	out := ""
	if d >= day {
		out = strconv.FormatInt(int64(d/day), 10) + "d"
		d %= day
	}
	if d > 0 || out == "" {
		s := d.String()
		for _, suf := range []string{"m0s", "h0m"} {
			if strings.HasSuffix(s, suf) {
				s = strings.TrimSuffix(s, suf) + suf[:1]
			}
		}
		out += s
	}
	if neg {
		out = "-" + out
	}
	return out
}
