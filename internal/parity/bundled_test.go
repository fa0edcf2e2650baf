package parity

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// Every bundled scenario is played twice at the same played scale and seed: live, against the
// reference target in-process (the memory strategy), and by the simulator's request mode. Both
// interpret one journey program and the simulator answers by the target's rules, so what each
// step was answered must agree: the same step names, and per step the same answers by code
// within a statistical tolerance. The model is generous on purpose (nothing queues, sheds or
// times out), and the rate is low enough for a busy machine, so the counts differ only by
// chance: each arrival's journey, user and pauses are the same in both, while pay's coin and
// retries' jitter come from different sources, and a request that is answered a few
// milliseconds later live can fall on the other side of a sell-out or a window's edge.

// parityModel gives the simulator a service that keeps up with the played rate.
var parityModel = &scenario.Model{Replicas: 16, WorkersPerReplica: 256,
	ServiceTime: scenario.ServiceTime{Dist: "deterministic", Mean: scenario.Duration(time.Millisecond)}}

// parityArrivals is about how many arrivals each played scenario has: enough for the counts to
// mean something, few enough that 15 scenarios play in a couple of minutes under -race.
const parityArrivals = 600

// groupRace are the answers of the race between sessions that find a group full: every one of
// them opens a group of its own until the first new group's id reaches the others. The window
// is the journeys' time between finding the group full and learning of its successor, which on
// a loaded machine is mostly the client's own scheduling, not the latency the model is given:
// live, up to about three times as many sessions lose the race. The simulation is a lower
// bound, within four times.
var groupRace = map[string]bool{codes.GroupCreated: true, codes.GroupFull: true}

// tolerance is how far apart two counts of one step and code may be: about four standard
// deviations of a Poisson count, plus a few answers for the edges of sell-outs and windows.
func tolerance(a, b int64) float64 { return 8 + 4*math.Sqrt(float64(max(a, b))) }

func TestParityBundledScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("plays every bundled scenario live")
	}
	for _, name := range scenario.BundledNames() {
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			compareStepAnswers(t, s, prepareParity(t, s, 4*time.Second))
		})
	}
}

// prepareParity strips what the comparison leaves out (faults, the scenario's own capacity
// model) and picks the rate scale that plays about parityArrivals arrivals in wall.
func prepareParity(t *testing.T, s *scenario.Scenario, wall time.Duration) scenario.PlayOptions {
	t.Helper()
	s.Faults = nil
	s.Model = parityModel
	full, err := s.Play(scenario.PlayOptions{Wall: wall, RateScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	return scenario.PlayOptions{Wall: wall, RateScale: min(1, parityArrivals/max(full.Total(), 1))}
}

// compareStepAnswers plays s live and simulated and compares the answers step by step.
func compareStepAnswers(t *testing.T, s *scenario.Scenario, po scenario.PlayOptions) (live, simulated *result.Summary) {
	t.Helper()
	s.Faults = nil
	liveRun := playParity(t, s, po)
	live = liveRun.Summary
	// The model's service time is the live run's latency, as measured (its histogram): how long
	// a request is in flight, as its journey sees it, decides how many journeys act on the same
	// state at once (how many find a group full before its successor is known, how many buy
	// the last units) and how often a wait polls, and it varies with the machine's load and the
	// race detector.
	st, err := sim.EmpiricalFromPacked(liveRun.Latency, time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	s.Model = parityModel
	simRun, err := sim.Run(context.Background(), s, sim.Options{Mode: sim.ModeRequest, Played: true, Wall: po.Wall, RateScale: po.RateScale,
		ServiceTime: st})
	if err != nil {
		t.Fatal(err)
	}
	if d := stepDiff(live.Steps, simRun.Summary.Steps); d != "" {
		t.Errorf("%s: the live run and the simulation answered the steps differently (live | sim):\n%s", s.Name, d)
	}
	return live, simRun.Summary
}

func playParity(t *testing.T, s *scenario.Scenario, po scenario.PlayOptions) *result.Run {
	t.Helper()
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Stop(context.Background()) })
	res, err := engine.Run(context.Background(), s, engine.Options{Target: tgt.URL(), AdminToken: tgt.AdminToken(), Setup: true,
		NoPreflight: true, Play: po, Timeout: 10 * time.Second, Drain: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Partial {
		t.Fatalf("the live run was cut: %q", res.Summary.Warnings)
	}
	if d := res.Summary.Requests.Dropped; d > 0 {
		t.Fatalf("the live run dropped %d arrivals: the machine could not keep up, the comparison means nothing", d)
	}
	return res
}

// stepDiff lists every step and code whose counts differ by more than the tolerance, and every
// step one side has and the other lacks; "" when they agree.
func stepDiff(live, simulated map[string]result.NamedStats) string {
	var out []string
	names := map[string]bool{}
	for k := range live {
		names[k] = true
	}
	for k := range simulated {
		names[k] = true
	}
	for _, step := range slices.Sorted(maps.Keys(names)) {
		l, lok := live[step]
		m, mok := simulated[step]
		if !lok || !mok {
			out = append(out, fmt.Sprintf("  step %q: live %v, sim %v (a step only one engine has)", step, lok, mok))
			continue
		}
		codes := map[string]bool{}
		for c := range l.ByCode {
			codes[c] = true
		}
		for c := range m.ByCode {
			codes[c] = true
		}
		keys := slices.Sorted(maps.Keys(codes))
		sort.Strings(keys)
		for _, c := range keys {
			a, b := l.ByCode[c], m.ByCode[c]
			if groupRace[c] {
				if lo, hi := float64(b)-tolerance(a, b), 4*float64(b)+tolerance(a, b); float64(a) < lo || float64(a) > hi {
					out = append(out, fmt.Sprintf("  %s %s: %d | %d (the live count must be in %.0f..%.0f)", step, c, a, b, lo, hi))
				}
				continue
			}
			if math.Abs(float64(a-b)) > tolerance(a, b) {
				out = append(out, fmt.Sprintf("  %s %s: %d | %d (tolerance %.0f)", step, c, a, b, tolerance(a, b)))
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestParityRules plays the scenario of every rule the two engines once decided apart (see
// testdata/rules.yaml) and holds both the steps' answers and the named rates to one another.
func TestParityRules(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 4 s live")
	}
	s, err := scenario.Load("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	live, simulated := compareStepAnswers(t, s, scenario.PlayOptions{RateScale: 1})
	for _, want := range []string{"request1", "wait_until_open", "purchase", "pay", "cancel", "reserve", "settle"} {
		if _, ok := live.Steps[want]; !ok {
			t.Errorf("the live run has no step %q: the scenario no longer covers it (steps %v)", want, slices.Sorted(maps.Keys(live.Steps)))
		}
	}
	for _, code := range []string{codes.LimitExceeded, codes.SoldOut, codes.NotStarted, codes.CouponLocked, codes.Released, codes.Paid} {
		if live.Requests.ByCode[code] == 0 {
			t.Errorf("the live run answered no %s: the scenario no longer covers that rule (by code %v)", code, live.Requests.ByCode)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(live.Rates)) {
		l, m := live.Rates[name], simulated.Rates[name]
		if math.Abs(float64(l.Num-m.Num)) > tolerance(l.Num, m.Num) || math.Abs(float64(l.Den-m.Den)) > tolerance(l.Den, m.Den) {
			t.Errorf("rate(%s): live %d/%d, sim %d/%d", name, l.Num, l.Den, m.Num, m.Den)
		}
	}
	for i, l := range live.SKUs {
		if i >= len(simulated.SKUs) || simulated.SKUs[i].SKU != l.SKU {
			t.Fatalf("SKUs: live %+v, sim %+v", live.SKUs, simulated.SKUs)
		}
		if m := simulated.SKUs[i]; math.Abs(float64(l.Sold-m.Sold)) > tolerance(l.Sold, m.Sold) || math.Abs(float64(l.Paid-m.Paid)) > tolerance(l.Paid, m.Paid) {
			t.Errorf("%s: live sold %d paid %d, sim sold %d paid %d", l.SKU, l.Sold, l.Paid, m.Sold, m.Paid)
		}
	}
	if len(live.Rates) != len(simulated.Rates) {
		t.Errorf("named rates: live %v, sim %v", slices.Sorted(maps.Keys(live.Rates)), slices.Sorted(maps.Keys(simulated.Rates)))
	}
}

// TestRetryAfterIsTheTargets: a load refusal the simulator models waits as long before its
// retry as the target's answer asks. The target is made to answer RATE_LIMITED (a rate limit
// of 1 per second) and SHED (one request in flight while a stall holds it); the wait the
// simulator takes after the same code is the answer's Retry-After.
func TestRetryAfterIsTheTargets(t *testing.T) {
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: "memory", MaxRPS: 1, MaxInflight: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Stop(context.Background()) })
	s, err := scenario.Parse("retry.yaml", []byte(`name: retry
duration: 1s
skus: [{sku: p, stock: 10, price: 1}]
traffic: {start_rps: 1, stages: [{duration: 1s, rps: 1}]}
journeys: [{name: b, steps: [{purchase: {sku: p, retry: {on: [429, 503], max: 3, backoff: 10ms}}}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := scenario.Compile(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	rules := &prog.Journeys[0].Steps[0].Rules
	seen := map[string]bool{}
	for i := 0; i < 10 && len(seen) < 2; i++ {
		status, code, after := purchaseAnswer(t, tgt.URL(), i)
		if code != "SHED" && code != "RATE_LIMITED" {
			continue
		}
		seen[code] = true
		if after <= 0 {
			t.Fatalf("%s without a Retry-After", code)
		}
		if got := sim.RetryDelay(rules, 1, 0, status, code); got != max(after, 10*time.Millisecond) {
			t.Errorf("after %d %s (Retry-After %v) the simulator waits %v before its retry", status, code, after, got)
		}
	}
	if !seen["RATE_LIMITED"] {
		t.Errorf("the target never answered RATE_LIMITED: %v", seen)
	}
}

// purchaseAnswer sends a burst of purchases at once (so that some find another in flight) and
// returns one answer that refused for load, or the last one: status, code and Retry-After.
func purchaseAnswer(t *testing.T, base string, round int) (int, string, time.Duration) {
	t.Helper()
	type answer struct {
		status int
		code   string
		after  time.Duration
	}
	out := make(chan answer, 8)
	for i := range 8 {
		go func() {
			req, _ := http.NewRequest("POST", base+"/v1/skus/p/purchase", strings.NewReader(`{"qty":1}`))
			req.Header.Set("X-User-Id", fmt.Sprint(round*8+i+1))
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- answer{}
				return
			}
			defer resp.Body.Close()
			var body struct{ Code string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			after, _ := scenario.ParseRetryAfter([]byte(resp.Header.Get("Retry-After")), time.Now())
			out <- answer{resp.StatusCode, body.Code, after}
		}()
	}
	var last answer
	for range 8 {
		a := <-out
		if a.code == "SHED" || a.code == "RATE_LIMITED" || last.code == "" {
			last = a
		}
	}
	return last.status, last.code, last.after
}
