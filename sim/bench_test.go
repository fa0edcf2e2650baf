package sim

import (
	"context"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// BenchmarkDoubleElevenDay simulates the bundled 24-hour double-eleven (350k/s at the peak) in
// the fluid mode. The goal is one day in at most 10 s; "x-realtime" is virtual seconds per
// wall second (≥ 8640 meets it).
func BenchmarkDoubleElevenDay(b *testing.B) {
	s, err := scenario.Load("double-eleven")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run, err := Run(context.Background(), s, Options{Mode: ModeFluid})
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.ReportMetric(el.Seconds(), "s/day")
		b.ReportMetric(run.Summary.DurationS/el.Seconds(), "x-realtime")
		b.ReportMetric(float64(run.Summary.Requests.Total)/el.Seconds(), "requests/s")
	}
}
