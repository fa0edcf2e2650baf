package sim

import (
	"context"
	"testing"

	"github.com/flashload/flashload/scenario"
)

func BenchmarkZZPlanTrial(b *testing.B) {
	s, _ := scenario.Load("double-eleven")
	for b.Loop() {
		c0 := cpuTime()
		if _, err := Run(context.Background(), s, Options{Mode: ModeFluid, Strata: 2, FailFast: s.Gates}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric((cpuTime() - c0).Seconds(), "cpu-s")
	}
}
