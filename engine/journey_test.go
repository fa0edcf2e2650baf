package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/scenario"
)

// TestJourneys plays the preset steps against the target: view, think, purchase, pay, cancel,
// join_group with a group purchase, wait_until_open on a sale that opens a moment later.
func TestJourneys(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, `
name: journeys
duration: 1s
skus:
  - {sku: mug, stock: 1000, price: 20, cost: 10}
  - {sku: later, stock: 1000, price: 20, starts_at: "+1500ms"}
traffic: {arrivals: uniform, start_rps: 60, stages: [{duration: 1s, rps: 60}]}
journeys:
  - name: payer
    steps: [{view: {sku: mug}}, {think: {min: 5ms, max: 20ms}}, {purchase: {sku: mug}}, {pay: {probability: 1}}]
  - name: canceller
    steps: [{purchase: {sku: mug}}, {cancel: {probability: 1}}]
  - name: grouper
    steps: [{join_group: {sku: mug, size: 2}}, {purchase: {sku: mug, group: true}}]
  - name: waiter
    steps: [{wait_until_open: {sku: later}}, {purchase: {sku: later}}]
`)
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	t.Logf("by step %v by code %v rates %v audit %+v", sum.Requests.ByStep, sum.Requests.ByCode, sum.Rates, sum.Audit)
	for _, j := range []string{"payer", "canceller", "grouper", "waiter"} {
		if sum.Requests.ByJourney[j] == 0 {
			t.Errorf("journey %s never ran", j)
		}
	}
	if r := sum.Rates["pay_success"]; r.Den == 0 || r.Num != r.Den {
		t.Errorf("pay_success %+v", r)
	}
	if r := sum.Rates["cancel_success"]; r.Den == 0 || r.Num != r.Den {
		t.Errorf("cancel_success %+v", r)
	}
	if sum.Requests.ByCode[codes.NotStarted] != 0 {
		t.Errorf("%d purchases before the sale opened: wait_until_open did not wait", sum.Requests.ByCode[codes.NotStarted])
	}
	if sum.Requests.ByCode[codes.Joined] == 0 {
		t.Errorf("no group joined: %v", sum.Requests.ByCode)
	}
	if r := sum.Rates["purchase_success"]; r.Den == 0 || r.Num != r.Den {
		t.Errorf("purchase_success %+v (codes %v)", r, sum.Requests.ByCode)
	}
	a := sum.Audit
	if !a.Checked || a.Paid == 0 || a.Released == 0 || a.Oversold != 0 || a.Lost != 0 || a.Duplicates != 0 || a.Unexpected != 0 {
		t.Errorf("audit %+v", a)
	}
}

// TestClosedModel: vus users loop for the scenario's duration; nothing is dropped.
func TestClosedModel(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, `
name: closed
duration: 1s
skus: [{sku: mug, stock: 10, price: 20}]
traffic: {model: closed, vus: 8}
journeys: [{name: viewer, steps: [{view: {sku: mug}}]}]
`)
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	if sum.Requests.Total < 50 || sum.Requests.Dropped != 0 || sum.Requests.ByStatus["200"] != sum.Requests.Total || sum.Partial {
		t.Errorf("closed model: %+v partial %v", sum.Requests, sum.Partial)
	}
}

// TestIdlePool: workers start on demand up to the bound, a busy pool refuses, and trim retires
// the longest idle.
func TestIdlePool(t *testing.T) {
	got := make(chan int, 10)
	var p *idlePool
	p = newIdlePool(3, func(id int, ch <-chan scenario.Arrival) {
		go func() {
			for range ch {
				got <- id
			}
		}()
	})
	for i := 0; i < 3; i++ {
		if !p.offer(scenario.Arrival{Seq: int64(i)}) {
			t.Fatalf("offer %d refused", i)
		}
	}
	if p.offer(scenario.Arrival{Seq: 3}) {
		t.Fatal("a fourth arrival was taken by a pool of 3 busy workers")
	}
	for i := 0; i < 3; i++ {
		p.put(<-got)
	}
	if p.alive() != 3 {
		t.Fatalf("%d alive", p.alive())
	}
	p.trim(0) // retires one of the three (half the excess, rounded down)
	if p.alive() != 2 {
		t.Fatalf("%d alive after trim", p.alive())
	}
	if !p.offer(scenario.Arrival{Seq: 4}) {
		t.Fatal("refused with free workers")
	}
	p.close()
	if p.alive() != 0 {
		t.Fatal("alive after close")
	}
}

// TestPreflightWarns: a peak far beyond what this machine can generate is warned about before
// any load (the run is only prepared here, never started).
func TestPreflightWarns(t *testing.T) {
	s := mustParse(t, constantScenario(100_000_000, "10s", ""))
	r, err := prepare(s, Options{Target: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	r.rec = NewRecorder(s, r.play, r.opts, 1)
	r.warn = &warner{rec: r.rec, last: map[string]time.Time{}}
	r.preflight(false)
	if r.ceiling <= 0 {
		t.Fatalf("ceiling %v", r.ceiling)
	}
	w := r.rec.Snapshot(0).Warnings
	if len(w) != 1 || !strings.Contains(w[0], "pre-flight") {
		t.Errorf("warnings %q", w)
	}
}
