package engine

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/target"
)

// countingListener counts the connections it accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// recycleTarget is a reference target whose accepted connections are counted.
func recycleTarget(t *testing.T, id string) (*countingListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	serveTarget(t, cl, "memory", func(o *target.Options) { o.ReplicaID = id })
	return cl, "http://" + ln.Addr().String()
}

var recycleTransports = []struct {
	name, traffic string
	opts          Options
	transport     string
	conns         int64 // connections the run holds at most
	// busy is how many of them carry requests all along: the raw pool takes its connections in
	// turn, fasthttp's pool the last one used (at 400/s one is enough).
	busy  int64
	exact bool // the count limit is per connection (raw), else on average (fasthttp)
}{
	{"own connections", "{model: closed, vus: 4}", Options{}, "own", 4, 4, true},
	{"pool", "{arrivals: uniform, start_rps: 400, stages: [{duration: 1s, rps: 400}]}", Options{Workers: 64, MaxConns: 4}, "pool", 4, 4, true},
	{"fasthttp slots", "{arrivals: uniform, start_rps: 400, stages: [{duration: 1s, rps: 400}]}", Options{Workers: 64, MaxConns: 4, FastHTTPOnly: true}, "fast+slots", 4, 1, false},
	{"fasthttp own", "{model: closed, vus: 4}", Options{FastHTTPOnly: true}, "fast", 4, 4, false},
}

func recycleScenario(t *testing.T, traffic string) string {
	t.Helper()
	return `
name: recycle
duration: 1s
skus: [{sku: mug-1, stock: 1000000, price: 20}]
traffic: ` + traffic + `
journeys:
  - {name: viewer, steps: [{view: {sku: mug-1}}]}
`
}

// TestConnMaxRequests: with --conn-max-requests N every transport closes a connection after N
// requests, between requests, and the next request opens a new one: the target accepts about
// requests/N connections (exactly, counting each connection's last partial batch, over the raw
// transport; on average over fasthttp's pools), never fails a request for it, and without
// recycling the run keeps its few connections.
func TestConnMaxRequests(t *testing.T) {
	const n = 10
	for _, c := range recycleTransports {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, recycleScenario(t, c.traffic))
			for _, limit := range []int{0, n} {
				cl, url := recycleTarget(t, "r1")
				if err := SetupSKUs(context.Background(), url, "test-token", s.SKUs); err != nil {
					t.Fatal(err)
				}
				before := cl.n.Load() // the setup's own connection
				opts := c.opts
				opts.Target, opts.NoPreflight, opts.NoAudit, opts.ConnMaxRequests = url, true, true, limit
				r, err := prepare(s, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := transportName(r.tr); got != c.transport {
					t.Fatalf("transport %s, want %s", got, c.transport)
				}
				res, err := Run(context.Background(), s, opts)
				if err != nil {
					t.Fatal(err)
				}
				req := res.Summary.Requests
				dialled := cl.n.Load() - before
				t.Logf("conn-max-requests %d: %d requests over %d connections (errors %v)", limit, req.Total, dialled, req.ByError)
				if req.Errors > 0 || req.Total < 50 {
					t.Fatalf("%d requests, %d errors (%v): recycling must not fail requests", req.Total, req.Errors, req.ByError)
				}
				if limit == 0 {
					if dialled > c.conns {
						t.Errorf("%d connections without recycling, want at most %d", dialled, c.conns)
					}
					continue
				}
				lo, hi := req.Total/n, req.Total/n+c.conns
				if !c.exact {
					lo, hi = req.Total/n/2, req.Total/n*2+c.conns
				}
				if dialled < lo || dialled > hi {
					t.Errorf("%d connections for %d requests at %d per connection, want %d..%d", dialled, req.Total, n, lo, hi)
				}
			}
		})
	}
}

// TestConnMaxAge: with --conn-max-age D a connection carries requests for D and is then closed
// between requests: over a 1 s run at 50 ms each of the run's connections is replaced about 20
// times, over every transport, and no request fails for it.
func TestConnMaxAge(t *testing.T) {
	for _, c := range recycleTransports {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, recycleScenario(t, c.traffic))
			cl, url := recycleTarget(t, "r1")
			if err := SetupSKUs(context.Background(), url, "test-token", s.SKUs); err != nil {
				t.Fatal(err)
			}
			before := cl.n.Load()
			opts := c.opts
			opts.Target, opts.NoPreflight, opts.NoAudit, opts.ConnMaxAge = url, true, true, 50*time.Millisecond
			res, err := Run(context.Background(), s, opts)
			if err != nil {
				t.Fatal(err)
			}
			req := res.Summary.Requests
			dialled := cl.n.Load() - before
			t.Logf("%d requests over %d connections (errors %v)", req.Total, dialled, req.ByError)
			if req.Errors > 0 {
				t.Fatalf("%d errors (%v): recycling must not fail requests", req.Errors, req.ByError)
			}
			// A connection lives at least its age; a request already on it ends first. At most
			// 1 s / 50 ms = 20 per connection slot; at least half that on a loaded machine.
			if dialled < c.busy*20/2 || dialled > c.conns*(20+1)+1 {
				t.Errorf("%d connections over 1 s at 50 ms each with %d..%d in use, want %d..%d", dialled, c.busy, c.conns, c.busy*20/2, c.conns*21+1)
			}
		})
	}
}

// TestRecycleBadInput: negative ages and counts are refused before any load.
func TestRecycleBadInput(t *testing.T) {
	s := mustParse(t, recycleScenario(t, "{model: closed, vus: 1}"))
	for _, o := range []Options{{ConnMaxAge: -time.Second}, {ConnMaxRequests: -1}, {ReplicaHeader: "X Pod"}} {
		o.Target = "http://127.0.0.1:1"
		if _, err := prepare(s, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestReplicaHeaderRead: the engine counts answers per replica from the target's header (every
// transport reads it), and a header the user names that no answer carries is a warning in the
// summary, not an empty table that says nothing.
func TestReplicaHeaderRead(t *testing.T) {
	for _, c := range recycleTransports {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, recycleScenario(t, c.traffic))
			_, a := recycleTarget(t, "replica-a")
			_, b := recycleTarget(t, "replica-b")
			for _, u := range []string{a, b} {
				if err := SetupSKUs(context.Background(), u, "test-token", s.SKUs); err != nil {
					t.Fatal(err)
				}
			}
			opts := c.opts
			opts.Target, opts.NoPreflight, opts.NoAudit = a+","+b, true, true
			res, err := Run(context.Background(), s, opts)
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary
			br := sum.Requests.ByReplica
			if len(br) != 2 || br["replica-a"].Count+br["replica-b"].Count != sum.Requests.Total || br["replica-a"].Count == 0 || br["replica-b"].Count == 0 {
				t.Fatalf("by_replica %+v for %d requests", br, sum.Requests.Total)
			}
			if br["replica-a"].P99Ms <= 0 {
				t.Errorf("replica-a p99 %v", br["replica-a"].P99Ms)
			}

			opts.ReplicaHeader = "X-Pod-Name"
			res, err = Run(context.Background(), s, opts)
			if err != nil {
				t.Fatal(err)
			}
			sum = res.Summary
			if sum.Requests.ByReplica != nil {
				t.Errorf("by_replica %+v from a header no answer carries", sum.Requests.ByReplica)
			}
			if !slices.ContainsFunc(sum.Warnings, func(w string) bool { return strings.Contains(w, "--replica-header X-Pod-Name: no answer carried it") }) {
				t.Errorf("warnings %q: want one about X-Pod-Name", sum.Warnings)
			}
		})
	}
}
