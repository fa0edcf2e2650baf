package result

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/flashload/flashload/outcome"
)

// NamedStats is one step's or one journey's part of a run (Summary.Steps, Summary.Journeys):
// its answers, how many were ok and how many failed, and their latency from the intended send
// time, read from the name's own HDR histogram.
type NamedStats struct {
	Count     int64       `json:"count"`
	OK        int64       `json:"ok"`
	Failed    int64       `json:"failed"`
	LatencyMs Percentiles `json:"latency_ms"`
	// ByCode counts a step's answers by CodeLabel (its JSON code, error class or HTTP_status):
	// what the step's requests were answered, which a prediction is held against step by step.
	ByCode map[string]int64 `json:"by_code,omitempty"`
	// Skipped counts the journeys that ended at this step for want of a value: a capture that
	// found nothing in the answer (or an answer not acknowledged, with nothing to capture), or a
	// scope: user value the user never kept. They are not errors of the service.
	Skipped        int64            `json:"skipped,omitempty"`
	SkippedReasons map[string]int64 `json:"skipped_reasons,omitempty"`
}

// Histogram tag prefixes in histograms.hlog for the whole-run histogram of one step or journey
// ("step:purchase", "journey:rusher"), so merges of per-step statistics stay exact.
const (
	TagStepPrefix    = "step:"
	TagJourneyPrefix = "journey:"
)

// namedStat is a shard's (or the merged) counters and histogram of one step or journey.
type namedStat struct {
	count, ok, failed int64
	lat               *hdr.PackedHistogram
	codes             counterSet // answers by CodeLabel (steps only)
	skipped           counterSet // journeys that ended here for want of a value, by reason (steps only)
	pend              denseTally // RecordBatch's latencies not yet in lat (fold)
}

// fold moves the tallied latencies into the histogram.
func (st *namedStat) fold() { st.pend.drain(st.lat) }

func (st *namedStat) record(lat, n int64, failed bool) {
	_ = st.lat.RecordValues(lat, n) // in range by construction
	st.count += n
	if failed {
		st.failed += n
	} else {
		st.ok += n
	}
}

// addAll adds n results whose latencies bs hold (RecordBatch): they wait in st.pend until
// fold, since merging into a whole run's histogram costs its size every time.
func (st *namedStat) addAll(bs []bucketCount, n int64, failed bool) {
	st.pend.addAll(bs)
	st.count += n
	if failed {
		st.failed += n
	} else {
		st.ok += n
	}
}

// namedSet holds the namedStats of a shard by name: like counterSet, a linear scan over the few
// names a run has, a map past 16.
type namedSet struct {
	small []namedEntry
	big   map[string]*namedStat
}

type namedEntry struct {
	key string
	st  *namedStat
}

func (c *namedSet) get(k string) *namedStat {
	for i := range c.small {
		if c.small[i].key == k {
			return c.small[i].st
		}
	}
	if st := c.big[k]; st != nil {
		return st
	}
	st := &namedStat{lat: newPacked()}
	k = strings.Clone(k) // callers may pass strings that alias reused buffers
	if len(c.small) < 16 {
		c.small = append(c.small, namedEntry{k, st})
	} else {
		if c.big == nil {
			c.big = map[string]*namedStat{}
		}
		c.big[k] = st
	}
	return st
}

func (c *namedSet) each(f func(string, *namedStat)) {
	for _, e := range c.small {
		f(e.key, e.st)
	}
	for k, st := range c.big {
		f(k, st)
	}
}

// mergedNamed sums a namedSet over shards (the caller holds no shard lock; each is taken).
type mergedNamed map[string]*namedStat

func (m mergedNamed) add(k string, st *namedStat) {
	d := m[k]
	if d == nil {
		d = &namedStat{lat: newPacked()}
		m[k] = d
	}
	st.fold()
	d.count += st.count
	d.ok += st.ok
	d.failed += st.failed
	d.lat.Merge(st.lat)
	st.codes.mergeInto(&d.codes)
	st.skipped.mergeInto(&d.skipped)
}

func (c *counterSet) mergeInto(dst *counterSet) {
	for _, kc := range c.small {
		dst.add(kc.key, kc.n)
	}
	for k, n := range c.big {
		dst.add(k, n)
	}
}

func (m mergedNamed) stats() map[string]NamedStats {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]NamedStats, len(m))
	for k, st := range m {
		ns := namedStats(st.count, st.ok, st.failed, st.lat)
		if st.codes.len() > 0 {
			ns.ByCode = map[string]int64{}
			st.codes.addTo(ns.ByCode)
		}
		ns.Skipped, ns.SkippedReasons = st.skipped.total(), st.skipped.toMap()
		out[k] = ns
	}
	return out
}

func (m mergedNamed) histograms() map[string]*hdr.PackedHistogram {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*hdr.PackedHistogram, len(m))
	for k, st := range m {
		out[k] = st.lat
	}
	return out
}

func namedStats(count, ok, failed int64, h *hdr.PackedHistogram) NamedStats {
	p := percentiles(h)
	p.Quantiles = nil // the per-name block keeps the headline percentiles
	return NamedStats{Count: count, OK: ok, Failed: failed, LatencyMs: p}
}

// skippedUnsaid is the reason merges give skips a summary counted without reasons.
const skippedUnsaid = "unsaid"

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// total is the sum of the counts.
func (c *counterSet) total() int64 {
	var n int64
	for _, kc := range c.small {
		n += kc.n
	}
	for _, v := range c.big {
		n += v
	}
	return n
}

// CodeLabel names an answer for counting by step and code: its JSON code, else its error
// class ("timeout"), else its HTTP status ("HTTP_503").
func CodeLabel(r *Result) string {
	switch {
	case r.Code != "":
		return r.Code
	case r.Err != outcome.ErrNone:
		return string(r.Err)
	}
	if uint(r.Status) < uint(len(statusLabels)) {
		return statusLabels[r.Status]
	}
	return "HTTP_" + strconv.Itoa(r.Status)
}

// statusLabels are CodeLabel's answers for statuses without a code, made once: Record calls
// CodeLabel on every answer and must not allocate.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = "HTTP_" + strconv.Itoa(i)
	}
	return l
}()

// StepView is one step's answers by CodeLabel and its latency histogram (µs) so far, for an
// exporter of live metrics.
type StepView struct {
	Step    string
	Codes   map[string]int64
	Latency *hdr.PackedHistogram
}

// Steps returns every step's answers and latency so far, sorted by step. It merges the shards'
// histograms: meant for a scrape every few seconds, not for a hot path.
func (r *Recorder) Steps() []StepView {
	m := r.mergeNamed(func(s *Shard) *namedSet { return &s.steps })
	out := make([]StepView, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		st := m[k]
		codes := map[string]int64{}
		st.codes.addTo(codes)
		out = append(out, StepView{Step: k, Codes: codes, Latency: st.lat})
	}
	return out
}

func (r *Recorder) mergeNamed(set func(*Shard) *namedSet) mergedNamed {
	m := mergedNamed{}
	for _, s := range r.shards {
		s.mu.Lock()
		set(s).each(m.add)
		s.mu.Unlock()
	}
	return m
}

// mergeNamedRuns sums the per-step (or per-journey) statistics of runs: exact from the
// histograms when every run carries them, else the counts add and the latency block is the
// largest of the runs' (an upper bound, flagged by the caller's warning).
func mergeNamedRuns(runs []*Run, stats func(*Summary) map[string]NamedStats, hists func(*Run) map[string]*hdr.PackedHistogram) (map[string]NamedStats, map[string]*hdr.PackedHistogram, bool) {
	exact := true
	counts := map[string]*namedStat{}
	var approx map[string]Percentiles
	for _, r := range runs {
		hs := hists(r)
		for k, st := range stats(r.Summary) {
			d := counts[k]
			if d == nil {
				d = &namedStat{lat: newPacked()}
				counts[k] = d
			}
			d.count += st.Count
			d.ok += st.OK
			d.failed += st.Failed
			for c, n := range st.ByCode {
				d.codes.add(c, n)
			}
			for why, n := range st.SkippedReasons {
				d.skipped.add(why, n)
			}
			if extra := st.Skipped - sumCounts(st.SkippedReasons); extra > 0 {
				d.skipped.add(skippedUnsaid, extra) // a summary that kept the count without reasons
			}
			if h := hs[k]; h != nil {
				d.lat.Merge(h)
				continue
			}
			exact = false
			if approx == nil {
				approx = map[string]Percentiles{}
			}
			a := approx[k]
			a.P50, a.P90, a.P99 = max(a.P50, st.LatencyMs.P50), max(a.P90, st.LatencyMs.P90), max(a.P99, st.LatencyMs.P99)
			a.P999, a.Max, a.Mean = max(a.P999, st.LatencyMs.P999), max(a.Max, st.LatencyMs.Max), max(a.Mean, st.LatencyMs.Mean)
			approx[k] = a
		}
	}
	if len(counts) == 0 {
		return nil, nil, true
	}
	out := make(map[string]NamedStats, len(counts))
	hs := make(map[string]*hdr.PackedHistogram, len(counts))
	for k, d := range counts {
		var byCode map[string]int64
		if d.codes.len() > 0 {
			byCode = map[string]int64{}
			d.codes.addTo(byCode)
		}
		skipped, reasons := d.skipped.total(), d.skipped.toMap()
		if a, ok := approx[k]; ok {
			out[k] = NamedStats{Count: d.count, OK: d.ok, Failed: d.failed, LatencyMs: a, ByCode: byCode, Skipped: skipped, SkippedReasons: reasons}
			continue
		}
		ns := namedStats(d.count, d.ok, d.failed, d.lat)
		ns.ByCode, ns.Skipped, ns.SkippedReasons = byCode, skipped, reasons
		out[k] = ns
		hs[k] = d.lat
	}
	return out, hs, exact
}
