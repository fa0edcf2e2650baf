//go:build !flashload_heapkernel

// The calendar queue. -tags flashload_heapkernel builds the simple alternative
// (kernel_heap.go) instead, for the whole-job benchmark that keeps this file in the tree
// (scripts/bench-optimisations).

package sim

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Kernel is a discrete-event scheduler: events pop in time order, ties in scheduling order, so a
// run is deterministic.
//
// It is a calendar queue (R. Brown, CACM 1988): a ring of buckets ("days"), each 2^shift ns wide;
// an event goes to bucket (At>>shift) mod the ring's size, kept sorted there. Popping walks the
// ring from the current day and takes the first bucket whose earliest event falls on the day being
// looked at; events a "year" or more ahead wait in their bucket. With a bucket for every one or
// two pending events and a day about as wide as the spacing of the earliest events, a pop and a
// push each touch one bucket holding a few events, whatever the queue's size: O(1), where a heap
// costs O(log n) cache misses once it leaves the L1 cache.
//
// The buckets are flat: bucketSlots events each in one array, with their counts in another, so a
// push touches one place in memory and the walk reads consecutive ones. An event whose bucket is
// full goes to a small 4-ary heap beside the calendar (many events at one instant, or a burst in
// one day); a pop takes the earlier of the two heads.
//
// The calendar adapts: the ring doubles above two events per bucket and halves below one per two
// buckets, and the day's width is re-measured from the earliest events then and whenever pops and
// pushes have done too much work (long walks over empty days, shifts, overflows: more than 6 units
// per pop over 2·ring pops) — the spacing changes when a flash sale's load rises a hundredfold. A
// re-measure sorts the pending times, O(n log n), and is charged to at least 12·ring units of
// wasted work: O(log n) per unit at worst, nothing in steady state.
type Kernel struct {
	now    time.Duration
	seq    uint32
	n      int   // pending events (calendar and overflow)
	popped int64 // events popped so far (Events)
	shift  uint  // a day is 2^shift ns
	mask   int64 // ring size - 1 (a power of two minus one)
	day    int64 // the cursor's day (At>>shift): no event in the calendar is earlier

	// Bucket i holds slots[i*bucketSlots:][:cnt[i]], sorted latest first: its earliest event is
	// the last one.
	slots []Event
	cnt   []uint8
	inCal int     // events in the calendar
	over  []Event // 4-ary min-heap of the events whose bucket was full

	// Adaptation: work (days walked, events shifted, overflows) over the pops since the last check.
	pops, work int
	backoff    uint    // a work re-measure that changed nothing doubles the next budget
	walked     int     // days walked in all, for the tests
	times      []int64 // scratch for re-measuring
	spare      []Event // scratch for re-bucketing
}

const (
	// Eight slots per bucket at two events per bucket at most (on average): overflows stay rare
	// (0.3% in the hold model at 16384 pending) for 96 bytes per event.
	bucketSlots = 8
	maxLoad     = 2
	minBuckets  = 16
	maxBuckets  = 1 << 22
	// A day is about dayFactor times the mean spacing of the earliest events (Brown used 3; with
	// the day rounded to a power of two, 1 keeps the cursor's buckets from filling up).
	dayFactor = 1
	// Re-measure when the work per pop over a check period is above this (a well-sized calendar
	// does 1.2-1.7: the pop's own day plus the odd empty day and shift).
	maxWork = 6
	// What an overflow counts for in work.
	overflowWork = 4
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

// Events is the number of events popped so far: a simulation's events per second are read
// against the kernel's own (BenchmarkKernel).
func (k *Kernel) Events() int64 { return k.popped }

// Len is the number of pending events.
func (k *Kernel) Len() int { return k.n }

// Schedule adds an event. Events in the past run at once (at Now), never backwards in time.
func (k *Kernel) Schedule(e Event) {
	if e.At < k.now {
		e.At = k.now
	}
	k.seq++
	e.seq = k.seq
	k.insert(e)
	k.n++
	if nb := int(k.mask) + 1; k.n > maxLoad*nb && nb < maxBuckets {
		k.rebuild(2 * nb)
	}
}

// insert puts e in its day's bucket, or in the overflow heap when the bucket is full.
func (k *Kernel) insert(e Event) {
	day := int64(e.At) >> k.shift
	i := int(day & k.mask)
	c := int(k.cnt[i])
	if c == bucketSlots {
		k.push(e)
		k.work += overflowWork
		return
	}
	if day < k.day {
		// Only after a Peek moved the cursor ahead of Now.
		k.day = day
	}
	b := k.slots[i*bucketSlots : i*bucketSlots+bucketSlots]
	j := c
	for j > 0 && b[j-1].less(&e) {
		b[j] = b[j-1]
		j--
	}
	b[j] = e
	k.work += c - j
	k.cnt[i] = uint8(c + 1)
	k.inCal++
}

// find returns the bucket of the calendar's earliest event, with the cursor at its day (inCal > 0).
func (k *Kernel) find() int {
	day := k.day
	nb := int(k.mask) + 1
	for walked := 0; ; walked++ {
		if walked == nb {
			// A whole year without an event: look for the earliest one directly.
			day = k.earliestDay()
		}
		i := int(day & k.mask)
		if c := int(k.cnt[i]); c > 0 && int64(k.slots[i*bucketSlots+c-1].At)>>k.shift == day {
			k.work += walked
			k.walked += walked
			k.day = day
			return i
		}
		day++
	}
}

// earliestDay is the least day among the buckets' earliest events (inCal > 0).
func (k *Kernel) earliestDay() int64 {
	var best *Event
	for i, c := range k.cnt[:k.mask+1] {
		if c > 0 {
			if e := &k.slots[i*bucketSlots+int(c)-1]; best == nil || e.less(best) {
				best = e
			}
		}
	}
	return int64(best.At) >> k.shift
}

// head returns the earliest pending event: the calendar's bucket i (-1 for the overflow heap).
func (k *Kernel) head() (*Event, int) {
	if k.inCal == 0 {
		return &k.over[0], -1
	}
	i := k.find()
	e := &k.slots[i*bucketSlots+int(k.cnt[i])-1]
	if len(k.over) > 0 && k.over[0].less(e) {
		return &k.over[0], -1
	}
	return e, i
}

// Peek returns the time of the next event, and false when there is none.
func (k *Kernel) Peek() (time.Duration, bool) {
	if k.n == 0 {
		return 0, false
	}
	e, _ := k.head()
	return e.At, true
}

// Next pops the earliest event and advances Now to its time.
func (k *Kernel) Next() (Event, bool) {
	if k.n == 0 {
		return Event{}, false
	}
	k.popped++
	p, i := k.head()
	e := *p
	if i < 0 {
		k.pop()
	} else {
		k.cnt[i]--
		k.inCal--
	}
	k.n--
	k.now = e.At
	k.pops++
	nb := int(k.mask) + 1
	switch {
	case 4*k.n < maxLoad*nb && nb > minBuckets:
		k.rebuild(nb / 2)
	case k.work > maxWork*2*nb<<k.backoff:
		// The work budget of 2·ring pops is spent, maybe within a few pops (each walking a whole
		// year when the events ahead are much sparser than the days): re-measure now. When that
		// finds the same day again, the distribution defeats the measure: wait twice as long
		// before the next try, so re-measures never cost more than the work they are charged to.
		shift := k.shift
		k.rebuild(nb)
		if k.shift == shift {
			k.backoff = min(k.backoff+1, 16)
		} else {
			k.backoff = 0
		}
	case k.pops >= 2*nb:
		k.pops, k.work = 0, 0
	}
	return e, true
}

func (k *Kernel) setBuckets(nb int) {
	if len(k.cnt) < nb {
		k.cnt = append(k.cnt, make([]uint8, nb-len(k.cnt))...)
		k.slots = append(k.slots, make([]Event, nb*bucketSlots-len(k.slots))...)
	}
	k.mask = int64(nb - 1)
}

// rebuild re-measures the day's width from the pending events and deals them into nb buckets.
func (k *Kernel) rebuild(nb int) {
	all := append(k.spare[:0], k.over...)
	k.over = k.over[:0]
	for i, c := range k.cnt[:k.mask+1] {
		all = append(all, k.slots[i*bucketSlots:][:c]...)
		k.cnt[i] = 0
	}
	k.spare = all
	k.inCal = 0
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
		k.insert(e)
	}
	k.pops, k.work = 0, 0
}

// push adds e to the overflow heap.
func (k *Kernel) push(e Event) {
	h := append(k.over, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if !e.less(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	k.over = h
}

// pop removes the overflow heap's earliest event (len(over) > 0).
func (k *Kernel) pop() {
	h := k.over
	n := len(h) - 1
	x := h[n]
	h = h[:n]
	i := 0
	for {
		c := i<<2 + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < min(c+4, n); j++ {
			if h[j].less(&h[m]) {
				m = j
			}
		}
		if !h[m].less(&x) {
			break
		}
		h[i] = h[m]
		i = m
	}
	if n > 0 {
		h[i] = x
	}
	k.over = h
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
