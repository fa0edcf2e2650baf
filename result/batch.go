package result

import (
	"math/bits"
	"slices"
	"time"
)

// Batch gathers many results of one shape for one RecordBatch: the fluid simulator records
// millions of answers a window, a few hundred distinct latencies per shape, and a Shard's
// histograms are sparse (inserting a value costs a search and a shift), so it tallies them here
// in the histograms' own buckets and hands each window over once. Recording a Batch is exact:
// the Summary, the timeline and histograms.hlog are those of RecordN once per added value.
//
// A Batch's results were sent when intended (service time = latency); its Result fields other
// than the times are the shape every added value shares, and Done places the batch in its
// window (the caller keeps every value's answer in that window).
type Batch struct {
	Result
	lat, srv tally
	n        int64
}

// tally counts values (µs) by histogram bucket: a dense array, and the buckets in use so that
// reading and clearing it costs what was added, not the array's length.
type tally struct {
	counts []int64
	used   []int32
}

// bucketsLen is the number of buckets of the histograms' geometry (1 µs to HistHighest, 3
// significant digits: 2048 sub-buckets, the lower half shared with the bucket below).
var bucketsLen = bucketOf(HistHighest) + 1

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

func (t *tally) add(us, n int64) {
	if t.counts == nil {
		t.counts = make([]int64, bucketsLen)
	}
	i := bucketOf(us)
	if t.counts[i] == 0 {
		t.used = append(t.used, i)
	}
	t.counts[i] += n
}

// Add counts n results whose latency is lat and, when server > 0, whose target's own time is
// server.
func (b *Batch) Add(lat, server time.Duration, n int64) {
	if n <= 0 {
		return
	}
	b.lat.add(micros(lat), n)
	if server > 0 {
		b.srv.add(micros(server), n)
	}
	b.n += n
}

// N is the number of results the batch holds.
func (b *Batch) N() int64 { return b.n }

// drain fills h (empty) from t in value order, where each bucket is appended, and clears t.
func (t *tally) drain(h interface{ RecordValues(v, n int64) error }) {
	slices.Sort(t.used)
	for _, i := range t.used {
		_ = h.RecordValues(bucketValue(i), t.counts[i]) // in range by construction
		t.counts[i] = 0
	}
	t.used = t.used[:0]
}

// RecordBatch records the batch's results, as RecordN would each, and empties the batch for
// reuse.
func (s *Shard) RecordBatch(b *Batch) {
	n := b.n
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scratch == nil {
		s.scratch = newPacked()
	}
	h := s.scratch
	h.Reset()
	b.lat.drain(h)
	w := s.window(b.Done)
	w.lat.Merge(h)
	w.svc.Merge(h)
	if len(b.srv.used) > 0 {
		if w.srv == nil {
			w.srv = newPacked()
		}
		srv := newPacked()
		b.srv.drain(srv)
		w.srv.Merge(srv)
	}
	failed := s.countLocked(w, &b.Result, n)
	if b.Step != "" {
		s.steps.get(b.Step).merge(h, n, failed)
	}
	if b.Journey != "" {
		s.journeys.get(b.Journey).merge(h, n, failed)
	}
	b.n = 0
}
