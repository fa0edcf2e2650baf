package traffic

import (
	"fmt"
	"math"
	"time"
)

// MaxBuckets bounds an import's curve (about 19 years at one minute): memory follows the span
// of the history and the step, never the size of the input.
const MaxBuckets = 10_000_000

// buckets accumulates requests per step-aligned interval. Intervals are aligned to whole
// multiples of the step since the Unix epoch, so one-minute buckets start at whole minutes.
// amount is requests; covered is the seconds of each interval that input spoke for (access
// logs speak for all of it; a CSV row for its own span), so a rate is amount/covered and an
// interval nothing spoke for stays missing.
type buckets struct {
	step    int64 // ns
	first   int64 // bucket number (unix ns / step) of amount[0]
	amount  []float64
	covered []float64 // nil: every interval fully covered (events)
	used    bool
}

func newBuckets(step time.Duration, spans bool) *buckets {
	b := &buckets{step: int64(step)}
	if spans {
		b.covered = []float64{}
	}
	return b
}

// slot returns the index of bucket number k, growing the slices to hold it; false when that
// would exceed MaxBuckets.
func (b *buckets) slot(k int64) (int, bool) {
	if !b.used {
		b.used, b.first = true, k
	}
	if k < b.first {
		grow := b.first - k
		if int64(len(b.amount))+grow > MaxBuckets {
			return 0, false
		}
		b.amount = append(make([]float64, grow, int64(len(b.amount))+grow), b.amount...)
		if b.covered != nil {
			b.covered = append(make([]float64, grow, int64(len(b.covered))+grow), b.covered...)
		}
		b.first = k
	}
	i := k - b.first
	if i >= int64(len(b.amount)) {
		if i >= MaxBuckets {
			return 0, false
		}
		n := int(i) + 1
		if n > cap(b.amount) {
			b.amount = append(b.amount[:cap(b.amount)], make([]float64, n-cap(b.amount)+cap(b.amount)/2)...)
		}
		b.amount = b.amount[:n]
		if b.covered != nil {
			if n > cap(b.covered) {
				b.covered = append(b.covered[:cap(b.covered)], make([]float64, n-cap(b.covered)+cap(b.covered)/2)...)
			}
			b.covered = b.covered[:n]
		}
	}
	return int(i), true
}

// bucketOf is the bucket number holding unix time ns.
func (b *buckets) bucketOf(ns int64) int64 {
	k := ns / b.step
	if ns < 0 && ns%b.step != 0 {
		k--
	}
	return k
}

// event counts one request at unix time ns.
func (b *buckets) event(ns int64) bool {
	i, ok := b.slot(b.bucketOf(ns))
	if ok {
		b.amount[i]++
	}
	return ok
}

// span spreads amount requests evenly over [from, to) (unix ns), in proportion to the overlap
// with each interval, and marks that time covered.
func (b *buckets) span(from, to int64, amount float64) error {
	if to <= from {
		return fmt.Errorf("empty span")
	}
	k0, k1 := b.bucketOf(from), b.bucketOf(to-1)
	if k1-k0 >= MaxBuckets {
		return fmt.Errorf("a span of %v is too long", time.Duration(to-from))
	}
	if _, ok := b.slot(k0); !ok {
		return fmt.Errorf("too far from the other rows (more than %d steps)", MaxBuckets)
	}
	if _, ok := b.slot(k1); !ok {
		return fmt.Errorf("too far from the other rows (more than %d steps)", MaxBuckets)
	}
	per := amount / float64(to-from)
	for k := k0; k <= k1; k++ {
		lo, hi := max(from, k*b.step), min(to, (k+1)*b.step)
		i := int(k - b.first)
		b.amount[i] += per * float64(hi-lo)
		b.covered[i] += float64(hi-lo) / 1e9
	}
	return nil
}

// series is the accumulated rates: requests per second of each interval.
func (b *buckets) series() Series {
	s := Series{Start: time.Unix(0, b.first*b.step).UTC(), Step: time.Duration(b.step), Values: make([]float64, len(b.amount))}
	secs := float64(b.step) / 1e9
	for i, a := range b.amount {
		switch {
		case b.covered == nil:
			s.Values[i] = a / secs
		case b.covered[i] <= secs*1e-9:
			s.Values[i] = math.NaN()
		default:
			s.Values[i] = a / b.covered[i]
		}
	}
	return s
}
