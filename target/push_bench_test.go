package target

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/feed"
)

// BenchmarkPurchasePush is what pushing costs a purchase: two servers of one strategy, one with
// push off (Options.PushOff: no change signalled, nothing published) and one with push on and
// none or 100 WebSocket subscribers of the SKU (the fan-out shares the process's CPU with the
// purchases), take purchases in turn (the order alternating), each
// through the whole handler; the "on/off" metric is the ratio of their mean times in the same
// run. -benchtime sets the purchases per server.
//
//	go test -run X -bench PurchasePush -benchtime 20000x ./target/   (scripts/test for Redis)
func BenchmarkPurchasePush(b *testing.B) {
	for _, c := range []struct {
		name string
		subs int
	}{{"memory", 0}, {"memory", 100}, {"redis-lua", 0}, {"redis-lua", 100}} {
		name := c.name
		b.Run(name+"/subscribers="+strconv.Itoa(c.subs), func(b *testing.B) {
			off, on := pushBenchServer(b, name, true), pushBenchServer(b, name, false)
			for range c.subs {
				c, err := feed.Dial(context.Background(), feed.URL(on.url, "bench", feed.WS), feed.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				go func() {
					for {
						if _, err := c.Next(); err != nil {
							return
						}
					}
				}()
			}
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.SetRequestURI("/v1/skus/bench/purchase")
			req.SetBodyString(`{"qty":1}`)
			remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
			var ctx fasthttp.RequestCtx
			user := make([]byte, 0, 32)
			buy := func(s *Server, i int) time.Duration {
				ctx.Init(&req, remote, nil)
				user = strconv.AppendInt(append(user[:0], 'u'), int64(i), 10)
				ctx.Request.Header.SetBytesV("X-User-Id", user)
				start := time.Now()
				s.handle(&ctx)
				d := time.Since(start)
				if ctx.Response.StatusCode() != 201 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
				return d
			}
			var tOff, tOn time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					tOff += buy(off.Server, i)
					tOn += buy(on.Server, i)
				} else {
					tOn += buy(on.Server, i)
					tOff += buy(off.Server, i)
				}
			}
			b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
			b.ReportMetric(float64(on.push.publishes.Load()), "publishes")
			b.ReportMetric(float64(on.push.messages.Load()), "messages")
		})
	}
}

func pushBenchServer(b *testing.B, name string, off bool) *testServer {
	o := Options{Strategy: name, AdminToken: "bench", PushOff: off}
	if strings.HasPrefix(name, "redis") {
		o = benchRedisOptions(b, name)
		o.PushOff = off
	}
	ts := startServer(b, o)
	if err := ts.ConfigureSKU(context.Background(), SKUConfig{SKU: "bench", Stock: 1e11, Price: 100}); err != nil {
		b.Fatal(err)
	}
	return ts
}
