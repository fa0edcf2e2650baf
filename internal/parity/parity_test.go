package parity

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// The scenario: a spike with a purchase retried on load refusals and on timeouts. The model
// makes the simulator shed (queue_limit) and time out (timeout) in the spike; live, the test
// stalls the target in the spike (POST /admin/faults) with a low --max-inflight, so the stalled
// requests time out and the ones behind them are shed. max is high enough that no purchase runs
// out of retries while the spike lasts: every chain of attempts ends on an answer the rule does
// not retry.
const spike = `
name: parity
seed: 7
duration: 3s
skus: [{sku: p, stock: 1000000, price: 1}]
traffic:
  arrivals: uniform
  start_rps: 100
  stages:
    - {duration: 1s, rps: 100}
    - {duration: 50ms, rps: 600}
    - {duration: 900ms, rps: 600}
    - {duration: 50ms, rps: 100}
    - {duration: 1s, rps: 100}
journeys:
  - name: buyer
    steps:
      - {purchase: {sku: p, retry: {on: [503, SHED, RATE_LIMITED, timeout], max: 8, backoff: 20ms, jitter: 10ms}}}
model:
  replicas: 1
  workers_per_replica: 2
  service_time: {dist: exponential, mean: 10ms}
  queue_limit: 40
  timeout: 100ms
gates: ["p(99) < 60s"]
`

// TestEnginesApplyOneRule plays the scenario live and simulated and checks, for each, that the
// retries and the outcomes it counted are the ones the shared rule (scenario.StepRules over
// outcome.Of) predicts from the answers it classified.
func TestEnginesApplyOneRule(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 3 s live")
	}
	s, err := scenario.Parse("parity.yaml", []byte(spike))
	if err != nil {
		t.Fatal(err)
	}
	rules := scenario.NewStepRules(&s.Journeys[0].Steps[0])

	simRun, err := sim.Run(context.Background(), s, sim.Options{Mode: sim.ModeRequest, Played: true})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "sim", &rules, simRun.Summary)

	live := playLive(t, s)
	check(t, "live", &rules, live)
}

func playLive(t *testing.T, s *scenario.Scenario) *result.Summary {
	t.Helper()
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: "memory", MaxInflight: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Stop(context.Background()) })
	base, token := tgt.URL(), tgt.AdminToken()

	// The stall starts with the spike: Observe runs from the start of the load (after setup).
	stallInSpike := func(ctx context.Context, _ *result.Recorder, _ func() result.Snapshot) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(1100 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/admin/faults", strings.NewReader(`{"stall":"600ms","for":"700ms"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		} else {
			t.Errorf("faults: %v", err)
		}
	}
	res, err := engine.Run(context.Background(), s, engine.Options{Target: base, AdminToken: token, Setup: true, NoPreflight: true,
		Workers: 2000, MaxConns: 2000, Timeout: 100 * time.Millisecond, Drain: 30 * time.Second, Observe: stallInSpike})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Partial {
		t.Fatalf("the live run was cut: %q", res.Summary.Warnings)
	}
	return res.Summary
}

// check compares what an engine counted with what the shared rule predicts from the answers it
// classified (by code and by error class).
func check(t *testing.T, name string, rules *scenario.StepRules, s *result.Summary) {
	t.Helper()
	q := &s.Requests
	t.Logf("%s: total %d arrivals %d retries %d by code %v by error %v ok %d errors %d shed %d purchase_success %+v",
		name, q.Total, q.Arrivals, q.Retries, q.ByCode, q.ByError, q.OK, q.Errors, q.Shed, s.Rates["purchase_success"])

	// Every answer of the target carries a code, so each one's status is the code's; the rest
	// are errors without an answer. Classify each kind once by the shared rule.
	var answers, again, ok, errs, shed, acked int64
	count := func(status int, code string, errc outcome.ErrorClass, n int64) {
		answers += n
		o := rules.ModelOutcome(status, code, errc)
		if rules.Again(0, status, code, errc, o) {
			again += n // each such answer is retried: no chain here runs out of retries
		}
		switch {
		case o == outcome.Shed || status == 503:
			shed += n
		case o.Errored():
			errs += n
		default:
			ok += n
		}
		if o == outcome.Acknowledged {
			acked += n
		}
	}
	for code, n := range q.ByCode {
		st := codes.Status(code)
		if code == codes.Reserved {
			st = 201 // 200 for a replay: the same outcome
		}
		count(st, code, outcome.ErrNone, n)
	}
	for class, n := range q.ByError {
		count(0, "", outcome.ErrorClass(class), n)
	}
	if answers != q.Total {
		t.Fatalf("%s: %d answers by code or error class of %d: an answer without a code", name, answers, q.Total)
	}
	if q.ByError[string(outcome.ErrTimeout)] == 0 || q.ByCode[codes.Shed] == 0 || q.ByCode[codes.Reserved] == 0 {
		t.Fatalf("%s: the scenario must time out, shed and succeed: by code %v, by error %v", name, q.ByCode, q.ByError)
	}
	// Retries: exactly the answers the rule retries (timeouts included), and every journey's
	// purchase ended on an answer it does not retry.
	if q.Retries != again {
		t.Errorf("%s: %d retries, the rule retries %d of the answers", name, q.Retries, again)
	}
	if q.Arrivals != q.Total-again {
		t.Errorf("%s: %d purchases, but %d answers ended one", name, q.Arrivals, q.Total-again)
	}
	// Outcomes: the Recorder's counts and the purchases' final outcomes follow the same rule.
	if q.OK != ok || q.Errors != errs || q.Shed != shed {
		t.Errorf("%s: ok/errors/shed %d/%d/%d, the rule says %d/%d/%d", name, q.OK, q.Errors, q.Shed, ok, errs, shed)
	}
	if ps := s.Rates["purchase_success"]; ps.Num != acked || ps.Den != q.Arrivals {
		t.Errorf("%s: purchase_success %d/%d, the rule says %d acknowledged of %d purchases", name, ps.Num, ps.Den, acked, q.Arrivals)
	}
}
