package engine

import (
	"testing"
	"unsafe"

	"github.com/flashload/flashload/outcome"
)

func TestAttemptIsCompact(t *testing.T) {
	if n := unsafe.Sizeof(Attempt{}); n != 24 {
		t.Errorf("Attempt is %d bytes, want 24", n)
	}
	var l attemptLog
	for i := range 10000 {
		l.add(Attempt{Seq: int64(i)})
	}
	// 16 + 32 + ... + 512 = 1008, then 1024-record chunks: 10000 records in 6 + 9 chunks.
	if l.len() != 10000 || len(l.chunks) != 15 || cap(l.chunks[0]) != 16 || cap(l.chunks[14]) != attemptChunk {
		t.Errorf("len %d in %d chunks", l.len(), len(l.chunks))
	}
}

// TestAttemptSpill: full chunks go to the spill file and come back, with the rest in memory.
func TestAttemptSpill(t *testing.T) {
	sp := newAttemptSpill()
	if sp == nil {
		t.Fatal("no temporary file")
	}
	defer sp.close()
	l := attemptLog{spill: sp}
	const n = 20000
	for i := range n {
		l.add(Attempt{Seq: int64(i), Step: uint16(i % 7), SKU: 1, Qty: 2, Outcome: outcome.Acknowledged, Flags: soldOutIf(i%2 == 0)})
	}
	if sp.n == 0 || sp.n%attemptChunk != 0 || int(sp.n)+l.len() != n {
		t.Fatalf("spilled %d, in memory %d", sp.n, l.len())
	}
	seen := make([]bool, n)
	check := func(a *Attempt) {
		i := a.Seq
		if i < 0 || i >= n || seen[i] || a.Step != uint16(i%7) || a.SKU != 1 || a.Qty != 2 || a.Outcome != outcome.Acknowledged || a.SoldOut() != (i%2 == 0) {
			t.Fatalf("bad record %+v", *a)
		}
		seen[i] = true
	}
	if err := sp.each(check); err != nil {
		t.Fatal(err)
	}
	l.each(check)
	for i, ok := range seen {
		if !ok {
			t.Fatalf("record %d lost", i)
		}
	}
	// Writing after a read-back appends at the end.
	l2 := attemptLog{spill: sp}
	for i := range attemptChunk + 1 {
		l2.add(Attempt{Seq: int64(n + i)})
	}
	if sp.n%attemptChunk != 0 {
		t.Fatalf("spilled %d", sp.n)
	}
}
