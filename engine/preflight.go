package engine

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/flashload/flashload/internal/codes"
)

// PreflightDuration is how long the pre-flight measures this machine's generation ceiling.
const PreflightDuration = 300 * time.Millisecond

// MeasureCeiling measures how many requests per second this process can generate: the
// engine's request path (a HostClient, reused request and response objects) in a closed loop of
// conns goroutines against an in-memory fasthttp server that answers a fixed small JSON body,
// for d. The server shares the CPU, as a loopback target would; the figure is an estimate of the
// generator's ceiling, not of any target's capacity.
func MeasureCeiling(d time.Duration, conns int) float64 {
	ln := fasthttputil.NewInmemoryListener()
	body := []byte(`{"code":"` + codes.Reserved + `","order_id":"o-1"}`)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go srv.Serve(ln) //nolint:errcheck // stops when the listener closes
	defer ln.Close()
	hc := &fasthttp.HostClient{Addr: "preflight", MaxConns: conns, Dial: func(string) (net.Conn, error) { return ln.Dial() },
		NoDefaultUserAgentHeader: true, DisableHeaderNamesNormalizing: true, DisablePathNormalizing: true}
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req fasthttp.Request
			var resp fasthttp.Response
			for !stop.Load() {
				req.Reset()
				req.SetRequestURI("/v1/skus/x/purchase")
				req.Header.SetMethod("POST")
				req.Header.SetHost("preflight")
				req.Header.Set("X-User-Id", "1")
				req.SetBodyString(`{"qty":1}`)
				if hc.Do(&req, &resp) == nil {
					_ = answerCode(resp.Body())
					n.Add(1)
				}
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start).Seconds()
	srv.Shutdown() //nolint:errcheck
	if el <= 0 {
		return 0
	}
	return float64(n.Load()) / el
}

// preflight warns when the requested peak is beyond what this machine can generate.
func (r *run) preflight(closed bool) {
	if closed {
		return
	}
	peak := r.play.PeakRate()
	if peak < 1000 {
		return // far below any machine's ceiling: not worth the 300 ms
	}
	ceil := MeasureCeiling(PreflightDuration, 64)
	r.ceiling = ceil
	if peak > 0.7*ceil {
		r.warn.say("preflight", fmt.Sprintf("pre-flight: requested peak %.0f/s is beyond %.0f/s, 70%% of this machine's measured generation ceiling (%.0f/s against an in-memory server); expect lag and dropped arrivals, or split the run with --segment", peak, 0.7*ceil, ceil))
	}
}
