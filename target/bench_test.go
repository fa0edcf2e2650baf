package target

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/testenv"
)

// BenchmarkPurchase runs the whole purchase handler (routing, parsing, pricing, the strategy,
// the JSON answer, metrics) without the network, one distinct user per request.
func BenchmarkPurchase(b *testing.B) {
	for _, name := range []string{"memory", "sharded", "naive", "redis-decr", "redis-lua", "redis-sharded", "redis-lock", "redis-mq", "pg-row", "pg-occ", "tcc"} {
		b.Run(name, func(b *testing.B) { benchPurchase(b, name) })
	}
}

func benchPurchase(b *testing.B, name string) {
	o := Options{Strategy: name, AdminToken: "bench"}
	if strings.HasPrefix(name, "redis") {
		o = benchRedisOptions(b, name)
	}
	if strings.HasPrefix(name, "pg-") || name == "tcc" || name == "redis-mq" {
		o.PostgresURL = testenv.Postgres(b)
	}
	srv, err := New(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ConfigureSKU(context.Background(), SKUConfig{SKU: "bench", Stock: 1e11, Price: 100}); err != nil {
		b.Fatal(err)
	}
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/skus/bench/purchase")
	req.SetBodyString(`{"qty":1}`)
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	var ctx fasthttp.RequestCtx
	user := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ctx.Init(&req, remote, nil)
		user = strconv.AppendInt(append(user[:0], 'u'), int64(i), 10)
		ctx.Request.Header.SetBytesV("X-User-Id", user)
		srv.handle(&ctx)
		if ctx.Response.StatusCode() != 201 {
			b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkView is the SKU view handler.
func BenchmarkView(b *testing.B) {
	srv, err := New(context.Background(), Options{AdminToken: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ConfigureSKU(context.Background(), SKUConfig{SKU: "bench", Stock: 1000, Price: 100,
		Pricing: &PricingConfig{Ladder: &LadderConfig{}, FirstNHalf: 10}}); err != nil {
		b.Fatal(err)
	}
	var req fasthttp.Request
	req.SetRequestURI("/v1/skus/bench")
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Init(&req, remote, nil)
		srv.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func benchRedisOptions(b *testing.B, name string) Options {
	return Options{Strategy: name, AdminToken: "bench", Shards: 4,
		RedisURL:    "redis://" + testenv.RedisAddr(b) + "/0",
		RedisPrefix: "flbench-" + strconv.FormatInt(testPrefixes.Add(1), 10) + "-" + strconv.Itoa(os.Getpid())}
}
