package feed

import (
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// spanKeep is how many recent (SKU, seq) pairs a Meter follows for the fan-out spread; an
// older one is closed when a newer one needs its place.
const spanKeep = 4096

// Meter adds up the receipts of many subscribers. Its methods are safe for concurrent use.
type Meter struct {
	conns, peak, failures, messages atomic.Int64

	mu     sync.Mutex
	lat    *hdrhistogram.Histogram // push latency, µs
	spans  map[spanKey]*span
	order  []spanKey // spans' keys, oldest first (a ring of spanKeep)
	head   int
	spread time.Duration // the largest closed spread
}

type spanKey struct {
	sku string
	seq int64
}

type span struct{ first, last time.Time }

// NewMeter returns an empty Meter.
func NewMeter() *Meter {
	return &Meter{lat: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3), spans: map[spanKey]*span{}}
}

// Connected counts a subscription made; Disconnected one ended; Failed a connect that failed.
func (m *Meter) Connected() {
	n := m.conns.Add(1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (m *Meter) Disconnected() { m.conns.Add(-1) }
func (m *Meter) Failed()       { m.failures.Add(1) }

// Record counts one receipt: its latency, when it has one, and its place in its seq's spread
// (a connection's first message is the state at connect, not a fan-out: it counts only as a
// message).
func (m *Meter) Record(r *Receipt) {
	m.messages.Add(1)
	if !r.Parsed || r.First && r.Latency == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Latency > 0 {
		_ = m.lat.RecordValue(max(1, int64(r.Latency/time.Microsecond)))
	}
	if r.First {
		return
	}
	k := spanKey{r.SKU, r.Seq}
	if s := m.spans[k]; s != nil {
		if r.At.Before(s.first) {
			s.first = r.At
		}
		if r.At.After(s.last) {
			s.last = r.At
		}
		return
	}
	if len(m.order) < spanKeep {
		m.order = append(m.order, k)
	} else {
		m.close(m.order[m.head])
		m.order[m.head] = k
		m.head = (m.head + 1) % spanKeep
	}
	m.spans[k] = &span{r.At, r.At}
}

func (m *Meter) close(k spanKey) {
	if s := m.spans[k]; s != nil {
		m.spread = max(m.spread, s.last.Sub(s.first))
		delete(m.spans, k)
	}
}

// Stats is what a Meter has counted so far.
type Stats struct {
	Connections     int64 // held now
	Peak            int64 // most held at once
	ConnectFailures int64
	Messages        int64
	// Latency: the server's send time to receipt, over messages that carry one (µs
	// resolution, 3 significant digits).
	Latency struct{ P50, P90, P99, Max time.Duration }
	// Spread is the largest time from the first to the last receipt of one message (one SKU
	// and seq) over all subscribers: the fan-out spread, which needs no common clock.
	Spread time.Duration
}

// Stats reads the counts.
func (m *Meter) Stats() Stats {
	var s Stats
	s.Connections, s.Peak = m.conns.Load(), m.peak.Load()
	s.ConnectFailures, s.Messages = m.failures.Load(), m.messages.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if m.lat.TotalCount() > 0 {
		s.Latency.P50, s.Latency.P90 = us(m.lat.ValueAtQuantile(50)), us(m.lat.ValueAtQuantile(90))
		s.Latency.P99, s.Latency.Max = us(m.lat.ValueAtQuantile(99)), us(m.lat.Max())
	}
	s.Spread = m.spread
	for _, sp := range m.spans {
		s.Spread = max(s.Spread, sp.last.Sub(sp.first))
	}
	return s
}
