package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// TestTransportChoice: the raw pool is used exactly for plain HTTP with fewer connections than
// workers and without FastHTTPOnly, and holds MaxConns connections, none dialled yet; plain HTTP
// with a connection per worker uses the workers' own connections; fasthttp takes the rest, with
// connection slots when there are fewer connections than workers.
func TestTransportChoice(t *testing.T) {
	s := mustParse(t, constantScenario(100, "1s", ""))
	for _, c := range []struct {
		target         string
		workers, conns int
		fastOnly       bool
		want           string // pool, own, fast, fast+slots
	}{
		{"http://127.0.0.1:1", 8, 2, false, "pool"},
		{"http://127.0.0.1:1", 8, 8, false, "own"},
		{"http://127.0.0.1:1", 8, 2, true, "fast+slots"},
		{"http://127.0.0.1:1", 8, 8, true, "fast"},
		{"https://127.0.0.1:1", 8, 2, false, "fast+slots"},
		{"https://127.0.0.1:1", 8, 8, false, "fast"},
	} {
		// The choice is by the pool's bound: a worker has its own connection only when there are
		// connections for every worker the pool may grow to.
		r, err := prepare(s, Options{Target: c.target, Workers: c.workers, MaxWorkers: c.workers, MaxConns: c.conns, FastHTTPOnly: c.fastOnly})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		switch tr := r.tr.(type) {
		case *rawPool:
			got = "pool"
			if len(tr.conns) != 1 || len(tr.conns[0]) != c.conns {
				t.Errorf("%+v: %d pools, want one of %d connections", c, len(tr.conns), c.conns)
			}
			for range len(tr.conns[0]) {
				if rc := <-tr.conns[0]; rc.c != nil {
					t.Errorf("%+v: a pooled connection is dialled before use", c)
				}
			}
		case *rawConns:
			got = "own"
		case *fastClient:
			got = "fast"
			if tr.slots != nil {
				got = "fast+slots"
				if len(tr.slots) != c.conns {
					t.Errorf("%+v: %d slots, want %d", c, len(tr.slots), c.conns)
				}
			}
		}
		if got != c.want || r.tr.renders() != (got == "pool" || got == "own") {
			t.Errorf("%+v: transport %s (renders %v), want %s", c, got, r.tr.renders(), c.want)
		}
	}
}

// TestRawPoolWait: a worker that gets no pooled connection within ConnWaitTimeout records the
// request as a timeout (ErrNoFreeConns), as with fasthttp's slots.
func TestRawPoolWait(t *testing.T) {
	s := mustParse(t, constantScenario(100, "1s", ""))
	r, w := oneWorker(t, s, Options{Target: "http://127.0.0.1:1", Workers: 4, MaxConns: 1, ConnWaitTimeout: time.Millisecond})
	p := r.tr.(*rawPool)
	held := <-p.conns[0]
	if c, ok := take(w, p.conns[0], p.wait); ok {
		t.Fatalf("borrowed %p from an empty pool", c)
	}
	w.session(context.Background(), scenario.Arrival{Seq: 1}, r.now())
	snap := r.rec.Snapshot(r.now())
	if snap.Total.Errors != 1 || snap.Total.Requests != 1 {
		t.Fatalf("%d errors of %d requests, want the one request that found no connection", snap.Total.Errors, snap.Total.Requests)
	}
	p.conns[0] <- held
	if c, ok := take(w, p.conns[0], p.wait); !ok || c != held {
		t.Fatal("the returned connection is not borrowed again")
	}
}

// TestRawPoolBrokenConns: the server drops a connection on every seventh request without an
// answer. Each drop costs exactly that request (a reset); the broken connection is closed and
// the next borrower dials a new one, so no later request fails on it, and the server never sees
// more than MaxConns connections at once.
func TestRawPoolBrokenConns(t *testing.T) {
	var n, kills, open, peak atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%7 == 0 {
			kills.Add(1)
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		w.WriteHeader(409)
		w.Write([]byte(`{"code":"SOLD_OUT"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			if o := open.Add(1); o > peak.Load() {
				peak.Store(o) // only ConnState's goroutines write: a racy max is good enough here
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := mustParse(t, `
name: broken
duration: 1s
skus: [{sku: mug-1, stock: 10, price: 20}]
traffic: {arrivals: uniform, start_rps: 200, stages: [{duration: 1s, rps: 200}]}
journeys:
  - {name: viewer, steps: [{view: {sku: mug-1}}]}
`)
	// A worker per arrival, so none is ever dropped however slowly this machine answers (16
	// workers all waiting for the two connections made a loaded machine drop arrivals), and
	// bounds that a slow machine does not reach: the test is about what the broken connections
	// cost, not about speed. 200 workers over MaxConns 2 still share the pool.
	res, err := Run(context.Background(), s, Options{Target: srv.URL, NoPreflight: true, NoAudit: true,
		Workers: 200, MaxConns: 2, ConnWaitTimeout: time.Minute, Drain: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	req := res.Summary.Requests
	t.Logf("total %d errors %v codes %v kills %d peak conns %d", req.Total, req.ByError, req.ByCode, kills.Load(), peak.Load())
	if req.Total != 200 || req.Dropped != 0 {
		t.Fatalf("%d requests, %d dropped; want 200, 0", req.Total, req.Dropped)
	}
	if req.Errors != kills.Load() || req.ByError[string(outcome.ErrReset)] != kills.Load() {
		t.Errorf("errors %d (%v), want the %d dropped connections as resets", req.Errors, req.ByError, kills.Load())
	}
	if req.ByCode[codes.SoldOut] != req.Total-kills.Load() {
		t.Errorf("%d answered, want %d", req.ByCode[codes.SoldOut], req.Total-kills.Load())
	}
	if peak.Load() > 2 {
		t.Errorf("the server saw %d connections at once, want at most MaxConns 2", peak.Load())
	}
}

// TestRawPoolClosesLateConns: once the run closed the pool, a connection that comes back from a
// session the drain cut (its request still on the wire) is closed too: none outlives the run.
func TestRawPoolClosesLateConns(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.WriteHeader(409)
		w.Write([]byte(`{"code":"SOLD_OUT"}`))
	}))
	defer srv.Close()
	s := mustParse(t, constantScenario(100, "1s", ""))
	r, w := oneWorker(t, s, Options{Target: srv.URL, Workers: 4, MaxConns: 1})
	p := r.tr.(*rawPool)
	c := <-p.conns[0]
	p.conns[0] <- c
	done := make(chan struct{})
	go func() {
		w.session(context.Background(), scenario.Arrival{Seq: 1}, r.now())
		close(done)
	}()
	<-arrived
	p.close() // the run ends while the request is on the wire
	close(release)
	<-done
	if snap := r.rec.Snapshot(r.now()); snap.Total.Requests != 1 || snap.Total.Errors != 0 {
		t.Fatalf("%d requests, %d errors; want 1 answered", snap.Total.Requests, snap.Total.Errors)
	}
	if c.c != nil {
		t.Fatal("a connection that came back after close stays open")
	}
}

// oneWorker prepares a run of s with opts and makes its first worker, for tests that play
// sessions by hand.
func oneWorker(t testing.TB, s *scenario.Scenario, opts Options) (*run, *worker) {
	t.Helper()
	r, err := prepare(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.rec = NewRecorder(s, r.play, r.opts, 1)
	r.shards = 1
	r.start = time.Now()
	return r, r.newWorker(0)
}
