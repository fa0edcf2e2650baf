package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target"
)

// startTarget runs flashload's reference target in-process on a loopback port.
func startTarget(t testing.TB, strategy string, mod func(*target.Options)) (*target.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveTarget(t, ln, strategy, mod), "http://" + ln.Addr().String()
}

// serveTarget serves the reference target on ln until the test ends.
func serveTarget(t testing.TB, ln net.Listener, strategy string, mod func(*target.Options)) *target.Server {
	t.Helper()
	o := target.Options{Strategy: strategy, AdminToken: "test-token"}
	if mod != nil {
		mod(&o)
	}
	srv, err := target.New(context.Background(), o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// await polls the run's snapshots until ready says yes (true) or the run ends (false): tests
// act on what the run has done, not on a timer.
func await(ctx context.Context, snapshot func() result.Snapshot, ready func(result.Snapshot) bool) bool {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !ready(snapshot()) {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// killableListener is a listener whose kill closes it and every connection it accepted at
// once, as the death of the process behind it would.
type killableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (l *killableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns = append(l.conns, c)
	return c, nil
}

func (l *killableListener) kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead = true
	l.Listener.Close()
	for _, c := range l.conns {
		c.Close()
	}
}

func constantScenario(rate int, dur string, extra string) string {
	return fmt.Sprintf(`
name: constant
duration: %[2]s
skus: [{sku: bar-sku, stock: 1000000, price: 100}]
traffic: {arrivals: uniform, start_rps: %[1]d, stages: [{duration: %[2]s, rps: %[1]d}]}
journeys:
  - name: buyer
    steps: [{purchase: {sku: bar-sku}}]
%[3]s`, rate, dur, extra)
}

func within(got, want, tol float64) bool { return got >= want*(1-tol) && got <= want*(1+tol) }

// TestSteadyRate: a steady 2000/s for 5 s sends 10000 ± 1% at an achieved rate within 1%.
func TestSteadyRate(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, constantScenario(2000, "5s", ""))
	// Room for a slow target (the race detector slows the in-process one several times): the
	// test is about the generator keeping the schedule, so no arrival may find the pool busy.
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true,
		Workers: 10000, MaxConns: 512})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	t.Logf("total %d dropped %d achieved %.1f/s target %.1f/s p99 %.2fms errors %v",
		sum.Requests.Total, sum.Requests.Dropped, sum.Rate.AchievedAvg, sum.Rate.TargetAvg, sum.LatencyMs.P99, sum.Requests.ByError)
	if !within(float64(sum.Requests.Total), 10000, 0.01) {
		t.Errorf("sent %d, want 10000 ± 1%%", sum.Requests.Total)
	}
	if got := sum.Rate.AchievedAvg; !within(got, 2000, 0.01) || !within(got, sum.Rate.TargetAvg, 0.01) {
		t.Errorf("achieved %.1f/s, want 2000 ± 1%% (target %.1f/s)", got, sum.Rate.TargetAvg)
	}
	if sum.DurationS != 5 {
		t.Errorf("duration %vs, want the schedule's 5s", sum.DurationS)
	}
	if sum.Requests.Dropped != 0 {
		t.Errorf("%d arrivals dropped", sum.Requests.Dropped)
	}
	// Without the race detector the target answers every one; with it, it may fall behind and
	// requests time out waiting for a connection: still sent on schedule, still counted.
	if !raceEnabled && sum.Requests.ByCode[codes.Reserved] != sum.Requests.Total {
		t.Errorf("by code %v, errors %v", sum.Requests.ByCode, sum.Requests.ByError)
	}
	if a := sum.Audit; !a.Checked || a.Sold != sum.Requests.ByCode[codes.Reserved] || a.Oversold != 0 || a.Lost != 0 || a.Duplicates != 0 {
		t.Errorf("audit %+v", a)
	}
	if sum.Partial {
		t.Error("complete run marked partial")
	}
}

// TestStallShowsInLatency: a 1 s stall of the target shows in latency (from the intended send
// time) while service time (from the actual send) stays low: requests that waited for one of the
// 16 connections were late, not slow to serve — what a tool with coordinated omission reports.
// The stall starts once 500 requests were answered (not on a timer that setup may outlast).
func TestStallShowsInLatency(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, constantScenario(1000, "3s", ""))
	stallMidRun := func(ctx context.Context, _ *result.Recorder, snapshot func() result.Snapshot) {
		if !await(ctx, snapshot, func(s result.Snapshot) bool { return s.Total.Requests >= 500 }) {
			return
		}
		a := newAdminClient(base, "test-token")
		if st, b, err := a.call(ctx, "POST", "/admin/faults", []byte(`{"stall":"1s"}`)); err != nil || st != 200 {
			t.Errorf("faults: %d %s %v", st, b, err)
		}
	}
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true, MaxConns: 16,
		Observe: stallMidRun})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	t.Logf("latency p99 %.1fms service p99 %.1fms total %d dropped %d", sum.LatencyMs.P99, sum.ServiceTimeMs.P99, sum.Requests.Total, sum.Requests.Dropped)
	if sum.LatencyMs.P99 < 500 {
		t.Errorf("latency p99 %.1fms, want ≥ 500ms", sum.LatencyMs.P99)
	}
	if sum.ServiceTimeMs.P99 >= 500 {
		t.Errorf("service time p99 %.1fms, want < 500ms", sum.ServiceTimeMs.P99)
	}
}

// TestRetryAfterHonoured: a service that answers the first attempt of each key with 429 and
// Retry-After: 1 sees the retry, with the same key, no sooner than a second later.
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	first := map[string]time.Time{}
	var gaps []time.Duration
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/skus/{sku}/purchase", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		defer mu.Unlock()
		t0, seen := first[key]
		if !seen {
			first[key] = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"code":"RATE_LIMITED"}`)
			return
		}
		gaps = append(gaps, time.Since(t0))
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"code":"RESERVED","order_id":"o-%s"}`, key)
	})
	base := serveHTTP(t, mux)
	s := mustParse(t, constantScenario(20, "1s", "")+"")
	s.Journeys[0].Steps[0].Purchase.Retry = retry(t, `{on: ["429"], max: 2, backoff: 10ms}`)
	res, err := Run(context.Background(), s, Options{Target: base, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	mu.Lock()
	defer mu.Unlock()
	if len(first) != 20 || len(gaps) != 20 {
		t.Fatalf("%d keys, %d retries; want 20 and 20", len(first), len(gaps))
	}
	for _, g := range gaps {
		if g < time.Second {
			t.Errorf("retried after %v, before Retry-After: 1", g)
		}
	}
	if sum.Requests.Retries != 20 || sum.Requests.ByStatus["201"] != 20 || sum.Rates["purchase_success"].Num != 20 {
		t.Errorf("retries %d, by status %v, purchase_success %+v", sum.Requests.Retries, sum.Requests.ByStatus, sum.Rates["purchase_success"])
	}
}

// TestRetriedPurchaseOneOrder: purchases whose answers time out are retried with the same key;
// the target stores one order per key, and the audit finds no duplicate and nothing lost.
func TestRetriedPurchaseOneOrder(t *testing.T) {
	srv, base := startTarget(t, "memory", nil)
	_ = srv
	s := mustParse(t, constantScenario(100, "2s", ""))
	s.SKUs[0].Stock = 1000
	// Built directly: the scenario parser accepts statuses and codes in retry.on; the engine also
	// retries on error classes (timeout, reset, refused), which is what this test needs.
	s.Journeys[0].Steps[0].Purchase.Retry = &scenario.Retry{On: []string{"timeout", "409", codes.InFlight}, Max: 6, Backoff: scenario.Duration(150 * time.Millisecond)}
	a := newAdminClient(base, "test-token")
	if st, b, err := a.call(context.Background(), "POST", "/admin/faults", []byte(`{"latency":"120ms","for":"1s"}`)); err != nil || st != 200 {
		t.Fatalf("faults: %d %s %v", st, b, err)
	}
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true, Timeout: 60 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	au := sum.Audit
	t.Logf("retries %d by code %v by error %v audit %+v", sum.Requests.Retries, sum.Requests.ByCode, sum.Requests.ByError, au)
	if sum.Requests.Retries == 0 || sum.Requests.ByError[string(outcome.ErrTimeout)] == 0 {
		t.Fatalf("no timeouts were retried: %+v", sum.Requests)
	}
	if !au.Checked || au.Duplicates != 0 || au.Lost != 0 || au.Unexpected != 0 || au.Oversold != 0 {
		t.Errorf("audit %+v", au)
	}
	// One order at most per purchase; every acknowledged one stored (a purchase whose every
	// attempt timed out may or may not have been stored: its outcome is unknown).
	if ack := sum.Rates["purchase_success"].Num; au.Sold < ack || au.Sold > 200 || ack < 150 {
		t.Errorf("sold %d, acknowledged %d of 200 purchases", au.Sold, ack)
	}
}

// TestTargetDiesMidRun: a target that dies mid-run gives counted errors and a finished
// summary. It dies (killableListener) once the run has recorded 50 orders, whatever this
// machine's speed (a timer started before setup once left too few): every request is then
// either an order from before the death or a connection error, and refused ones come after it.
func TestTargetDiesMidRun(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &killableListener{Listener: raw}
	srv := serveTarget(t, ln, "memory", nil)
	s := mustParse(t, constantScenario(200, "2s", ""))
	const before = 50
	killAfterOrders := func(ctx context.Context, _ *result.Recorder, snapshot func() result.Snapshot) {
		if await(ctx, snapshot, func(s result.Snapshot) bool { return s.ByCode[codes.Reserved] >= before }) {
			ln.kill()
		}
	}
	res, err := Run(context.Background(), s, Options{Target: "http://" + raw.Addr().String(), AdminToken: "test-token",
		Setup: true, NoPreflight: true, Timeout: time.Second, Observe: killAfterOrders})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	req := sum.Requests
	t.Logf("total %d ok %d dropped %d errors %v warnings %q", req.Total, req.OK, req.Dropped, req.ByError, sum.Warnings)
	if req.Total+req.Dropped != 400 {
		t.Errorf("total %d + dropped %d, want 400", req.Total, req.Dropped)
	}
	cut := req.ByError[string(outcome.ErrReset)] + req.ByError[string(outcome.ErrTimeout)]
	refused := req.ByError[string(outcome.ErrRefused)]
	if req.OK < before || req.OK != req.ByCode[codes.Reserved] || req.OK+cut+refused != req.Total || refused == 0 {
		t.Errorf("ok %d, by code %v, errors by class %v: want the %d orders or more from before the target died, connection errors for the rest, refused ones after",
			req.OK, req.ByCode, req.ByError, before)
	}
	// The dead target's store is still readable here: every acknowledged order is in it, and
	// the others in it are requests whose answers the death cut.
	a, err := srv.Audit(context.Background(), "bar-sku")
	if err != nil {
		t.Fatal(err)
	}
	if a.Sold < req.OK || a.Sold > req.OK+cut {
		t.Errorf("the target stored %d orders; %d acknowledged, %d answers cut", a.Sold, req.OK, cut)
	}
	if len(sum.Warnings) == 0 {
		t.Error("no warning about the audit of a dead target")
	}
	if sum.Audit.Checked || sum.Audit.Error == "" {
		t.Errorf("audit of a dead target: %+v, want checked false with the reason", sum.Audit)
	}
	gates, pass, _ := result.EvaluateGates(sum, []string{"oversold == 0"})
	sum.Gates = gates
	if pass || !strings.HasPrefix(sum.Gates[0].Error, "not checked: ") {
		t.Errorf("gate on the audit of a dead target: %+v", sum.Gates)
	}
}

// TestSegmentsAddUp: segments 1/2 and 2/2 together send what one run sends (Poisson arrivals).
func TestSegmentsAddUp(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	yaml := constantScenario(300, "1s", "")
	var totals [3]int64
	for i, seg := range []string{"", "1/2", "2/2"} {
		s := mustParse(t, yaml)
		s.Traffic.Arrivals = "poisson"
		o := Options{Target: base, NoPreflight: true}
		if seg != "" {
			o.Play.Segment.I, _ = strconv.Atoi(seg[:1])
			o.Play.Segment.N = 2
		}
		res, err := Run(context.Background(), s, o)
		if err != nil {
			t.Fatal(err)
		}
		totals[i] = res.Summary.Requests.Total + res.Summary.Requests.Dropped
		if a := res.Summary.Audit; a.Checked || !strings.Contains(a.Error, "not auditable") {
			t.Errorf("audit without an admin token: %+v", a)
		}
		if seg != "" && res.Summary.Segment != seg {
			t.Errorf("segment %q in summary, want %q", res.Summary.Segment, seg)
		}
	}
	if totals[0] != totals[1]+totals[2] || totals[1] == 0 || totals[2] == 0 {
		t.Errorf("whole %d, segments %d + %d", totals[0], totals[1], totals[2])
	}
}

// TestAuditCatchesNaive: the audit fails against the naive strategy (it oversells) and passes
// against memory, with the same scenario.
func TestAuditCatchesNaive(t *testing.T) {
	for _, strategy := range []string{"naive", "memory"} {
		t.Run(strategy, func(t *testing.T) {
			_, base := startTarget(t, strategy, nil)
			s := mustParse(t, constantScenario(1500, "1s", ""))
			s.SKUs[0].Stock = 300
			res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
			if err != nil {
				t.Fatal(err)
			}
			a := res.Summary.Audit
			t.Logf("%s: %+v codes %v", strategy, a, res.Summary.Requests.ByCode)
			if !a.Checked {
				t.Fatal("audit not checked")
			}
			switch strategy {
			case "naive":
				if a.Oversold == 0 || len(a.Violations) == 0 {
					t.Errorf("naive passed the audit: %+v", a)
				}
			case "memory":
				if a.Oversold != 0 || a.Lost != 0 || a.Duplicates != 0 || a.Unexpected != 0 || len(a.Violations) != 0 || a.Sold != 300 {
					t.Errorf("memory failed the audit: %+v", a)
				}
			}
		})
	}
}

// TestCancelMarksPartial: cancelling the context stops arrivals, drains, and marks the summary partial.
func TestCancelMarksPartial(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, constantScenario(200, "10s", ""))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 8*time.Second {
		t.Errorf("run took %v after a cancel at 0.5s", el)
	}
	sum := res.Summary
	if !sum.Partial || sum.Requests.Total == 0 || sum.Requests.Total >= 2000 {
		t.Errorf("partial %v total %d", sum.Partial, sum.Requests.Total)
	}
	if !sum.Audit.Checked || sum.Audit.Lost != 0 {
		t.Errorf("audit after cancel: %+v", sum.Audit)
	}
}
