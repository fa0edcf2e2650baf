package main

import (
	"context"
	"io"
	"testing"
	"time"
)

// The whole jobs users wait for, in process (the binary's code path, its output discarded):
// `flashload sim double-eleven` (fluid, 24 h, summary, histograms and report.html written) and
// `flashload plan double-eleven`. scripts/bench-speed runs them against a baseline build.

func BenchmarkSimCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		opts := &simOptions{Out: io.Discard, Err: io.Discard, NoTUI: true, Dir: b.TempDir(), Mode: "auto"}
		if err := simRun(context.Background(), opts, "double-eleven"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
}

func BenchmarkPlanCommand(b *testing.B) {
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		opts := &planOptions{Out: io.Discard, Err: io.Discard, Mode: "auto", MaxReplicas: 100_000}
		if err := planRun(context.Background(), opts, "double-eleven"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/op")
}
