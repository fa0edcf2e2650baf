package engine

import (
	"io"
	"os"
	"strconv"
	"sync"
	"unsafe"

	"github.com/flashload/flashload/audit"
)

// Attempt is the audit's record of one purchase attempt; the engine keeps them in per-worker
// logs (below) and hands them to audit.Check at the end.
type Attempt = audit.Attempt

const noSKU = audit.NoSKU

// appendKey appends an attempt's idempotency key (audit.AppendKey): RUN-SEQ-STEP.
func appendKey(dst []byte, run string, seq int64, step uint16) []byte {
	return audit.AppendKey(dst, run, seq, step)
}

// appendUser appends the X-User-Id of user number u: the number itself, as {{user}} renders it.
func appendUser(dst []byte, u int64) []byte {
	return strconv.AppendInt(dst, u, 10)
}

const attemptChunk = 1024

// attemptLog is one worker's append-only list of attempts, in chunks so that growing it never
// copies what is already there. Chunks start small and double up to attemptChunk: a worker that
// made a handful of purchases holds a handful of records, not a 16 KiB chunk. A full chunk of
// attemptChunk records goes to the run's spill file when there is one, so memory stays flat
// however long the run. mu guards against the audit reading while a straggling session (one cut
// by the drain) still writes.
type attemptLog struct {
	mu     sync.Mutex
	chunks [][]Attempt
	spill  *attemptSpill
}

func (l *attemptLog) add(a Attempt) {
	l.mu.Lock()
	n := len(l.chunks)
	if n > 0 && len(l.chunks[n-1]) == attemptChunk && l.spill != nil && l.spill.write(l.chunks[n-1]) {
		l.chunks[n-1] = l.chunks[n-1][:0]
	}
	if n == 0 || len(l.chunks[n-1]) == cap(l.chunks[n-1]) {
		size := 16
		if n > 0 {
			size = min(2*cap(l.chunks[n-1]), attemptChunk)
		}
		l.chunks = append(l.chunks, make([]Attempt, 0, size))
		n++
	}
	l.chunks[n-1] = append(l.chunks[n-1], a)
	l.mu.Unlock()
}

// len is the number of attempts held in memory (not those spilled).
func (l *attemptLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.chunks {
		n += len(c)
	}
	return n
}

// each calls f on the attempts held in memory (not those spilled).
func (l *attemptLog) each(f func(*Attempt)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.chunks {
		for i := range c {
			f(&c[i])
		}
	}
}

// attemptSpill is a temporary file of full attempt chunks, in the process's own memory layout
// (written and read back by the same run). Its failures are not fatal: a chunk that cannot be
// written stays in memory.
type attemptSpill struct {
	mu  sync.Mutex
	f   *os.File
	n   int64 // records written
	err error
}

func newAttemptSpill() *attemptSpill {
	f, err := os.CreateTemp("", "flashload-attempts-*")
	if err != nil {
		return nil
	}
	// Unlinked at once where the system allows it (the open file stays usable), so a run that
	// is killed leaves no file behind; elsewhere close removes it.
	_ = os.Remove(f.Name())
	return &attemptSpill{f: f}
}

func attemptBytes(recs []Attempt) []byte {
	if len(recs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&recs[0])), len(recs)*int(unsafe.Sizeof(Attempt{})))
}

// write appends recs to the file; false when it could not.
func (s *attemptSpill) write(recs []Attempt) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if _, err := s.f.Write(attemptBytes(recs)); err != nil {
		s.err = err
		return false
	}
	s.n += int64(len(recs))
	return true
}

// each reads the spilled attempts back.
func (s *attemptSpill) each(f func(*Attempt)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	buf := make([]Attempt, attemptChunk)
	left := s.n
	for left > 0 {
		k := min(left, int64(len(buf)))
		if _, err := io.ReadFull(s.f, attemptBytes(buf[:k])); err != nil {
			return err
		}
		for i := range buf[:k] {
			f(&buf[i])
		}
		left -= k
	}
	_, err := s.f.Seek(0, io.SeekEnd)
	return err
}

func (s *attemptSpill) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.Close()
	_ = os.Remove(s.f.Name()) // already gone where it was unlinked at creation
}
