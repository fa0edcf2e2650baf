package scenario

import (
	"testing"
	"time"
)

// BenchmarkSchedule generates a whole schedule of about a million arrivals (one op), the job a
// generator does ahead of its requests: the bundled double-eleven as a live run plays it (the
// file's compression, the rate scale set for 10⁶ arrivals: three quarters of them in the
// midnight spike, played slowly), the same as the simulator plays it (uncompressed: nearly all
// of them in the piecewise-linear evening and day), and group-buy (a sine) as played.
func BenchmarkSchedule(b *testing.B) {
	for _, c := range []struct {
		name, scenario string
		sim            bool
	}{
		{"double-eleven/played", "double-eleven", false},
		{"double-eleven/sim", "double-eleven", true},
		{"group-buy/played", "group-buy", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Load(c.scenario)
			if err != nil {
				b.Fatal(err)
			}
			o := PlayOptions{Uncompressed: c.sim, RateScale: 1}
			if !c.sim {
				o.RateScale = s.RateScale
			}
			p, err := s.Play(o)
			if err != nil {
				b.Fatal(err)
			}
			o.RateScale *= 1e6 / p.Total()
			if p, err = s.Play(o); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := 0
			var sum time.Duration
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				it := p.Arrivals()
				for a, ok := it.Next(); ok; a, ok = it.Next() {
					sum += a.Wall
					n++
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "arrivals/op")
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n), "ns/arrival")
			if cpu1, ok := processCPU(); ok && cpuOK && cpu1 > cpu0 {
				// on a shared machine wall time includes other processes' turns: CPU time does not
				b.ReportMetric((cpu1-cpu0).Seconds()*1e9/float64(n), "cpu-ns/arrival")
			}
			_ = sum
		})
	}
}
