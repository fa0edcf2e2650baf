package result

import (
	"math/bits"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Batch gathers many results of one shape for one RecordBatch: the fluid simulator records
// millions of answers a window, a few hundred distinct latencies per shape, and a Shard's
// histograms are sparse (inserting a value costs a search and a shift). Add only notes each
// value's bucket, which costs the simulation next to nothing; RecordBatch, which may run on
// another goroutine, sums a window's batches in dense tallies and merges them into the
// histograms once. Recording a Batch is exact: the Summary, the timeline and histograms.hlog
// are those of RecordN once per added value.
//
// A Batch's results were sent when intended (service time = latency); its Result fields other
// than the times are the shape every added value shares, and Done places the batch in its
// window (the caller keeps every value's answer in that window).
type Batch struct {
	Result
	lat, srv []bucketCount
	n        int64
}

// bucketCount is n values in one histogram bucket.
type bucketCount struct {
	bucket int32
	n      int64
}

// bucketOf is the histogram's bucket of a value in µs (0 ≤ us ≤ HistHighest): values below 2048
// are their own bucket; above, 1024 buckets per power of two.
func bucketOf(us int64) int32 {
	if us < 2048 {
		return int32(us)
	}
	e := bits.Len64(uint64(us)) - 11
	return int32((e+1)<<10 + int(us>>e) - 1024)
}

// bucketValue is the lowest value of bucket i: recorded again, it lands in bucket i.
func bucketValue(i int32) int64 {
	if i < 2048 {
		return int64(i)
	}
	e := int(i>>10) - 1
	return int64(i&1023+1024) << e
}

// Add counts n results whose latency is lat and, when server > 0, whose target's own time is
// server.
func (b *Batch) Add(lat, server time.Duration, n int64) {
	if n <= 0 {
		return
	}
	b.lat = append(b.lat, bucketCount{bucketOf(micros(lat)), n})
	if server > 0 {
		b.srv = append(b.srv, bucketCount{bucketOf(micros(server)), n})
	}
	b.n += n
}

// N is the number of results the batch holds.
func (b *Batch) N() int64 { return b.n }

// denseTally counts values by bucket in an array of every bucket, with a bitmap of the buckets
// in use: O(1) to add to, and read in value order for the bitmap's length, not the array's. It
// gathers what many batches add (a window's, a step's over the run) between two reads.
type denseTally struct {
	counts []int64
	bits   []uint64
	n      int64
}

// addAll adds a batch's values.
func (d *denseTally) addAll(bs []bucketCount) {
	for _, b := range bs {
		d.add(b.bucket, b.n)
	}
}

func (d *denseTally) add(i int32, n int64) {
	if d.counts == nil {
		size := bucketOf(HistHighest) + 1
		d.counts, d.bits = make([]int64, size), make([]uint64, (size+63)/64)
	}
	d.counts[i] += n
	d.bits[i>>6] |= 1 << (i & 63)
	d.n += n
}

// addPacked adds a packed histogram's counts (of the Recorder's geometry).
func (d *denseTally) addPacked(p *hdr.PackedHistogram) {
	p.ForEachBucket(func(value, count int64) bool {
		d.add(bucketOf(value), count)
		return true
	})
}

// drain merges the counts into p and clears the tally. An empty p is filled by appending, bucket
// after bucket; a populated one through a packed copy (inserting into it would shift its
// buckets each time).
func (d *denseTally) drain(p *hdr.PackedHistogram) {
	if d.n == 0 {
		return
	}
	h := p
	if p.TotalCount() > 0 {
		h = newPacked()
	}
	for w, x := range d.bits {
		for ; x != 0; x &= x - 1 {
			i := int32(w<<6 + bits.TrailingZeros64(x))
			_ = h.RecordValues(bucketValue(i), d.counts[i]) // in range by construction
			d.counts[i] = 0
		}
		d.bits[w] = 0
	}
	d.n = 0
	if h != p {
		p.Merge(h)
	}
}

// RecordBatch records the batches' results, as RecordN would each, and empties the batches for
// reuse. Batches of one window are best recorded in one call: their values are summed in a
// tally and merged into the window's sparse histograms once (each merge costs the histogram's
// size). A step's or journey's whole-run values wait in a tally until the Recorder reads them.
func (s *Shard) RecordBatch(bs ...*Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w *window
	for _, b := range bs {
		n := b.n
		if n <= 0 {
			continue
		}
		if nw := s.window(b.Done); nw != w {
			s.foldLocked(w)
			w = nw
		}
		s.pend.addAll(b.lat)
		s.pendSrv.addAll(b.srv)
		failed := s.countLocked(w, &b.Result, n)
		if b.Step != "" {
			s.steps.get(b.Step).addAll(b.lat, n, failed)
		}
		if b.Journey != "" {
			s.journeys.get(b.Journey).addAll(b.lat, n, failed)
		}
		if b.Replica != "" {
			s.replicas.get(b.Replica).addAll(b.lat, n, failed)
		}
		b.lat, b.srv, b.n = b.lat[:0], b.srv[:0], 0
	}
	s.foldLocked(w)
}

// foldLocked merges the shard's tallied batch values into window w's histograms (the caller
// holds s.mu).
func (s *Shard) foldLocked(w *window) {
	if w == nil {
		return
	}
	if s.pend.n > 0 {
		if w.lat.TotalCount() == 0 && w.svc.TotalCount() == 0 {
			// A window's first fold (the fluid mode's only one): filled in place, and the
			// service times, which are the same values, copied.
			s.pend.drain(w.lat)
			w.svc = w.lat.Clone()
		} else {
			h := newPacked()
			s.pend.drain(h)
			w.lat.Merge(h)
			w.svc.Merge(h)
		}
	}
	if s.pendSrv.n > 0 {
		if w.srv == nil {
			w.srv = newPacked()
		}
		s.pendSrv.drain(w.srv)
	}
}
