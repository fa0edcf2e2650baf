package sim

import "time"

// Event is one scheduled happening in virtual time. It is a small value: the kernel stores
// events by value in one slice, so scheduling and popping allocate nothing.
type Event struct {
	At   time.Duration // virtual time
	Kind uint8         // what happens (the model's own numbering)
	Arg  int32         // e.g. a replica index
	ID   int64         // e.g. a request index
	seq  uint32        // scheduling order, for ties (compared modulo 2³²)
}

// Kernel is a discrete-event scheduler: a 4-ary min-heap of events ordered by time, ties broken
// by scheduling order so a run is deterministic. A 4-ary heap halves the depth of a binary one
// and keeps siblings in one cache line, which is what makes it fast at the queue sizes the
// service model produces (one pending event per busy worker plus the next arrival).
type Kernel struct {
	now  time.Duration
	seq  uint32
	heap []Event
}

func (a *Event) less(b *Event) bool {
	return a.At < b.At || (a.At == b.At && int32(a.seq-b.seq) < 0)
}

// NewKernel returns a kernel with room for capacity pending events.
func NewKernel(capacity int) *Kernel { return &Kernel{heap: make([]Event, 0, capacity)} }

// Now is the time of the last event popped.
func (k *Kernel) Now() time.Duration { return k.now }

// Len is the number of pending events.
func (k *Kernel) Len() int { return len(k.heap) }

// Schedule adds an event. Events in the past run at once (at Now), never backwards in time.
func (k *Kernel) Schedule(e Event) {
	if e.At < k.now {
		e.At = k.now
	}
	k.seq++
	e.seq = k.seq
	h := append(k.heap, e)
	i := len(h) - 1
	x := h[i]
	for i > 0 {
		p := (i - 1) >> 2
		if !x.less(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = x
	k.heap = h
}

// Peek returns the time of the next event, and false when there is none.
func (k *Kernel) Peek() (time.Duration, bool) {
	if len(k.heap) == 0 {
		return 0, false
	}
	return k.heap[0].At, true
}

// Next pops the earliest event and advances Now to its time.
func (k *Kernel) Next() (Event, bool) {
	h := k.heap
	n := len(h)
	if n == 0 {
		return Event{}, false
	}
	top := h[0]
	n--
	x := h[n]
	h = h[:n]
	i := 0
	for {
		c := i<<2 + 1
		if c >= n {
			break
		}
		m := c
		end := c + 4
		if end > n {
			end = n
		}
		for j := c + 1; j < end; j++ {
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
	k.heap = h
	k.now = top.At
	return top, true
}
