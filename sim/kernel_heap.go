package sim

import (
	"container/heap"
	"time"
)

// heapKernel is the simple alternative to the calendar queue (Kernel): the same scheduler on a
// binary heap (container/heap). It is the reference the calendar is checked against
// (TestKernelMatchesHeap, FuzzKernel) and measured against: on whole jobs built with
// -tags flashload_heapkernel, which makes it the Kernel (scripts/bench-optimisations; the calendar
// stays only while it saves at least 15% of a request-mode day's CPU time), and in BenchmarkKernel.
type heapKernel struct {
	now    time.Duration
	seq    uint32
	q      events
	popped int64
}

// Events is the number of events popped so far.
func (k *heapKernel) Events() int64 { return k.popped }

// events is the heap. Schedule and Next append and truncate the slice themselves and let
// heap.Fix restore the order, so no event is boxed into an interface (heap.Push and heap.Pop
// would allocate one per call).
type events []Event

func (h events) Len() int           { return len(h) }
func (h events) Less(i, j int) bool { return h[i].less(&h[j]) }
func (h events) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)        { *h = append(*h, x.(Event)) }
func (h *events) Pop() any          { old := *h; e := old[len(old)-1]; *h = old[:len(old)-1]; return e }

func newHeapKernel(capacity int) *heapKernel {
	return &heapKernel{q: make(events, 0, capacity)}
}

// Now is the time of the last event popped.
func (k *heapKernel) Now() time.Duration { return k.now }

// Len is the number of pending events.
func (k *heapKernel) Len() int { return len(k.q) }

// Schedule adds an event. Events in the past run at once (at Now), never backwards in time.
func (k *heapKernel) Schedule(e Event) {
	if e.At < k.now {
		e.At = k.now
	}
	k.seq++
	e.seq = k.seq
	k.q = append(k.q, e)
	heap.Fix(&k.q, len(k.q)-1)
}

// Peek returns the time of the next event, and false when there is none.
func (k *heapKernel) Peek() (time.Duration, bool) {
	if len(k.q) == 0 {
		return 0, false
	}
	return k.q[0].At, true
}

// Next pops the earliest event and advances Now to its time.
func (k *heapKernel) Next() (Event, bool) {
	n := len(k.q)
	if n == 0 {
		return Event{}, false
	}
	k.popped++
	e := k.q[0]
	k.q[0] = k.q[n-1]
	k.q = k.q[:n-1]
	if n > 1 {
		heap.Fix(&k.q, 0)
	}
	k.now = e.At
	return e, true
}
