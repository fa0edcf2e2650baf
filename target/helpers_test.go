package target

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/internal/testenv"
)

// testPrefixes keeps the keys of each test apart in the shared test Redis.
var testPrefixes atomic.Int64

// strategies returns the strategies to run: the in-process ones always, the Redis and
// PostgreSQL ones when a test store is configured (testenv fails under CI without one, and
// skips elsewhere).
func strategies(t *testing.T, atomicOnly bool) []string {
	names := []string{"memory", "sharded"}
	if !atomicOnly {
		names = append([]string{"naive"}, names...)
	}
	return append(names, "redis-decr", "redis-lua", "redis-sharded", "redis-lock", "redis-mq", "pg-row", "pg-occ", "tcc")
}

// testOptions fills the Redis address for redis-* strategies (skipping or failing the subtest
// per testenv when there is none).
func testOptions(t *testing.T, strategy string) Options {
	t.Helper()
	o := Options{Strategy: strategy, AdminToken: "test-token", Shards: 4}
	if strings.HasPrefix(strategy, "redis") {
		o.RedisURL = "redis://" + testenv.RedisAddr(t) + "/0"
		o.RedisPrefix = fmt.Sprintf("fltest-%d-%d", time.Now().UnixNano(), testPrefixes.Add(1))
	}
	if strings.HasPrefix(strategy, "pg-") || strategy == "tcc" || strategy == "redis-mq" {
		o.PostgresURL = testenv.Postgres(t) // a fresh database per server; replicas share o
	}
	return o
}

// testServer is a Server listening on a loopback port.
type testServer struct {
	*Server
	url    string
	client *http.Client
	served chan error
}

func startServer(t testing.TB, o Options) *testServer {
	t.Helper()
	srv, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New(%s): %v", o.Strategy, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, url: "http://" + ln.Addr().String(), served: make(chan error, 1),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}}
	go func() { ts.served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		srv.Close()
	})
	return ts
}

type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (a answer) code() string { s, _ := a.json["code"].(string); return s }

func (ts *testServer) do(t testing.TB, method, path string, headers map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, body: b}
	if bytes.HasPrefix(b, []byte("{")) {
		_ = json.Unmarshal(b, &a.json)
	}
	// Every code the target writes is in internal/codes, with the status it goes with.
	if c := a.code(); c != "" {
		if !slices.Contains(codes.All, c) {
			t.Errorf("%s %s: code %q is not in internal/codes", method, path, c)
		} else if want := codes.Status(c); want != 0 && want != a.status {
			t.Errorf("%s %s: %s answered with %d, internal/codes says %d", method, path, c, a.status, want)
		}
	}
	return a
}

func (ts *testServer) admin(t testing.TB, method, path, body string) answer {
	t.Helper()
	return ts.do(t, method, path, map[string]string{"Authorization": "Bearer " + ts.AdminToken()}, body)
}

func (ts *testServer) createSKU(t testing.TB, body string) {
	t.Helper()
	if a := ts.admin(t, "POST", "/admin/skus", body); a.status != 201 {
		t.Fatalf("POST /admin/skus %s: %d %s", body, a.status, a.body)
	}
}

func (ts *testServer) buy(t testing.TB, sku, user, key, body string) answer {
	t.Helper()
	h := map[string]string{"X-User-Id": user}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return ts.do(t, "POST", "/v1/skus/"+sku+"/purchase", h, body)
}

type auditJSON struct {
	SKU        string `json:"sku"`
	Stock      int64  `json:"stock"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
	Paid       int64  `json:"paid"`
	Released   int64  `json:"released"`
	Sold       int64  `json:"sold"`
	Oversold   int64  `json:"oversold"`
	Orders     int64  `json:"orders"`
	Duplicates int64  `json:"duplicates"`
}

func (ts *testServer) audit(t testing.TB, sku string) auditJSON {
	t.Helper()
	a := ts.admin(t, "GET", "/admin/audit?sku="+sku, "")
	if a.status != 200 {
		t.Fatalf("audit: %d %s", a.status, a.body)
	}
	var v auditJSON
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("audit body %s: %v", a.body, err)
	}
	return v
}

// conserved checks stock = available + reserved + paid.
func conserved(t testing.TB, a auditJSON) {
	t.Helper()
	if a.Stock != a.Available+a.Reserved+a.Paid {
		t.Fatalf("conservation broken: %+v", a)
	}
	if a.Sold != a.Reserved+a.Paid {
		t.Fatalf("sold != reserved + paid: %+v", a)
	}
}
