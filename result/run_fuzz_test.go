package result

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func FuzzParseSummary(f *testing.F) {
	f.Add([]byte(`{"schema":"flashload.summary/v1","name":"x","timeline":[{"t":1}],"rates":{"pay_success":{"num":1,"den":2}}}`))
	f.Add([]byte(`{"schema":"flashload.summary/v0"}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`{"schema":"flashload.summary/v1","gates":[{"expr":"p(99) < 1s","value":3,"pass":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSummary(b)
		if err != nil {
			return
		}
		if s.Schema != SummarySchema {
			t.Fatalf("accepted schema %q", s.Schema)
		}
		// Whatever parses can be gated without panicking.
		s.Gates, _, _ = EvaluateGates(s, append(GateExprs(s.Gates), "p(99) < 1s", "rate(pay_success) > 99%", "achieved_rate >= 95% of target"))
	})
}

// FuzzReadHistograms feeds histograms.hlog variants to the reader: it must fail cleanly or give
// windows whose histograms add up to the totals.
func FuzzReadHistograms(f *testing.F) {
	rec := NewRecorder(RecorderOptions{Window: time.Second, StartedAt: time.Unix(1_800_000_000, 0)})
	for i := range 50 {
		d := time.Duration(i) * 50 * time.Millisecond
		rec.Shard(0).Record(&Result{Intended: d, Sent: d, Done: d + time.Duration(i)*time.Millisecond, Status: 201})
	}
	run := rec.Finish(3 * time.Second)
	var b bytes.Buffer
	if err := run.WriteHistograms(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.String())
	f.Add(strings.Replace(b.String(), "Tag=latency,", "Tag=latency", 1))
	f.Add("#[StartTime: 1.5 (seconds since epoch)]\nTag=latency,0.0,1.0,0.1,HISTFAAAACR4nJNpmSzMwMDAxIAKGO3/Ntj/h4gxgwCzKw8uBhQAAF2nBTU=\n")
	f.Add("0.0,1.0,0.1,notbase64\n")
	f.Fuzz(func(t *testing.T, log string) {
		r := &Run{Summary: &Summary{StartedAt: time.Unix(1_800_000_000, 0)}, Window: time.Second}
		if err := r.readHistograms(strings.NewReader(log)); err != nil {
			return
		}
		var n int64
		for _, w := range r.Windows {
			n += w.Latency.TotalCount()
		}
		if n != r.Latency.TotalCount() {
			t.Fatalf("windows hold %d latencies, the total %d", n, r.Latency.TotalCount())
		}
	})
}
