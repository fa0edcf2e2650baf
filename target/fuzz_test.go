package target

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzHandler drives the whole handler with raw HTTP requests: whatever arrives, the answer is
// a status, errors are JSON with a code, nothing panics, and the stock stays conserved.
func FuzzHandler(f *testing.F) {
	seeds := []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/skus/s HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /v1/skus/s/purchase HTTP/1.1\r\nHost: x\r\nX-User-Id: u1\r\nContent-Length: 9\r\n\r\n{\"qty\":1}",
		"POST /v1/skus/s/purchase HTTP/1.1\r\nHost: x\r\nX-User-Id: u1\r\nIdempotency-Key: k\r\nContent-Length: 9\r\n\r\n{\"qty\":2}",
		"POST /v1/skus/s/purchase HTTP/1.1\r\nHost: x\r\nX-User-Id: u2\r\nContent-Length: 7\r\n\r\n{\"qty\":",
		"POST /v1/skus/s/purchase HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"POST /v1/skus/s/purchase HTTP/1.1\r\nHost: x\r\nX-User-Id: u3\r\nContent-Length: 30\r\n\r\n{\"group_id\":\"g1\",\"coupon\":\"x\"}",
		"POST /v1/orders/s.0.1/pay HTTP/1.1\r\nHost: x\r\nX-User-Id: u1\r\n\r\n",
		"POST /v1/orders/s.0.1/cancel HTTP/1.1\r\nHost: x\r\nX-User-Id: u1\r\n\r\n",
		"GET /v1/orders/s.0.1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"sku\":\"s\"}",
		"POST /v1/groups/g1/join HTTP/1.1\r\nHost: x\r\nX-User-Id: u1\r\n\r\n",
		"GET /admin/audit?sku=s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer fuzz\r\n\r\n",
		"GET /admin/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer fuzz\r\n\r\n",
		"POST /admin/skus HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer fuzz\r\nContent-Length: 40\r\n\r\n{\"sku\":\"t\",\"stock\":3,\"starts_at\":\"+1h\"}",
		"POST /admin/faults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer fuzz\r\nContent-Length: 2\r\n\r\n{}",
		"GET /v1/skus/s/events?interval=1ms HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/skus/s/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		"GET /v1/skus/s/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\n\r\n",
		"GET /v1/skus/s/ws HTTP/1.1\r\nHost: x\r\n\r\n",
		"DELETE /v1/skus/s HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /%00/../v1//skus/ HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	srv, err := New(context.Background(), Options{Strategy: "memory", AdminToken: "fuzz", ReplicaID: "fuzz-1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	if err := srv.ConfigureSKU(context.Background(), SKUConfig{SKU: "s", Stock: 50, Price: 10, LimitPerUser: 3}); err != nil {
		f.Fatal(err)
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req fasthttp.Request
		var ctx fasthttp.RequestCtx
		err := req.ReadLimitBody(bufio.NewReader(bytes.NewReader(raw)), MaxBodyBytes)
		ctx.Init(&req, remote, nil)
		if err != nil {
			srv.errorHandler(&ctx, err)
		} else {
			// Faults would only slow the fuzzer down; their parsing is still exercised.
			srv.faults.Store(nil)
			srv.handle(&ctx)
		}
		status := ctx.Response.StatusCode()
		if status == fasthttp.StatusSwitchingProtocols && bytes.HasSuffix(req.URI().Path(), []byte("/ws")) {
			return // a WebSocket handshake accepted (the feed runs on a real connection only)
		}
		if status < 200 || status >= 600 {
			t.Fatalf("status %d", status)
		}
		if id := ctx.Response.Header.Peek(ReplicaHeader); string(id) != "fuzz-1" {
			t.Fatalf("answer %d names replica %q, want fuzz-1", status, id)
		}
		if status >= 400 {
			var v struct {
				Code  string `json:"code"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(ctx.Response.Body(), &v); err != nil || v.Code == "" || v.Error == "" {
				t.Fatalf("error answer %d %q is not a JSON error (%v)", status, ctx.Response.Body(), err)
			}
		}
		for _, name := range srv.SKUs() {
			a, err := srv.Audit(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if a.Stock != a.Available+a.Reserved+a.Paid || a.Oversold != 0 || a.Duplicates != 0 {
				t.Fatalf("audit of %s broken: %+v", name, a)
			}
		}
	})
}
