package rehearse

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/dist"
)

// --work model takes the scenario model's service time and workers; a DIST needs --workers;
// bad values are InputErrors before anything starts.
func TestWorkOptions(t *testing.T) {
	s := tinySale(t, "10", "10") // model: 16 workers, lognormal p50 2ms p99 20ms
	o := Options{Scenario: s, Work: WorkModel}
	if err := o.work(); err != nil {
		t.Fatal(err)
	}
	want := dist.Spec{Kind: dist.LogNormal, P50: 2 * time.Millisecond, P99: 20 * time.Millisecond}
	if o.Target.Workers != 16 || o.Target.Work != want {
		t.Fatalf("--work model: %d × %+v, want 16 × %+v", o.Target.Workers, o.Target.Work, want)
	}
	o = Options{Scenario: s, Work: WorkModel, Target: TargetOptions{Workers: 3}}
	if err := o.work(); err != nil || o.Target.Workers != 3 {
		t.Fatalf("--workers 3 --work model: %d %v", o.Target.Workers, err)
	}
	for _, bad := range []Options{
		{Work: "exp:5ms"},
		{Target: TargetOptions{Workers: 2}},
		{Work: "exp:soon", Target: TargetOptions{Workers: 2}},
		{Work: "exp:5ms", Target: TargetOptions{Workers: -1}},
	} {
		bad.Scenario = s
		var ie *InputError
		if _, err := Run(context.Background(), bad); !errors.As(err, &ie) {
			t.Errorf("%+v: %v, want an InputError", bad, err)
		}
	}
}

// rehearse --workers 2 --work const:5ms: every purchase and payment holds a slot for 5 ms on
// average, so the median service time is near 5 ms, not the fraction of a millisecond the
// target takes without slots. Not "at least 5 ms": a slot wakes its timer's mean lateness early
// so that holds average the drawn time (target/work.go), and on a loaded machine that lateness
// varies, so half the holds can end before 5 ms: CI saw medians of 4.99 ms and, on a fresh
// machine at load 4 under the race detector, 3.86 ms (the compensation then about 1.1 ms). The
// floor, 2.5 ms, is still several times what a purchase takes without a slot.
func TestRunWithWorkSlots(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Options{Scenario: tinySale(t, "50", "40"), Work: "const:5ms",
		Target: TargetOptions{Workers: 2}, NoSim: true, Out: out, Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("%v, failed %v\nstdout:\n%s\nstderr:\n%s", err, res.Failed(), stdout.String(), stderr.String())
	}
	s := readSummary(t, out)
	if s.Requests.Total == 0 || s.ServiceTimeMs.P50 < 2.5 || s.ServiceTimeMs.P50 > 15 {
		t.Fatalf("%d requests, service p50 %.2fms: want about the 5ms every request holds a slot", s.Requests.Total, s.ServiceTimeMs.P50)
	}
}
