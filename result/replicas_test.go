package result

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// replicaRun records answers at rate per second for d, each going to pick(i, t), into a
// Recorder with 1 s windows, and returns the finished run. ready sets spans first.
func replicaRun(t *testing.T, d time.Duration, rate int, pick func(i int, at time.Duration) string, ready func(*Recorder)) *Run {
	t.Helper()
	rec := NewRecorder(RecorderOptions{Window: time.Second, Workers: 2})
	if ready != nil {
		ready(rec)
	}
	n := int(d.Seconds() * float64(rate))
	for i := range n {
		at := time.Duration(i) * time.Second / time.Duration(rate)
		id := pick(i, at)
		lat := time.Duration(1000+i%97*10) * time.Microsecond
		if id == "replica-1" {
			lat *= 3
		}
		// Answered at at, so each answer lands in the window of its arrival.
		r := Result{Intended: at - lat, Sent: at - lat, Done: at, Status: 200, Replica: id}
		rec.Shard(i % 2).Record(&r)
	}
	return rec.Finish(d)
}

// TestByReplica: answers are counted per replica with each one's own percentiles (the same a
// histogram of only its latencies gives), per window in the timeline, and a replica the run
// knew was ready but that never answered is in by_replica with count 0 and fair share 0, which
// makes replica_spread 0.
func TestByReplica(t *testing.T) {
	want := map[string]*hdr.Histogram{}
	run := replicaRun(t, 4*time.Second, 300, func(i int, at time.Duration) string {
		id := []string{"replica-0", "replica-1"}[i%2]
		if want[id] == nil {
			want[id] = hdr.New(HistLowest, HistHighest, HistSigFigs)
		}
		lat := time.Duration(1000+i%97*10) * time.Microsecond
		if id == "replica-1" {
			lat *= 3
		}
		_ = want[id].RecordValue(micros(lat))
		return id
	}, func(rec *Recorder) {
		for _, id := range []string{"replica-0", "replica-1", "replica-2"} {
			rec.SetReplicaReady(id, 0, true)
		}
	})
	s := run.Summary
	if len(s.Requests.ByReplica) != 3 {
		t.Fatalf("by_replica %+v: want three replicas", s.Requests.ByReplica)
	}
	for id, h := range want {
		rs := s.Requests.ByReplica[id]
		if rs.Count != 600 || rs.P99Ms != usToMs(h.ValueAtQuantile(99)) || rs.P50Ms != usToMs(h.ValueAtQuantile(50)) {
			t.Errorf("%s: %+v, want count 600 p50 %v p99 %v", id, rs, usToMs(h.ValueAtQuantile(50)), usToMs(h.ValueAtQuantile(99)))
		}
		if len(rs.Ready) != 1 || rs.Ready[0] != (Span{0, 4}) {
			t.Errorf("%s: ready %+v, want [0, 4]", id, rs.Ready)
		}
		if math.Abs(rs.Fair-1.5) > 1e-9 {
			t.Errorf("%s: fair %v, want 1.5 (half the answers where a third is fair)", id, rs.Fair)
		}
	}
	if idle := s.Requests.ByReplica["replica-2"]; idle.Count != 0 || idle.Fair != 0 {
		t.Errorf("idle replica %+v: want count 0, fair 0", idle)
	}
	for _, p := range s.Timeline {
		if p.ByReplica["replica-0"] != 150 || p.ByReplica["replica-1"] != 150 || len(p.ByReplica) != 2 {
			t.Errorf("window %v: by_replica %v, want 150 each", p.Wall, p.ByReplica)
		}
	}
	if v, err := ReplicaSpread(s); err != nil || v != 0 {
		t.Errorf("replica_spread %v (%v), want 0: a ready replica stayed idle", v, err)
	}
	s.Scale = []ScalePoint{{T: 2}, {T: 4}}
	if tr := IdleTrace(s); len(tr) != 2 || tr[0].Desired != 1 || tr[1].Desired != 1 {
		t.Errorf("idle trace %+v: want replica-2 idle at both decisions", tr)
	}
	_, pass, err := EvaluateGates(s, []string{"replica_spread >= 50%"})
	if err != nil || pass {
		t.Errorf("replica_spread >= 50%% passed (%v) with an idle replica", err)
	}
}

// TestReplicaSpreadCountsReadyTime: a replica that joins halfway and then takes its even share
// is as loaded as the others (fair 1, spread 1), though it served a sixth of the answers where
// a third would be even over the whole run; one that joins and takes half of that has fair 0.5,
// and replica_spread is that over the mean of the three replicas' fair shares.
func TestReplicaSpreadCountsReadyTime(t *testing.T) {
	ready := func(rec *Recorder) {
		rec.SetReplicaReady("replica-0", 0, true)
		rec.SetReplicaReady("replica-1", 0, true)
		rec.SetReplicaReady("replica-2", 5*time.Second, true)
	}
	even := replicaRun(t, 10*time.Second, 600, func(i int, at time.Duration) string {
		if at < 5*time.Second {
			return []string{"replica-0", "replica-1"}[i%2]
		}
		return []string{"replica-0", "replica-1", "replica-2"}[i%3]
	}, ready)
	s := even.Summary
	for id, rs := range s.Requests.ByReplica {
		if math.Abs(rs.Fair-1) > 1e-9 {
			t.Errorf("%s: fair %v, want 1", id, rs.Fair)
		}
	}
	if v, err := ReplicaSpread(s); err != nil || math.Abs(v-1) > 1e-9 {
		t.Errorf("replica_spread %v (%v), want 1", v, err)
	}
	if r := s.Requests.ByReplica["replica-2"].ReachS; r == nil || *r != 3 {
		t.Errorf("replica-2 reach %v, want 3 s (its first %d windows)", r, ReachWindows)
	}
	// Decisions every 2 s: no replica idles, the one that joins at 5 s neither.
	s.Scale = []ScalePoint{{T: 2}, {T: 4}, {T: 6}, {T: 8}, {T: 10}}
	for _, p := range IdleTrace(s) {
		if p.Desired != 0 {
			t.Errorf("%d idle replicas at %v s with an even spread", p.Desired, p.T)
		}
	}

	// The new replica gets every sixth answer where a third is fair: half its share.
	half := replicaRun(t, 10*time.Second, 600, func(i int, at time.Duration) string {
		if at < 5*time.Second {
			return []string{"replica-0", "replica-1"}[i%2]
		}
		if i%6 == 0 {
			return "replica-2"
		}
		return []string{"replica-0", "replica-1"}[i%2]
	}, ready)
	s = half.Summary
	if r := s.Requests.ByReplica["replica-2"].ReachS; r != nil {
		t.Errorf("replica-2 at half its share reached %v of its fair share after %v s", ReachLevel, *r)
	}
	s.Scale = []ScalePoint{{T: 8}, {T: 10}}
	if tr := IdleTrace(s); len(tr) != 2 || tr[1].Desired != 0 {
		t.Errorf("idle trace %+v: at half its share replica-2 is not idle", tr)
	}
	f2 := s.Requests.ByReplica["replica-2"].Fair
	if math.Abs(f2-0.5) > 0.01 {
		t.Errorf("new replica's fair %v, want 0.5", f2)
	}
	mean := 0.0
	for _, rs := range s.Requests.ByReplica {
		mean += rs.Fair / 3
	}
	if v, _ := ReplicaSpread(s); math.Abs(v-f2/mean) > 1e-9 || v > 0.6 {
		t.Errorf("replica_spread %v, want %v (its share of the mean share)", v, f2/mean)
	}
}

// TestReplicaSpreadWithoutSpans: a user's service says nothing of readiness: each replica
// counts from its first answer's window to its last's; with no replica named the gate fails
// saying why.
func TestReplicaSpreadWithoutSpans(t *testing.T) {
	run := replicaRun(t, 4*time.Second, 100, func(i int, at time.Duration) string {
		if at >= 2*time.Second {
			return []string{"pod-a", "pod-b"}[i%2]
		}
		return "pod-a"
	}, nil)
	if v, err := ReplicaSpread(run.Summary); err != nil || math.Abs(v-1) > 1e-9 {
		t.Errorf("replica_spread %v (%v), want 1: pod-b counts from its first answer", v, err)
	}
	none := replicaRun(t, time.Second, 10, func(int, time.Duration) string { return "" }, nil)
	if none.Summary.Requests.ByReplica != nil {
		t.Errorf("by_replica %v without replica names", none.Summary.Requests.ByReplica)
	}
	_, err := ReplicaSpread(none.Summary)
	if err == nil || !strings.Contains(err.Error(), "no answer named its replica") {
		t.Errorf("replica_spread without replicas: %v", err)
	}
	gates, pass, _ := EvaluateGates(none.Summary, []string{"replica_spread > 0.5"})
	if pass || gates[0].Error == "" {
		t.Errorf("gate %+v: want a failure with the reason", gates[0])
	}
}

// TestMergeByReplica: by_replica merges exactly across generators through histograms.hlog
// (counts add, percentiles are the union's, ready spans join), and so does the timeline.
func TestMergeByReplica(t *testing.T) {
	var runs []*Run
	union := map[string]*hdr.PackedHistogram{}
	for g := range 2 {
		run := replicaRun(t, 3*time.Second, 200, func(i int, at time.Duration) string {
			return []string{"replica-0", "replica-1"}[(i+g)%2]
		}, func(rec *Recorder) {
			rec.SetReplicaReady("replica-0", 0, true)
			rec.SetReplicaReady("replica-1", time.Duration(g)*time.Second, true)
		})
		dir := t.TempDir()
		if err := run.Write(dir); err != nil {
			t.Fatal(err)
		}
		back, err := ReadRun(dir)
		if err != nil {
			t.Fatal(err)
		}
		for id, h := range back.ByReplica {
			if union[id] == nil {
				union[id] = newPacked()
			}
			union[id].Merge(h)
		}
		runs = append(runs, back)
	}
	m, err := Merge(runs...)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary
	for _, id := range []string{"replica-0", "replica-1"} {
		rs := s.Requests.ByReplica[id]
		if rs.Count != 600 || rs.P99Ms != usToMs(union[id].ValueAtPercentile(99)) {
			t.Errorf("%s: %+v, want count 600 and p99 %v", id, rs, usToMs(union[id].ValueAtPercentile(99)))
		}
	}
	if got := s.Requests.ByReplica["replica-1"].Ready; !slices.Equal(got, []Span{{0, 3}}) {
		t.Errorf("replica-1 ready %+v, want the union [0, 3]", got)
	}
	if p := s.Timeline[1]; p.ByReplica["replica-0"] != 200 || p.ByReplica["replica-1"] != 200 {
		t.Errorf("merged window 1 by_replica %v, want 200 each", p.ByReplica)
	}
	if slices.ContainsFunc(s.Warnings, func(w string) bool { return strings.Contains(w, "per-replica") }) {
		t.Errorf("warnings %v: the merge is exact", s.Warnings)
	}
}

func TestSortReplicaIDs(t *testing.T) {
	ids := []string{"replica-10", "replica-2", "b", "replica-1", "a", "pod-x"}
	SortReplicaIDs(ids)
	if want := []string{"a", "b", "pod-x", "replica-1", "replica-2", "replica-10"}; !slices.Equal(ids, want) {
		t.Errorf("%v, want %v", ids, want)
	}
}

// TestRecordReplicaNoAlloc: counting an answer by replica allocates nothing once the replica
// is known (the engine's hot path).
func TestRecordReplicaNoAlloc(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Window: time.Hour})
	sh := rec.Shard(0)
	r := Result{Intended: time.Millisecond, Sent: time.Millisecond, Done: 2 * time.Millisecond, Status: 200, Replica: "replica-3"}
	sh.Record(&r)
	if n := testing.AllocsPerRun(1000, func() { sh.Record(&r) }); n != 0 {
		t.Errorf("%v allocations per Record with a replica", n)
	}
}
