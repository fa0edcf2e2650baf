package engine

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Active is the changing set of a run's target replicas that receive requests
// (Options.Active): a fleet that scales while the run goes on (rehearse --replicas MIN..MAX).
// Options.Target lists every replica the fleet can have; Set says which of them take load from
// now on. The request path reads it with one atomic load when it chooses a replica: a worker
// that owns its connection moves (closing it) when its replica leaves the set or the set
// changes its share, a pooled connection to a replica that left and came back is dialled
// again before its next use, and new requests go only to the replicas of the set. Requests
// already on the wire finish where they are.
type Active struct {
	mu sync.Mutex // serialises Set
	p  atomic.Pointer[activeSet]
}

// activeSet is one generation of the set, never changed once published.
type activeSet struct {
	gen   uint64
	on    []bool   // by replica index
	idx   []int    // the replicas of the set, ascending
	since []uint64 // by replica index: the generation in which it last joined the set
}

// NewActive is a set over n replicas (indices 0..n−1 of Options.Target), on at first.
func NewActive(n int, on ...int) (*Active, error) {
	if n < 1 {
		return nil, fmt.Errorf("an active set needs at least one replica, not %d", n)
	}
	a := &Active{}
	a.p.Store(&activeSet{on: make([]bool, n), since: make([]uint64, n)})
	return a, a.Set(on...)
}

// Set makes on the replicas that receive requests from now on (at least one, each < n).
func (a *Active) Set(on ...int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.p.Load()
	n := len(old.on)
	if len(on) == 0 {
		return fmt.Errorf("the active set cannot be empty")
	}
	s := &activeSet{gen: old.gen + 1, on: make([]bool, n), since: slices.Clone(old.since)}
	for _, k := range on {
		if k < 0 || k >= n {
			return fmt.Errorf("no replica %d of %d", k, n)
		}
		s.on[k] = true
	}
	for k := range n {
		if s.on[k] {
			s.idx = append(s.idx, k)
			if !old.on[k] {
				s.since[k] = s.gen
			}
		}
	}
	a.p.Store(s)
	return nil
}

// List is the replicas of the set now, ascending.
func (a *Active) List() []int { return slices.Clone(a.p.Load().idx) }

// Len is the number of replicas the set spans (len of Options.Target's list).
func (a *Active) Len() int { return len(a.p.Load().on) }

// after is the replica of the set after k, round robin (k itself when it is the only one).
func (s *activeSet) after(k int) int {
	n := len(s.on)
	for i := 1; i <= n; i++ {
		if j := (k + i) % n; s.on[j] {
			return j
		}
	}
	return k
}

// own is the replica a worker that keeps its connection uses under s: the workers share the
// set's replicas round robin by id.
func (s *activeSet) own(id int) int { return s.idx[id%len(s.idx)] }
