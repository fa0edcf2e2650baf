package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/codes"
)

// TestSubscribe: journeys subscribe over WebSocket and SSE to the in-process target's feed of a
// SKU that opens 1.5 s in, then buy; a third reads the feed through url: and waits for a
// message whose state is open. None of them buys before the opening, every one buys.
func TestSubscribe(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, fmt.Sprintf(`
name: subscribe
duration: 1s
skus: [{sku: later, stock: 1000, price: 20, starts_at: "+1500ms"}]
traffic: {arrivals: uniform, start_rps: 30, stages: [{duration: 1s, rps: 30}]}
journeys:
  - name: ws
    steps: [{subscribe: {sku: later, via: ws, until: open}}, {purchase: {sku: later}}]
  - name: sse
    steps: [{subscribe: {sku: later, via: sse}}, {purchase: {sku: later}}]
  - name: url
    steps: [{subscribe: {url: "%s/v1/skus/later/ws", until: message, match: {field: state, equals: open}}}, {purchase: {sku: later}}]
`, base))
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	t.Logf("by step %v by code %v push %+v", sum.Requests.ByStep, sum.Requests.ByCode, sum.Push)
	for _, j := range []string{"ws", "sse", "url"} {
		if sum.Requests.ByJourney[j] == 0 {
			t.Errorf("journey %s never ran", j)
		}
	}
	if n := sum.Requests.ByCode[codes.NotStarted]; n != 0 {
		t.Errorf("%d purchases before the opening: subscribe did not wait", n)
	}
	subs := sum.Requests.ByStep["subscribe"]
	if subs == 0 || sum.Requests.ByStep["purchase"] != subs {
		t.Errorf("%d subscriptions, %d purchases: every subscriber buys once", subs, sum.Requests.ByStep["purchase"])
	}
	p := sum.Push
	if p == nil {
		t.Fatal("no push block")
	}
	if p.ConnectionsPeak < 2 || p.Messages < subs || p.ConnectFailures != 0 || p.LatencyMs.Max <= 0 {
		t.Errorf("push %+v", p)
	}
}

// TestSubscribeFeedClosed: a feed the server closes mid-wait ends the journey (the purchase
// after it is never sent) and is counted; with reconnect: true the subscriber dials again.
func TestSubscribeFeedClosed(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	// A service whose SSE feed sends one message and closes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"state\":\"waiting\"}\n\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	feedURL := "http://" + ln.Addr().String() + "/feed"
	for _, reconnect := range []bool{false, true} {
		s := mustParse(t, fmt.Sprintf(`
name: closed
duration: 500ms
skus: [{sku: mug, stock: 1000, price: 20}]
traffic: {arrivals: uniform, start_rps: 10, stages: [{duration: 500ms, rps: 10}]}
journeys:
  - name: j
    steps: [{subscribe: {url: %q, via: sse, match: {field: state, equals: open}, timeout: 1s, reconnect: %v}}, {purchase: {sku: mug}}]
`, feedURL, reconnect))
		res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
		if err != nil {
			t.Fatal(err)
		}
		sum := res.Summary
		subs, p := sum.Requests.ByStep["subscribe"], sum.Push
		t.Logf("reconnect %v: by step %v push %+v", reconnect, sum.Requests.ByStep, p)
		if sum.Requests.ByStep["purchase"] != 0 {
			t.Errorf("reconnect %v: %d purchases after a feed that never opened", reconnect, sum.Requests.ByStep["purchase"])
		}
		if p == nil || subs == 0 || p.ServerCloses == 0 {
			t.Fatalf("reconnect %v: closes not counted: %+v", reconnect, p)
		}
		if !reconnect && p.ServerCloses != subs {
			t.Errorf("without reconnect: %d closes for %d subscriptions, want one each", p.ServerCloses, subs)
		}
		// With reconnect each of the 5 sessions dials again, ReconnectPause apart, until its 1 s
		// timeout or the run's end.
		if sessions := int64(5); reconnect && (subs <= sessions || subs > sessions*int64(time.Second/ReconnectPause+1)) {
			t.Errorf("with reconnect: %d subscriptions for %d sessions", subs, sessions)
		}
		if p.ConnectFailures != 0 {
			t.Errorf("reconnect %v: %d connect failures counted (the run's end is none)", reconnect, p.ConnectFailures)
		}
	}
}

// TestSubscribeRefused: a feed that refuses the connection ends each journey at its subscribe
// step, and every refused dial is a connect failure in the push block.
func TestSubscribeRefused(t *testing.T) {
	_, base := startTarget(t, "memory", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	feedURL := "http://" + ln.Addr().String() + "/feed"
	ln.Close() // nothing listens there now: every dial is refused
	s := mustParse(t, fmt.Sprintf(`
name: refused
duration: 500ms
skus: [{sku: mug, stock: 1000, price: 20}]
traffic: {arrivals: uniform, start_rps: 10, stages: [{duration: 500ms, rps: 10}]}
journeys:
  - name: j
    steps: [{subscribe: {url: %q, via: sse, match: {field: state, equals: open}, timeout: 1s}}, {purchase: {sku: mug}}]
`, feedURL))
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	subs, p := sum.Requests.ByStep["subscribe"], sum.Push
	if subs == 0 || p == nil || p.ConnectFailures != subs || sum.Requests.ByStep["purchase"] != 0 {
		t.Fatalf("%d subscribe dials, push %+v, %d purchases: want every dial a connect failure and no purchase", subs, p, sum.Requests.ByStep["purchase"])
	}
}

// TestHerd: 2,000 watchers gather over 2 s before the SKU opens, 3 s in; at the opening every
// one buys. The herd's purchases all go out within a bounded time of the opening message.
func TestHerd(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 connections")
	}
	_, base := startTarget(t, "memory", nil)
	s := mustParse(t, `
name: herd
duration: 5s
skus: [{sku: phone, stock: 100000, price: 20, starts_at: "+3s"}]
traffic: {arrivals: uniform, start_rps: 20, stages: [{duration: 5s, rps: 20}]}
crowd: {sku: phone, watchers: 2000, from: 2s, via: ws, journey: herd}
journeys:
  - {name: browser, steps: [{view: {sku: phone}}]}
  - {name: herd, weight: 0, steps: [{purchase: {sku: phone}}]}
`)
	res, err := Run(context.Background(), s, Options{Target: base, AdminToken: "test-token", Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	h, p := sum.Herd, sum.Push
	t.Logf("herd %+v push %+v codes %v", h, p, sum.Requests.ByCode)
	if h == nil || p == nil {
		t.Fatal("no herd or push block")
	}
	// Under the race detector the first watchers may have their opening (and leave) before the
	// last have connected: the peak is only checked without it.
	if h.Watchers != 2000 || !raceEnabled && p.ConnectionsPeak < 1900 || p.ConnectFailures != 0 {
		t.Errorf("watchers %d, peak %d, failures %d", h.Watchers, p.ConnectionsPeak, p.ConnectFailures)
	}
	if h.OpenedAtS < 2.9 || h.OpenedAtS > 3.5 {
		t.Errorf("opening received at %.3fs, want 3s (+ the push latency)", h.OpenedAtS)
	}
	if h.Purchases != 2000 || sum.Requests.ByCode[codes.NotStarted] != 0 {
		t.Errorf("%d herd purchases (want 2000), %d before the opening", h.Purchases, sum.Requests.ByCode[codes.NotStarted])
	}
	// Every watcher's purchase is due within a second of the first receipt of the opening.
	bound := int64(2000)
	if raceEnabled {
		// The race detector slows the fan-out to 2,000 several times: on a fresh CI machine at
		// load 5 its p50 was 0.3 s and its spread 1.6 s, and 314 purchases fell in the first
		// second. A tenth still fails a fan-out that reaches the crowd seconds late.
		bound = 200
	}
	if h.PurchasesFirst < bound {
		t.Errorf("%d purchases in the first second, want ≥ %d", h.PurchasesFirst, bound)
	}
}
