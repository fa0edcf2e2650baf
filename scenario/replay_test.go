package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWithReplay(t *testing.T) {
	s, err := Load("double-eleven")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	curve := filepath.Join(dir, "p90.csv")
	os.WriteFile(curve, []byte("# start 2025-11-11T00:00:00Z step 1m\nt,rps\n0,100\n60,300\n120,200\n"), 0o644)
	r, err := s.WithReplay(curve)
	if err != nil {
		t.Fatal(err)
	}
	if r.Duration.D() != 2*time.Minute || len(r.Traffic.Stages) != 0 || r.Traffic.Replay != curve || len(r.ReplayPoints) != 3 {
		t.Fatalf("replaced: duration %v, stages %d, replay %q, points %d", r.Duration.D(), len(r.Traffic.Stages), r.Traffic.Replay, len(r.ReplayPoints))
	}
	if len(s.Traffic.Stages) == 0 || s.Traffic.Replay != "" {
		t.Fatal("the original scenario changed")
	}
	c, err := r.Curve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Total() != 60*200+60*250 || c.Peak() != 300 {
		t.Fatalf("curve total %v peak %v", c.Total(), c.Peak())
	}
	if r.Compress != s.Compress || r.RateScale != s.RateScale || len(r.Journeys) != len(s.Journeys) || len(r.Gates) != len(s.Gates) {
		t.Fatal("the rest of the scenario was not kept")
	}
	p, err := r.Play(PlayOptions{RateScale: 1, Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.ScenarioDuration() != 2*time.Minute {
		t.Fatalf("play lasts %v", p.ScenarioDuration())
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("t,rps\n0,1\n0,2\n"), 0o644)
	if _, err := s.WithReplay(bad); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a curve going back: %v", err)
	}
	if _, err := s.WithReplay(filepath.Join(dir, "none.csv")); err == nil {
		t.Fatal("a missing curve was accepted")
	}
	closed := *s
	closed.Traffic.Model = "closed"
	if _, err := closed.WithReplay(curve); err == nil || !strings.Contains(err.Error(), "closed model") {
		t.Fatalf("closed model: %v", err)
	}
}
