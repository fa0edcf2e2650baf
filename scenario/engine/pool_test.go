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
	"github.com/flashload/flashload/report"
	"github.com/flashload/flashload/scenario"
)

// TestRawPoolChoice: the raw pool is used exactly for plain HTTP with fewer connections than
// workers and without FastHTTPOnly; it holds MaxConns connections, none dialled yet.
func TestRawPoolChoice(t *testing.T) {
	s := mustParse(t, constantScenario(100, "1s", ""))
	for _, c := range []struct {
		target          string
		workers, conns  int
		fastOnly, pool  bool
		wantRaw, wantSl bool
	}{
		{"http://127.0.0.1:1", 8, 2, false, true, true, false},
		{"http://127.0.0.1:1", 8, 8, false, false, true, false},
		{"http://127.0.0.1:1", 8, 2, true, false, false, true},
		{"https://127.0.0.1:1", 8, 2, false, false, false, true},
	} {
		r, err := prepare(s, Options{Target: c.target, Workers: c.workers, MaxConns: c.conns, FastHTTPOnly: c.fastOnly})
		if err != nil {
			t.Fatal(err)
		}
		if (r.pool != nil) != c.pool || r.raw != c.wantRaw || (r.slots != nil) != c.wantSl {
			t.Errorf("%+v: pool %v raw %v slots %v", c, r.pool != nil, r.raw, r.slots != nil)
		}
		if r.pool != nil {
			if len(r.pool) != c.conns {
				t.Errorf("%+v: %d pooled connections, want %d", c, len(r.pool), c.conns)
			}
			for range len(r.pool) {
				if rc := <-r.pool; rc.c != nil {
					t.Errorf("%+v: a pooled connection is dialled before use", c)
				}
			}
		}
	}
}

// TestRawPoolWait: a worker that gets no pooled connection within ConnWaitTimeout records the
// request as a timeout (ErrNoFreeConns), as with fasthttp's slots.
func TestRawPoolWait(t *testing.T) {
	s := mustParse(t, constantScenario(100, "1s", ""))
	r, err := prepare(s, Options{Target: "http://127.0.0.1:1", Workers: 4, MaxConns: 1, ConnWaitTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.rec = NewRecorder(s, r.play, r.opts, 1)
	r.shards = 1
	r.start = time.Now()
	w := r.newWorker(0)
	held := <-r.pool
	if c := w.borrow(); c != nil {
		t.Fatal("borrowed from an empty pool")
	}
	w.session(context.Background(), scenario.Arrival{Seq: 1}, r.now())
	snap := r.rec.Snapshot(r.now())
	if snap.Total.Errors != 1 {
		t.Fatalf("%d errors, want the one request that found no connection", snap.Total.Errors)
	}
	r.pool <- held
	if c := w.borrow(); c != held {
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
	res, err := Run(context.Background(), s, Options{Target: srv.URL, NoPreflight: true, NoAudit: true,
		Workers: 16, MaxConns: 2, ConnWaitTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	req := res.Summary.Requests
	t.Logf("total %d errors %v codes %v kills %d peak conns %d", req.Total, req.ByError, req.ByCode, kills.Load(), peak.Load())
	if req.Total != 200 || req.Dropped != 0 {
		t.Fatalf("%d requests, %d dropped; want 200, 0", req.Total, req.Dropped)
	}
	if req.Errors != kills.Load() || req.ByError[string(report.ErrReset)] != kills.Load() {
		t.Errorf("errors %d (%v), want the %d dropped connections as resets", req.Errors, req.ByError, kills.Load())
	}
	if req.ByCode[codes.SoldOut] != req.Total-kills.Load() {
		t.Errorf("%d answered, want %d", req.ByCode[codes.SoldOut], req.Total-kills.Load())
	}
	if peak.Load() > 2 {
		t.Errorf("the server saw %d connections at once, want at most MaxConns 2", peak.Load())
	}
}
