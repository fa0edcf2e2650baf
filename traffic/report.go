package traffic

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxSamples is how many unparseable lines an import keeps, with their line numbers.
const MaxSamples = 5

// MaxGaps is how many gaps an import lists; the rest are counted.
const MaxGaps = 10

// Report is what an import saw besides the curve: how much it read, what it could not parse,
// and where the history is out of order or has holes.
type Report struct {
	Format   string
	Files    int
	Lines    int64   // lines or rows read (access logs, CSV); samples (Prometheus)
	Bytes    int64   // bytes read, after decompression
	Records  int64   // lines or rows that counted
	Requests float64 // requests the curve holds

	Bad        int64 // lines or rows that did not parse
	BadSamples []BadLine

	// Out of order: records earlier than one before them by more than a step (access logs
	// finish requests out of order by a few seconds, which is not worth a word).
	OutOfOrder      int64
	FirstOutOfOrder *BadLine

	Duplicates     int64 // CSV rows for a time another row already gave (rates averaged, counts summed)
	FirstDuplicate *BadLine

	Gaps     []Gap // the first MaxGaps holes, in time order
	GapCount int   // all of them
	Filled   int   // intervals without data in the curve, interpolated
}

// BadLine is where a problem is: the file, the line (1-based) and what is wrong.
type BadLine struct {
	File   string
	Line   int64
	Reason string
	Text   string // the line, cut to 120 bytes
}

func (b BadLine) String() string {
	s := fmt.Sprintf("%s:%d: %s", b.File, b.Line, b.Reason)
	if b.Text != "" {
		s += ": " + b.Text
	}
	return s
}

// Gap is a hole in the history: no data from From to To.
type Gap struct {
	From, To time.Time
	Line     int64 // the line or row after the hole (0 for access logs, found from the curve)
	Why      string
}

func (g Gap) String() string {
	s := fmt.Sprintf("%s to %s (%s)", g.From.UTC().Format(time.RFC3339), g.To.UTC().Format(time.RFC3339), FormatDuration(g.To.Sub(g.From)))
	if g.Why != "" {
		s += ": " + g.Why
	}
	if g.Line > 0 {
		s += fmt.Sprintf(" (before line %d)", g.Line)
	}
	return s
}

func (r *Report) bad(file string, line int64, reason string, text []byte) {
	r.Bad++
	if len(r.BadSamples) < MaxSamples {
		r.BadSamples = append(r.BadSamples, BadLine{File: file, Line: line, Reason: reason, Text: clip(text)})
	}
}

func (r *Report) gap(g Gap) {
	r.GapCount++
	if len(r.Gaps) < MaxGaps {
		r.Gaps = append(r.Gaps, g)
	}
}

// clip keeps a line printable: at most 120 bytes, control bytes and invalid UTF-8 escaped.
func clip(b []byte) string {
	const limit = 120
	cut := len(b) > limit
	if cut {
		b = b[:limit]
	}
	s := strings.TrimRight(string(b), "\r\n")
	q := fmt.Sprintf("%q", s)
	q = q[1 : len(q)-1]
	if cut {
		q += "…"
	}
	return q
}

// ErrNothingParsed is wrapped by an import that found no usable record at all.
var ErrNothingParsed = errors.New("nothing parsed")

// nothingParsed explains an import without a single record: the samples say why.
func (r *Report) nothingParsed() error {
	var b strings.Builder
	for _, s := range r.BadSamples {
		b.WriteString("\n  " + s.String())
	}
	return fmt.Errorf("%s: %w: %d lines read, %d unparseable%s", r.Format, ErrNothingParsed, r.Lines, r.Bad, b.String())
}

// emptyRuns reports runs of intervals without requests in an access-log curve when the traffic
// is dense enough that an empty interval means missing logs rather than a quiet minute: the
// median interval holds at least minDense requests.
func emptyRuns(s Series, r *Report) {
	const minDense = 20
	if len(s.Values) < 3 {
		return
	}
	counts := make([]float64, len(s.Values))
	secs := s.Step.Seconds()
	for i, v := range s.Values {
		counts[i] = v * secs
	}
	if median(counts) < minDense {
		return
	}
	for i := 0; i < len(counts); {
		if counts[i] > 0 {
			i++
			continue
		}
		j := i
		for j < len(counts) && counts[j] == 0 {
			j++
		}
		r.gap(Gap{From: s.At(i), To: s.At(j), Why: "no requests logged"})
		i = j
	}
}

// median of values, NaN skipped (0 when none).
func median(v []float64) float64 {
	c := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			c = append(c, x)
		}
	}
	if len(c) == 0 {
		return 0
	}
	return quantileOf(c, 0.5)
}
