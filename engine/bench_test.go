package engine

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// BenchmarkPacer measures the pacer's cost per arrival: the schedule's iterator, the clock and
// the hand-off to a waiting worker (the workers do nothing). The schedule is so dense that every
// arrival is due at once, so no time is spent sleeping.
func BenchmarkPacer(b *testing.B) {
	s := mustParse(b, constantScenario(1_000_000_000, "1000s", ""))
	r, err := prepare(s, Options{Target: "http://127.0.0.1:1", Workers: 4})
	if err != nil {
		b.Fatal(err)
	}
	r.rec = NewRecorder(s, r.play, r.opts, 1)
	r.warn = &warner{rec: r.rec, last: map[string]time.Time{}}
	var pool *idlePool
	pool = newIdlePool(4, func(id int, ch <-chan scenario.Arrival) {
		go func() {
			for range ch {
				pool.put(id)
			}
		}()
	})
	it := r.play.Arrivals()
	lim := &limitedArrivals{it: it, n: b.N}
	r.start = time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	r.pace(context.Background(), lim, pool, r.rec.Shard(0))
	b.StopTimer()
	pool.close()
}

// BenchmarkRequestPath measures one session of a one-purchase journey end to end through the
// engine's request path (template, headers, connection slot, transport, answer code, Result,
// audit record) against an in-memory fasthttp server, over the raw transport and over fasthttp;
// -server-timing: the server's answers carry a Server-Timing header, which the engine reads;
// -replica: they name their replica (X-Flashload-Replica), which the engine counts per replica.
func BenchmarkRequestPath(b *testing.B) {
	for _, hdr := range []string{"", "-server-timing", "-replica"} {
		for _, fast := range []bool{false, true} {
			name := "raw"
			if fast {
				name = "fasthttp"
			}
			b.Run(name+hdr, func(b *testing.B) { benchRequestPath(b, fast, hdr == "-server-timing", hdr == "-replica") })
		}
	}
}

func benchRequestPath(b *testing.B, fastOnly, timing, replica bool) {
	ln := fasthttputil.NewInmemoryListener()
	body := []byte(`{"code":"RESERVED","order_id":"o-123456","sku":"bar-sku","qty":1,"price":100}`)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		if timing {
			ctx.Response.Header.Set("Server-Timing", "app;dur=0.042")
		}
		if replica {
			ctx.Response.Header.Set(DefaultReplicaHeader, "replica-3")
		}
		ctx.SetBody(body)
	}}
	go srv.Serve(ln)
	defer ln.Close()
	s := mustParse(b, constantScenario(1000, "1s", ""))
	r, w := oneWorker(b, s, Options{Target: "http://bench.local:80", Workers: 1, MaxConns: 1, FastHTTPOnly: fastOnly})
	dialVia(r, func(string) (net.Conn, error) { return ln.Dial() })
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.session(ctx, scenario.Arrival{Seq: int64(i)}, r.now())
	}
	b.StopTimer()
	if got := w.log.len(); got != b.N {
		b.Fatalf("%d attempts logged, want %d", got, b.N)
	}
	if snap := r.rec.Snapshot(r.now()); snap.Total.Errors != 0 {
		b.Fatalf("%d requests failed", snap.Total.Errors)
	}
	if replica {
		if n := r.rec.Finish(r.now()).Summary.Requests.ByReplica["replica-3"].Count; n != int64(b.N) {
			b.Fatalf("%d answers counted for replica-3, want %d", n, b.N)
		}
	}
}

// dialVia makes the run's transport dial its connections with dial (an in-memory listener).
func dialVia(r *run, dial func(addr string) (net.Conn, error)) {
	switch t := r.tr.(type) {
	case *fastClient:
		for _, hc := range t.hcs {
			hc.Dial = dial
		}
	case *rawConns:
		t.dial = dial
	case *rawPool:
		for _, conns := range t.conns {
			for range cap(conns) {
				c := <-conns
				c.dial = dial
				defer func() { conns <- c }()
			}
		}
	}
}

type limitedArrivals struct {
	it *scenario.Arrivals
	n  int
}

func (l *limitedArrivals) Next() (scenario.Arrival, bool) {
	if l.n <= 0 {
		return scenario.Arrival{}, false
	}
	l.n--
	return l.it.Next()
}

// BenchmarkRequestStep measures one session of a two-step journey of request steps (a checkout
// answered with a 1 KB JSON body, then a confirm) over the raw transport: "plain" without
// captures (the request path's zero allocations are the bar), "capture" with the checkout's
// code taken by a JSON capture and sent in the confirm's URL, the cost a capture adds.
func BenchmarkRequestStep(b *testing.B) {
	for _, capture := range []bool{false, true} {
		name := "plain"
		if capture {
			name = "capture"
		}
		b.Run(name, func(b *testing.B) { benchRequestStep(b, capture) })
	}
}

func benchRequestStep(b *testing.B, capture bool) {
	ln := fasthttputil.NewInmemoryListener()
	var body []byte
	for len(body) < 900 {
		body = fmt.Appendf(body, `{"sku":"x-%d","qty":1,"price":19.99},`, len(body))
	}
	body = append(append([]byte(`{"items":[`), body[:len(body)-1]...), `],"order":{"code":"c0ffee-1234"}}`...)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) }}
	go srv.Serve(ln)
	defer ln.Close()
	capt, url := "", "/confirm?user_id={{user}}"
	if capture {
		capt, url = `, capture: [{json: "$.order.code", as: code}]`, "/confirm?code={{code}}"
	}
	s := mustParse(b, fmt.Sprintf(`
name: steps
duration: 1s
skus: [{sku: x-1, stock: 1000000, price: 1}]
traffic: {start_rps: 1000, stages: [{duration: 1s, rps: 1000}]}
journeys:
  - name: buyer
    steps:
      - request: {name: checkout, method: POST, url: "/checkout?user_id={{user}}", sku: x-1, purchase: true%s}
      - request: {name: confirm, method: POST, url: "%s", settles: checkout}
`, capt, url))
	r, w := oneWorker(b, s, Options{Target: "http://bench.local:80", Workers: 1, MaxConns: 1})
	dialVia(r, func(string) (net.Conn, error) { return ln.Dial() })
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.session(ctx, scenario.Arrival{Seq: int64(i)}, r.now())
	}
	b.StopTimer()
	if snap := r.rec.Snapshot(r.now()); snap.Total.Errors != 0 || snap.Total.Requests != int64(2*b.N) {
		b.Fatalf("%d requests, %d failed", snap.Total.Requests, snap.Total.Errors)
	}
}
