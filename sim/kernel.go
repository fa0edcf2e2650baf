package sim

import "time"

// Event is one scheduled happening in virtual time. It is a small value (24 bytes): the kernel
// stores events by value in one slice, so scheduling and popping allocate nothing.
type Event struct {
	At   time.Duration // virtual time
	ID   int32         // e.g. a request index
	Arg  int32         // e.g. a shard index
	seq  uint32        // scheduling order, for ties (compared modulo 2³²)
	Kind uint8         // what happens (the model's own numbering)
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

// Next pops the earliest event and advances Now to its time. It sifts bottom-up: the hole
// left at the root walks down to a leaf along the smaller children (one comparison among
// siblings per level, none against the moved element), then the last element climbs from
// there, usually not far: fewer comparisons than the textbook sift-down.
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
	if n > 0 {
		i := 0
		for {
			c := i<<2 + 1
			if c >= n {
				break
			}
			m := c
			if end := min(c+4, n); end-c == 4 {
				// Four children: a small tournament.
				a, b := c, c+2
				if h[c+1].less(&h[c]) {
					a = c + 1
				}
				if h[c+3].less(&h[c+2]) {
					b = c + 3
				}
				m = a
				if h[b].less(&h[a]) {
					m = b
				}
			} else {
				for j := c + 1; j < end; j++ {
					if h[j].less(&h[m]) {
						m = j
					}
				}
			}
			h[i] = h[m]
			i = m
		}
		for i > 0 {
			p := (i - 1) >> 2
			if !x.less(&h[p]) {
				break
			}
			h[i] = h[p]
			i = p
		}
		h[i] = x
	}
	k.heap = h
	k.now = top.At
	return top, true
}
