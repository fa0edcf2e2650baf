package sim

import "time"

// Event is one scheduled happening in virtual time. It is a small value (24 bytes): the kernel
// stores events by value, so scheduling and popping allocate nothing once it has grown.
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
