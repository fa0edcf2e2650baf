package sim

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/flashload/flashload/scenario"
)

// TestHerdInRequestMode: the bundled countdown at its played scale: 3,000 watchers start the
// herd's journey at the opening (10 scenario minutes at compress 20: 30 s of run clock) plus the
// fan-out, all within its first second; the push block is the model's push tier; a model whose
// replicas cannot hold the crowd says so.
func TestHerdInRequestMode(t *testing.T) {
	s, err := scenario.Load("countdown")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, Options{Mode: ModeRequest, Played: true})
	if err != nil {
		t.Fatal(err)
	}
	h, p := res.Summary.Herd, res.Summary.Push
	if h == nil || p == nil {
		t.Fatalf("herd %+v push %+v", h, p)
	}
	t.Logf("herd %+v push %+v", *h, *p)
	if h.Watchers != 3000 || math.Abs(h.OpenedAtS-30) > 0.001 || h.PurchasesFirst != 3000 || h.Purchases < 3000 {
		t.Errorf("herd %+v", *h)
	}
	// 3,000 watchers on 20 replicas: 150 each, 5 µs apiece on one core: 0.75 ms.
	if p.ConnectionsPeak != 3000 || math.Abs(p.FanoutSpreadMs-0.75) > 1e-6 {
		t.Errorf("push %+v", *p)
	}
	s.Model.Push.ConnsPerReplica = 100
	res, err = Run(context.Background(), s, Options{Mode: ModeRequest, Played: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Summary.Warnings, "\n"), "the push tier needs 30 replicas to hold 3000 watchers") {
		t.Errorf("no push-tier warning: %q", res.Summary.Warnings)
	}
}
