package target

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReplicaHeader: every answer names its replica in X-Flashload-Replica, whatever the route
// and status (health, a view, a 404, an admin refusal, a malformed request); without an ID the
// host name is used; IDs that cannot travel in a header or a histogram tag are refused.
func TestReplicaHeader(t *testing.T) {
	ts := startServer(t, Options{Strategy: "memory", AdminToken: "tok", ReplicaID: "replica-7"})
	if err := ts.ConfigureSKU(context.Background(), SKUConfig{SKU: "s", Stock: 5, Price: 10}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/v1/skus/s"}, {"GET", "/nope"}, {"GET", "/admin/audit"}, {"POST", "/v1/skus/s/purchase"},
	} {
		req, _ := http.NewRequest(c.method, ts.url+c.path, nil)
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get(ReplicaHeader); got != "replica-7" {
			t.Errorf("%s %s (%d): %s %q, want replica-7", c.method, c.path, resp.StatusCode, ReplicaHeader, got)
		}
	}
	// A malformed request is answered by the error handler, which names the replica too.
	raw := rawExchange(t, ts.url, "GARBAGE\r\n\r\n")
	if !strings.Contains(raw, ReplicaHeader+": replica-7") {
		t.Errorf("malformed request's answer %q does not name the replica", raw)
	}

	def := startServer(t, Options{Strategy: "memory"})
	if def.ReplicaID() != DefaultReplicaID() || def.ReplicaID() == "" {
		t.Errorf("default replica id %q, want the host name %q", def.ReplicaID(), DefaultReplicaID())
	}
	for _, bad := range []string{"a b", "a,b", "a=b", strings.Repeat("x", MaxIDBytes+1), "é"} {
		if srv, err := New(context.Background(), Options{Strategy: "memory", ReplicaID: bad}); err == nil {
			srv.Close()
			t.Errorf("replica id %q accepted", bad)
		}
	}
}

// rawExchange writes req to the server at url over a fresh connection and returns what it
// answered.
func rawExchange(t *testing.T, url, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}
