package sim

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Event is one scheduled happening in virtual time. It is a small value (24 bytes): the kernel
// stores events by value, so scheduling and popping allocate nothing once its buckets have grown.
type Event struct {
	At   time.Duration // virtual time
	ID   int32         // e.g. a request index
	Arg  int32         // e.g. a shard index
	seq  uint32        // scheduling order, for ties (compared modulo 2³²)
	Kind uint8         // what happens (the model's own numbering)
}

func (a *Event) less(b *Event) bool {
	return a.At < b.At || (a.At == b.At && int32(a.seq-b.seq) < 0)
}

// Kernel is a discrete-event scheduler: events pop in time order, ties in scheduling order, so a
// run is deterministic.
//
// It is a calendar queue (R. Brown, CACM 1988): a ring of buckets ("days"), each 2^shift ns wide;
// an event goes to bucket (At>>shift) mod len(buckets), kept sorted there. Popping walks the ring
// from the current day and takes the first bucket whose earliest event falls on the day being
// looked at; events a "year" or more ahead wait in their bucket. With about one bucket per pending
// event and a day about as wide as the spacing of the earliest events, a pop and a push each touch
// one or two buckets holding a few events, whatever the queue's size: O(1), where a heap costs
// O(log n) cache misses once it leaves the L1 cache.
//
// The calendar adapts: the ring doubles when there are more than two events per bucket and halves
// below one per two buckets, and the day's width is re-measured from the earliest events then and
// whenever pops and pushes do too much work (long walks over empty days, long shifts inside a
// bucket) — the spacing changes when a flash sale's load rises a hundredfold. A re-measure costs a
// sort of the pending times, O(n log n), at most once per 2n events, so it is O(log n)/event in
// the worst case and nothing in steady state.
type Kernel struct {
	now   time.Duration
	seq   uint32
	n     int      // pending events
	shift uint     // a day is 2^shift ns
	mask  int64    // len(buckets)-1 (a power of two minus one)
	day   int64    // the cursor's day (At>>shift): no pending event is earlier
	bkt   []bucket // len(bkt) may exceed mask+1: the spare buckets keep their arrays for regrowth

	// Adaptation: work (days walked and elements shifted) over the pops since the last check.
	pops, work int
	times      []int64 // scratch for re-measuring
	spare      []Event // scratch for re-bucketing
}

// bucket holds the events of one day of each year, sorted by (At, seq) from head on.
type bucket struct {
	ev   []Event
	head int
}

const (
	minBuckets = 16
	maxBuckets = 1 << 22
	// A day is about dayFactor times the mean spacing of the earliest events (Brown used 3).
	dayFactor = 2
	// Re-measure when the work per pop over a check period is above this (a well-sized calendar
	// does about 1.5: the pop's own day plus the odd empty day and shift).
	maxWork = 6
	// Before any measurement: a day of 2^20 ns (about 1 ms).
	initialShift = 20
)

// NewKernel returns a kernel with room for about capacity pending events before it grows.
func NewKernel(capacity int) *Kernel {
	k := &Kernel{shift: initialShift}
	k.setBuckets(minBuckets)
	k.times = make([]int64, 0, capacity)
	k.spare = make([]Event, 0, capacity)
	return k
}

// Now is the time of the last event popped.
func (k *Kernel) Now() time.Duration { return k.now }

// Len is the number of pending events.
func (k *Kernel) Len() int { return k.n }

// Schedule adds an event. Events in the past run at once (at Now), never backwards in time.
func (k *Kernel) Schedule(e Event) {
	if e.At < k.now {
		e.At = k.now
	}
	k.seq++
	e.seq = k.seq
	day := int64(e.At) >> k.shift
	if day < k.day {
		// Only after a Peek moved the cursor ahead of Now.
		k.day = day
	}
	k.work += k.insert(e, day)
	k.n++
	if nb := int(k.mask) + 1; k.n > 2*nb && nb < maxBuckets {
		k.rebuild(2 * nb)
	}
}

// insert puts e in its day's bucket and returns how many events it moved to keep the order.
func (k *Kernel) insert(e Event, day int64) int {
	b := &k.bkt[day&k.mask]
	ev := b.ev
	if b.head == len(ev) {
		ev, b.head = ev[:0], 0
	} else if len(ev) == cap(ev) && b.head > 0 {
		// Reuse the popped space at the front before append would grow the array.
		ev = ev[:copy(ev, ev[b.head:])]
		b.head = 0
	}
	ev = append(ev, e)
	i := len(ev) - 1
	for i > b.head && e.less(&ev[i-1]) {
		ev[i] = ev[i-1]
		i--
	}
	ev[i] = e
	b.ev = ev
	return len(ev) - 1 - i
}

// find returns the day of the earliest pending event, with the cursor at it (n > 0).
func (k *Kernel) find() int64 {
	day := k.day
	nb := int(k.mask) + 1
	for walked := 0; ; walked++ {
		if walked == nb {
			// A whole year without an event: look for the earliest one directly.
			day = k.earliestDay()
		}
		b := &k.bkt[day&k.mask]
		if b.head < len(b.ev) && int64(b.ev[b.head].At)>>k.shift == day {
			k.work += walked
			k.day = day
			return day
		}
		day++
	}
}

// earliestDay is the least day among the buckets' first events (n > 0).
func (k *Kernel) earliestDay() int64 {
	var best *Event
	for i := range k.bkt[:k.mask+1] {
		b := &k.bkt[i]
		if b.head < len(b.ev) && (best == nil || b.ev[b.head].less(best)) {
			best = &b.ev[b.head]
		}
	}
	return int64(best.At) >> k.shift
}

// Peek returns the time of the next event, and false when there is none.
func (k *Kernel) Peek() (time.Duration, bool) {
	if k.n == 0 {
		return 0, false
	}
	b := &k.bkt[k.find()&k.mask]
	return b.ev[b.head].At, true
}

// Next pops the earliest event and advances Now to its time.
func (k *Kernel) Next() (Event, bool) {
	if k.n == 0 {
		return Event{}, false
	}
	b := &k.bkt[k.find()&k.mask]
	e := b.ev[b.head]
	b.head++
	k.n--
	k.now = e.At
	k.pops++
	nb := int(k.mask) + 1
	switch {
	case k.n < nb/2 && nb > minBuckets:
		k.rebuild(nb / 2)
	case k.pops >= 2*nb:
		if k.work > maxWork*k.pops {
			k.rebuild(nb)
		}
		k.pops, k.work = 0, 0
	}
	return e, true
}

func (k *Kernel) setBuckets(nb int) {
	if len(k.bkt) < nb {
		k.bkt = append(k.bkt, make([]bucket, nb-len(k.bkt))...)
	}
	k.mask = int64(nb - 1)
}

// rebuild re-measures the day's width from the pending events and deals them into nb buckets.
func (k *Kernel) rebuild(nb int) {
	all := k.spare[:0]
	for i := range k.bkt[:k.mask+1] {
		b := &k.bkt[i]
		all = append(all, b.ev[b.head:]...)
		b.ev, b.head = b.ev[:0], 0
	}
	k.spare = all
	k.setBuckets(nb)
	if len(all) > 1 {
		ts := k.times[:0]
		for i := range all {
			ts = append(ts, int64(all[i].At))
		}
		slices.Sort(ts)
		k.times = ts
		k.shift = dayShift(ts, k.shift)
	}
	k.day = int64(k.now) >> k.shift
	for _, e := range all {
		k.insert(e, int64(e.At)>>k.shift)
	}
	k.pops, k.work = 0, 0
}

// dayShift picks the day's width, a power of two, from the sorted pending times: dayFactor times
// the mean spacing of the earliest quarter of them (at least 16), which is where the cursor will be
// walking; far-off events (the next autoscaler tick) do not widen the days. It keeps old when all
// the times are equal.
func dayShift(ts []int64, old uint) uint {
	n := len(ts)
	m := min(n, max(16, n/4))
	span, gaps := ts[m-1]-ts[0], m-1
	if span <= 0 {
		span, gaps = ts[n-1]-ts[0], n-1
	}
	if span <= 0 {
		return old
	}
	w := uint64(dayFactor*float64(span)/float64(gaps) + 0.5)
	if w <= 1 {
		return 0
	}
	// Round to the nearest power of two (by the geometric mean of the neighbours: ×1.41).
	s := uint(bits.Len64(w - 1)) // 2^s ≥ w
	if s > 0 && float64(w) < math.Exp2(float64(s)-0.5) {
		s--
	}
	return min(s, 62)
}
