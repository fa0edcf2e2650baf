package result

import (
	"strings"
	"sync"
	"time"

	"github.com/flashload/flashload/outcome"
)

// Shard is one worker's part of a Recorder. Its methods are safe for concurrent use, but meant to
// be called from one goroutine: the mutex is then uncontended.
type Shard struct {
	mu   sync.Mutex
	win  time.Duration
	cur  *window
	open map[int64]*window // windows not yet harvested, including cur

	total, ok, errs, shed, dropped, retries, bytes, arrivals int64

	byStatus [600]int64 // statuses 0..599; others in more
	more     map[int]int64
	// RecordBatch's latencies and target's own times of one window, before foldLocked
	pend, pendSrv denseTally
	byCode        counterSet
	byError       counterSet
	steps         namedSet   // per step: counters, latency histogram, answers by CodeLabel
	journeys      namedSet   // per journey: counters and latency histogram
	replicas      namedSet   // per replica (Result.Replica): counters and latency histogram
	byDrop        counterSet // dropped arrivals by the limit that dropped them (DropFor)
	conc          *concTable // made by the first result that knows its in-flight count
	ratios        map[string]*[2]int64
}

// counterSet counts by a string key. The few keys a run has (codes, steps, journeys) are found
// by a linear scan, which beats hashing the string; past 16 keys a map takes over.
type counterSet struct {
	small []keyCount
	big   map[string]int64
}

type keyCount struct {
	key string
	n   int64
}

func (c *counterSet) add(k string, n int64) {
	for i := range c.small {
		if c.small[i].key == k {
			c.small[i].n += n
			return
		}
	}
	if len(c.small) < 16 {
		// Copy the key: callers may pass strings that alias reused buffers.
		c.small = append(c.small, keyCount{strings.Clone(k), n})
		return
	}
	if c.big == nil {
		c.big = map[string]int64{}
	}
	if _, ok := c.big[k]; !ok {
		k = strings.Clone(k)
	}
	c.big[k] += n
}

func (c *counterSet) addTo(dst map[string]int64) {
	for _, kc := range c.small {
		dst[kc.key] += kc.n
	}
	for k, n := range c.big {
		dst[k] += n
	}
}

func newShard(win time.Duration) *Shard {
	return &Shard{win: win, open: map[int64]*window{}, ratios: map[string]*[2]int64{}}
}

func (s *Shard) window(t time.Duration) *window {
	idx := int64(0)
	if t > 0 {
		idx = int64(t / s.win)
	}
	if s.cur != nil && s.cur.idx == idx {
		return s.cur
	}
	w := s.open[idx]
	if w == nil {
		w = newWindow(idx)
		s.open[idx] = w
	}
	s.cur = w
	return w
}

// Record records one result. Its window is the one holding r.Done (when the answer came).
func (s *Shard) Record(r *Result) { s.RecordN(r, 1) }

// RecordN records n identical results (the fluid simulator).
func (s *Shard) RecordN(r *Result, n int64) {
	if n <= 0 {
		return
	}
	lat, svc := micros(r.Done-r.Intended), micros(r.Done-r.Sent)
	s.mu.Lock()
	w := s.window(r.Done)
	_ = w.lat.RecordValues(lat, n) // in range by construction
	_ = w.svc.RecordValues(svc, n)
	srv, hasSrv := micros(r.Server), r.Server > 0
	if hasSrv {
		if w.srv == nil {
			w.srv = newPacked()
		}
		_ = w.srv.RecordValues(srv, n)
	}
	failed := s.countLocked(w, r, n)
	if r.Step != "" {
		s.steps.get(r.Step).record(lat, n, failed)
	}
	if r.Journey != "" {
		s.journeys.get(r.Journey).record(lat, n, failed)
	}
	if r.Replica != "" {
		s.replicas.get(r.Replica).record(lat, n, failed)
	}
	if r.InFlight > 0 {
		if s.conc == nil {
			s.conc = new(concTable)
		}
		s.conc.add(r.InFlight, svc, srv, hasSrv, n)
	}
	s.mu.Unlock()
}

// countLocked counts n results like r in the shard's and window w's counters (not the
// histograms) and says whether they failed. The caller holds s.mu.
func (s *Shard) countLocked(w *window, r *Result, n int64) (failed bool) {
	w.n += n
	s.total += n
	if r.First && !r.Retry {
		w.arrivals += n
		s.arrivals += n
	}
	o := Classify(r)
	failed = true
	switch {
	case o == outcome.Shed || r.Status == 503 && !r.Classified:
		s.shed += n
		w.shed += n
	case o.Errored():
		s.errs += n
		w.errs += n
	default:
		s.ok += n
		failed = false
	}
	if uint(r.Status) < uint(len(s.byStatus)) {
		s.byStatus[r.Status] += n
	} else {
		if s.more == nil {
			s.more = map[int]int64{}
		}
		s.more[r.Status] += n
	}
	if r.Code != "" {
		s.byCode.add(r.Code, n)
	}
	if r.Err != outcome.ErrNone {
		s.byError.add(string(r.Err), n)
	}
	if r.Step != "" {
		s.steps.get(r.Step).codes.add(CodeLabel(r), n)
	}
	if r.Replica != "" {
		w.reps.add(r.Replica, n)
	}
	if r.Retry {
		s.retries += n
	}
	s.bytes += int64(r.Bytes) * n
	return failed
}

// Drop counts an arrival no worker could start on time, in the window of its intended time.
func (s *Shard) Drop(intended time.Duration) { s.DropN(intended, 1) }

// DropN counts n dropped arrivals.
func (s *Shard) DropN(intended time.Duration, n int64) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.window(intended).drops += n
	s.dropped += n
	s.mu.Unlock()
}

// DropFor counts an arrival dropped for a known reason: the limit that was reached (Drop
// reasons in the summary's requests.dropped_by: max-workers, max-conns, cpu).
func (s *Shard) DropFor(intended time.Duration, reason string) {
	s.mu.Lock()
	s.window(intended).drops++
	s.dropped++
	s.byDrop.add(reason, 1)
	s.mu.Unlock()
}

// Skip counts a journey that ended at step for want of a value (a capture that found nothing,
// a scope: user value never kept), with the reason: summary steps.STEP.skipped and
// skipped_reasons. The step's requests, if any, are recorded as usual.
func (s *Shard) Skip(step, reason string) { s.SkipN(step, reason, 1) }

// SkipN counts n such journeys (the simulator's fluid mode).
func (s *Shard) SkipN(step, reason string, n int64) {
	if n <= 0 || step == "" {
		return
	}
	s.mu.Lock()
	s.steps.get(step).skipped.add(reason, n)
	s.mu.Unlock()
}

// Ratio counts one trial of a named success rate (gates read it as rate(NAME)).
func (s *Shard) Ratio(name string, ok bool) {
	var hit int64
	if ok {
		hit = 1
	}
	s.RatioN(name, hit, 1)
}

// RatioN adds num successes out of den trials to a named rate.
func (s *Shard) RatioN(name string, num, den int64) {
	s.mu.Lock()
	p := s.ratios[name]
	if p == nil {
		p = new([2]int64)
		s.ratios[strings.Clone(name)] = p
	}
	p[0] += num
	p[1] += den
	s.mu.Unlock()
}

// len is the number of keys counted.
func (c *counterSet) len() int { return len(c.small) + len(c.big) }
