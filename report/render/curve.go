package render

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/sparkline"
)

// Curve draws f over [0, span] as a bar chart (an ntcharts sparkline) of rows lines and width
// columns scaled to peak, with the peak and 0 on the y axis and span on the x axis. Each column
// shows the highest of 17 samples across it, so a spike narrower than a column still shows.
func Curve(w io.Writer, width, rows int, span time.Duration, peak float64, f func(time.Duration) float64) error {
	width = min(max(width, 16), 400)
	rows = max(rows, 1)
	if peak <= 0 {
		_, err := fmt.Fprintln(w, "  (no arrivals)")
		return err
	}
	sp := sparkline.New(width, rows, sparkline.WithMaxValue(peak), sparkline.WithNoAutoMaxValue())
	for c := range width {
		v := 0.0
		for k := 0; k <= 16; k++ {
			v = math.Max(v, f(time.Duration(float64(span)*(float64(c)+float64(k)/16)/float64(width))))
		}
		sp.Push(math.Min(v, peak))
	}
	sp.Draw()
	label := Rate(peak)
	pad := len(label)
	ew := &errWriter{w: w}
	for r, line := range strings.Split(sp.View(), "\n") {
		lab := ""
		switch r {
		case 0:
			lab = label
		case rows - 1:
			lab = "0"
		}
		ew.printf("%*s ┤%s\n", pad, lab, line)
	}
	ew.printf("%*s └%s\n", pad, "", strings.Repeat("─", width))
	ew.printf("%*s  0%*s\n", pad, "", width-1, ShortDuration(span))
	return ew.err
}

// ShortDuration writes a duration without its zero tails: 24h, 1h30m, 90s, 1.5s.
func ShortDuration(d time.Duration) string {
	s := d.Round(time.Millisecond).String()
	for _, suf := range []string{"m0s", "h0m"} {
		s = strings.Replace(s, suf, strings.TrimSuffix(suf, "0s")[:1], 1)
	}
	return s
}

// Rate writes a rate with three significant digits and k or M: 350k, 3.5k, 1.2M, 20.
func Rate(r float64) string {
	return scaled(r, []unit{{1e6, "M"}, {1e3, "k"}}, "%.3g")
}

// Count writes a large count in words: 3.08 billion, 50.4 million, 50363.
func Count(n float64) string {
	return scaled(n, []unit{{1e9, " billion"}, {1e6, " million"}}, "%.0f")
}

// unit is a power of ten written as a suffix.
type unit struct {
	size   float64
	suffix string
}

// scaled writes x in the first of units (largest first) it reaches, with three significant
// digits, or with format below them all.
func scaled(x float64, units []unit, format string) string {
	for _, u := range units {
		if x >= u.size {
			return fmt.Sprintf("%.3g%s", x/u.size, u.suffix)
		}
	}
	return fmt.Sprintf(format, x)
}
