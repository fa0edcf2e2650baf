package result

import (
	"cmp"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// ReplicaStats is one replica's part of a run (Requests.ByReplica): the answers that named it
// (the target's X-Flashload-Replica header, a header the user names, or the simulator's replica)
// and their latency from the intended send time, from the replica's own HDR histogram.
type ReplicaStats struct {
	Count  int64   `json:"count"`
	Failed int64   `json:"failed,omitempty"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	// Ready are the spans of the run clock in which the replica was ready (a fleet's active set:
	// it took new connections or requests), when the run knew them: a rehearsal's fleet and the
	// simulator say so; a user's service does not, and its replicas then count as ready from
	// their first answer's window to their last's.
	Ready []Span `json:"ready,omitempty"`
	// Fair is the replica's answers over its fair share: the answers of each window split
	// evenly over the replicas ready in it, summed over the windows it was ready in. 1 is an
	// even spread; a replica that stayed idle while ready has 0. See ReplicaSpread.
	Fair float64 `json:"fair"`
	// ReachS is how long after it first became ready the replica's answers over ReachWindows
	// windows first came to ReachLevel of its fair share (run-clock seconds); nil when they
	// never did. A replica behind a layer-4 front reaches it only as connections reopen.
	ReachS *float64 `json:"reach_s,omitempty"`
}

// ReachLevel and ReachWindows define ReplicaStats.ReachS: 80% of the fair share over 3
// consecutive windows (one window's few answers are too noisy).
const (
	ReachLevel   = 0.8
	ReachWindows = 3
)

// Span is an interval of the run clock, in seconds.
type Span struct {
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
}

// TagReplicaPrefix is the histograms.hlog tag prefix of a replica's whole-run latency
// ("replica:replica-2"), which keeps per-replica percentiles exact across merges.
const TagReplicaPrefix = "replica:"

// SetReplicaReady says that the replica named id is ready (on) or no longer ready from run-clock
// time wall: a fleet's autoscaler or the simulator tells the Recorder which replicas took load,
// so a replica that stayed idle while it could have served shows in the summary (count 0) and
// in the replica_spread gate. Calls for one replica come in time order.
func (r *Recorder) SetReplicaReady(id string, wall time.Duration, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready == nil {
		r.ready = map[string][]Span{}
	}
	spans := r.ready[id]
	open := len(spans) > 0 && spans[len(spans)-1].ToS < 0
	at := max(wall, 0).Seconds()
	switch {
	case on && !open:
		r.ready[id] = append(spans, Span{FromS: at, ToS: -1})
	case !on && open:
		spans[len(spans)-1].ToS = at
	}
}

// readyNow is the replicas ready now, in ID order. Called with r.mu held.
func (r *Recorder) readyNow() []string {
	var out []string
	for id, spans := range r.ready {
		if len(spans) > 0 && spans[len(spans)-1].ToS < 0 {
			out = append(out, id)
		}
	}
	SortReplicaIDs(out)
	return out
}

// finishReplicas is the summary's by_replica: each replica's counters and percentiles, and its
// ready spans closed at end. Called with r.mu held.
func (r *Recorder) finishReplicas(end time.Duration) (map[string]ReplicaStats, map[string]*hdr.PackedHistogram) {
	m := r.mergeNamed(func(s *Shard) *namedSet { return &s.replicas })
	if len(m) == 0 && len(r.ready) == 0 {
		return nil, nil
	}
	out := make(map[string]ReplicaStats, len(m))
	for id, st := range m {
		out[id] = replicaStats(st.count, st.failed, st.lat)
	}
	for id, spans := range r.ready {
		rs := out[id]
		for _, sp := range spans {
			if sp.ToS < 0 {
				sp.ToS = end.Seconds()
			}
			if sp.ToS > sp.FromS {
				rs.Ready = append(rs.Ready, sp)
			}
		}
		out[id] = rs
	}
	return out, m.histograms()
}

func replicaStats(count, failed int64, h *hdr.PackedHistogram) ReplicaStats {
	rs := ReplicaStats{Count: count, Failed: failed}
	if h.TotalCount() > 0 {
		rs.P50Ms, rs.P99Ms = usToMs(h.ValueAtPercentile(50)), usToMs(h.ValueAtPercentile(99))
	}
	return rs
}

// toMap is the counters as a map, nil when there are none.
func (c *counterSet) toMap() map[string]int64 {
	if len(c.small) == 0 && len(c.big) == 0 {
		return nil
	}
	m := make(map[string]int64, len(c.small)+len(c.big))
	c.addTo(m)
	return m
}

// FillReplicaShares sets every replica's Fair (its answers over its fair share) from the
// timeline's per-window answers and the replicas' ready spans. Engines' summaries get it from
// Finish and merges; call it again after changing by_replica or the timeline.
func FillReplicaShares(s *Summary) {
	fair := fairShares(s)
	for id, rs := range s.Requests.ByReplica {
		f := fair[id]
		rs.Fair, rs.ReachS = 0, nil
		if f.fair > 0 {
			rs.Fair = f.got / f.fair
		}
		if f.reached {
			r := f.reach
			rs.ReachS = &r
		}
		s.Requests.ByReplica[id] = rs
	}
}

// fairShare is a replica's answers while ready and its fair share of them; reach is when its
// last ReachWindows windows first came to ReachLevel of their fair share, from its first ready
// moment.
type fairShare struct {
	got, fair float64
	reach     float64
	reached   bool
	from      float64   // its first ready moment
	recent    []float64 // got and fair of its last windows: got0, fair0, got1, fair1, ...
}

// fairShares is, per replica, the answers it got while ready and its fair share of them: in
// each timeline window, the answers of the replicas ready in it split by the part of the window
// each was ready. A replica without known spans counts as ready from the start of the first
// window with its answers to the end of the last.
func fairShares(s *Summary) map[string]fairShare {
	reps := s.Requests.ByReplica
	if len(reps) == 0 || len(s.Timeline) == 0 {
		return nil
	}
	win := s.WindowS
	if win <= 0 {
		return nil
	}
	ready := make(map[string][]Span, len(reps))
	for id, rs := range reps {
		if len(rs.Ready) > 0 {
			ready[id] = rs.Ready
			continue
		}
		first, last := math.Inf(1), math.Inf(-1)
		for _, p := range s.Timeline {
			if p.ByReplica[id] > 0 {
				first, last = min(first, p.Wall), max(last, p.Wall+win)
			}
		}
		if first < last {
			ready[id] = []Span{{first, last}}
		}
	}
	out := make(map[string]fairShare, len(reps))
	for id, spans := range ready {
		out[id] = fairShare{from: spans[0].FromS}
	}
	frac := make(map[string]float64, len(reps))
	for _, p := range s.Timeline {
		var total, sum float64
		clear(frac)
		for id, spans := range ready {
			f := overlap(spans, p.Wall, p.Wall+win) / win
			if f <= 0 {
				continue
			}
			frac[id] = f
			sum += f
			total += float64(p.ByReplica[id])
		}
		if sum == 0 {
			continue
		}
		for id, f := range frac {
			o := out[id]
			got, fair := float64(p.ByReplica[id]), total*f/sum
			o.got += got
			o.fair += fair
			o.recent = append(o.recent, got, fair)
			if len(o.recent) > 2*ReachWindows {
				o.recent = o.recent[2:]
			}
			if !o.reached && len(o.recent) == 2*ReachWindows {
				var g, fr float64
				for i := 0; i < len(o.recent); i += 2 {
					g, fr = g+o.recent[i], fr+o.recent[i+1]
				}
				if fr > 0 && g >= ReachLevel*fr {
					o.reached, o.reach = true, max(0, p.Wall+win-o.from)
				}
			}
			out[id] = o
		}
	}
	return out
}

// IdleTrace is, at each autoscaler decision of the run (Summary.Scale), how many of the
// replicas ready in the period before it took less than half their fair share of its answers:
// a ScalePoint with T the decision's time, Ready the replicas ready then and Desired that count.
// It leaves out where the fleet's size differs and keeps how the load spread over it: compared
// (CompareScale) with the simulator's, it says whether the live fleet's replicas idled as
// predicted, within the autoscaling trace's tolerance of one replica and one period. Nil
// without decisions or replicas.
func IdleTrace(s *Summary) []ScalePoint {
	if len(s.Scale) < 2 || len(s.Requests.ByReplica) == 0 || s.WindowS <= 0 {
		return nil
	}
	period := s.Scale[1].T - s.Scale[0].T
	var out []ScalePoint
	for _, d := range s.Scale {
		part := *s
		part.Timeline = nil
		for _, p := range s.Timeline {
			if p.T > d.T-period-1e-9 && p.T < d.T-1e-9 {
				part.Timeline = append(part.Timeline, p)
			}
		}
		idle := 0
		for _, f := range fairShares(&part) {
			if f.fair > 0 && f.got < f.fair/2 {
				idle++
			}
		}
		out = append(out, ScalePoint{T: d.T, Util: d.Util, Ready: d.Ready, Desired: idle})
	}
	return out
}

// overlap is the seconds of [a, b] that spans cover.
func overlap(spans []Span, a, b float64) float64 {
	var t float64
	for _, sp := range spans {
		t += max(0, min(b, sp.ToS)-max(a, sp.FromS))
	}
	return t
}

// ReplicaSpread is the gate column replica_spread: the least-loaded ready replica's share of the
// mean share (its Fair over the mean Fair of the replicas that had a fair share), 0..1. 1 is an
// even spread; a replica that was ready and stayed idle makes it 0. It fails when no answer
// named its replica.
func ReplicaSpread(s *Summary) (float64, error) {
	fair := fairShares(s)
	var n int
	var sum, least float64
	least = math.Inf(1)
	for _, f := range fair {
		if f.fair <= 0 {
			continue
		}
		share := f.got / f.fair
		n++
		sum += share
		least = min(least, share)
	}
	if n == 0 {
		return 0, errors.New("no answer named its replica (the target's replica header, or --replica-header)")
	}
	if sum == 0 {
		return 0, nil
	}
	return min(1, least/(sum/float64(n))), nil
}

// mergeReplicaRuns sums the runs' by_replica: exact from the histograms when every run carries
// them, else the counts add and the percentiles are the largest of the runs' (the caller warns).
// Ready spans are the union of the runs' (generators see one fleet).
func mergeReplicaRuns(runs []*Run) (map[string]ReplicaStats, map[string]*hdr.PackedHistogram, bool) {
	exact := true
	type acc struct {
		count, failed int64
		lat           *hdr.PackedHistogram
		approx        *ReplicaStats
		ready         []Span
	}
	m := map[string]*acc{}
	for _, r := range runs {
		for id, rs := range r.Summary.Requests.ByReplica {
			a := m[id]
			if a == nil {
				a = &acc{lat: newPacked()}
				m[id] = a
			}
			a.count += rs.Count
			a.failed += rs.Failed
			a.ready = unionSpans(a.ready, rs.Ready)
			if h := r.ByReplica[id]; h != nil {
				a.lat.Merge(h)
				continue
			}
			if rs.Count == 0 {
				continue
			}
			exact = false
			if a.approx == nil {
				a.approx = &ReplicaStats{}
			}
			a.approx.P50Ms, a.approx.P99Ms = max(a.approx.P50Ms, rs.P50Ms), max(a.approx.P99Ms, rs.P99Ms)
		}
	}
	if len(m) == 0 {
		return nil, nil, true
	}
	out := make(map[string]ReplicaStats, len(m))
	hs := map[string]*hdr.PackedHistogram{}
	for id, a := range m {
		rs := replicaStats(a.count, a.failed, a.lat)
		if a.approx != nil {
			rs.P50Ms, rs.P99Ms = a.approx.P50Ms, a.approx.P99Ms
		} else if a.lat.TotalCount() > 0 {
			hs[id] = a.lat
		}
		rs.Ready = a.ready
		out[id] = rs
	}
	return out, hs, exact
}

// unionSpans merges b into a: sorted, overlapping spans joined.
func unionSpans(a, b []Span) []Span {
	if len(b) == 0 {
		return a
	}
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y Span) int { return cmp.Compare(x.FromS, y.FromS) })
	out := all[:1]
	for _, sp := range all[1:] {
		if last := &out[len(out)-1]; sp.FromS <= last.ToS {
			last.ToS = max(last.ToS, sp.ToS)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// SortReplicaIDs sorts replica IDs as people read them: a shared prefix, then the number
// (replica-2 before replica-10), else as text.
func SortReplicaIDs(ids []string) {
	slices.SortFunc(ids, compareReplicaIDs)
}

// ReplicaIDs is the run's replica IDs in SortReplicaIDs order.
func ReplicaIDs(s *Summary) []string {
	ids := slices.Collect(maps.Keys(s.Requests.ByReplica))
	SortReplicaIDs(ids)
	return ids
}

func compareReplicaIDs(a, b string) int {
	pa, na, oka := splitNumber(a)
	pb, nb, okb := splitNumber(b)
	if oka && okb && pa == pb {
		return cmp.Compare(na, nb)
	}
	return strings.Compare(a, b)
}

// splitNumber splits "replica-12" into "replica-" and 12.
func splitNumber(s string) (string, int, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || len(s)-i > 9 {
		return s, 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}
