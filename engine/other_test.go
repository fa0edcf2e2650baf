package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

func mustParse(t testing.TB, yaml string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return s
}

// serveHTTP starts a net/http server on a loopback port and returns its base URL.
func serveHTTP(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestRequestStepsOtherServer drives a server that is not flashload's (net/http) with plain
// request steps: templates fill the path, headers and body; classify rules decide outcomes; the
// audit runs on an export of the server's orders.
func TestRequestStepsOtherServer(t *testing.T) {
	var mu sync.Mutex
	keys := map[string]int{}
	var orders []string
	ordersFile := t.TempDir() + "/orders.csv"
	var stock atomic.Int64
	stock.Store(100)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/seckill/{sku}", func(w http.ResponseWriter, r *http.Request) {
		key, user := r.Header.Get("Idempotency-Key"), r.Header.Get("X-User")
		body := make([]byte, 256)
		n, _ := r.Body.Read(body)
		if !strings.Contains(string(body[:n]), `"user":"`+user+`"`) {
			http.Error(w, "body does not carry the user", 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		keys[key]++
		if stock.Add(-1) < 0 {
			stock.Add(1)
			w.WriteHeader(409)
			fmt.Fprint(w, `{"result":"sold_out"}`)
			return
		}
		orders = append(orders, fmt.Sprintf("%s,%s,%s,1,paid\n", key, user, r.PathValue("sku")))
		fmt.Fprint(w, `{"result":"ok"}`)
	})
	base := serveHTTP(t, mux)
	s := mustParse(t, `
name: other
duration: 1s
skus: [{sku: widget, stock: 100, price: 1}]
traffic: {arrivals: uniform, start_rps: 300, stages: [{duration: 1s, rps: 300}]}
journeys:
  - name: buyer
    steps:
      - request:
          name: seckill
          method: POST
          url: /api/seckill/{{sku}}
          sku: widget
          purchase: true
          headers: {X-User: "{{user}}", Idempotency-Key: "{{key}}"}
          body: '{"user":"{{user}}","qty":1}'
          classify:
            - {status: 200, json: {field: result, equals: ok}, outcome: acknowledged}
            - {status: 409, outcome: sold_out}
`)
	// The service's export is written as the audit reads it: after the run, through a file.
	s.SKUs[0].LimitPerUser = 1
	res, err := Run(context.Background(), s, Options{Target: base, RunID: "t1", OrdersFile: ordersFile,
		Progress: func(ctx context.Context, _ func() result.Snapshot) {
			<-ctx.Done()
			mu.Lock()
			defer mu.Unlock()
			if err := os.WriteFile(ordersFile, []byte(strings.Join(orders, "")), 0o644); err != nil {
				t.Error(err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	if sum.Requests.Total != 300 || sum.Requests.ByStep["seckill"] != 300 {
		t.Fatalf("sent %d (by step %v), want 300", sum.Requests.Total, sum.Requests.ByStep)
	}
	if sum.Requests.ByStatus["200"] != 100 || sum.Requests.ByStatus["409"] != 200 {
		t.Fatalf("by status %v, want 100×200 and 200×409", sum.Requests.ByStatus)
	}
	mu.Lock()
	if len(keys) != 300 {
		t.Errorf("%d distinct idempotency keys, want 300", len(keys))
	}
	mu.Unlock()
	if r := sum.Rates["purchase_success"]; r.Num != 100 || r.Den != 300 {
		t.Errorf("purchase_success %+v", r)
	}
	a := sum.Audit
	if !a.Checked || a.Sold != 100 || a.Stock != 100 || a.Oversold != 0 || a.Lost != 0 || a.Unexpected != 0 || a.Duplicates != 0 || len(a.Violations) != 0 {
		t.Errorf("audit %+v", a)
	}

	// A missing export is reported, not fatal.
	s.Traffic.Stages[0].RPS, s.Traffic.StartRPS = 20, 20
	res, err = Run(context.Background(), s, Options{Target: base, RunID: "t2", OrdersFile: ordersFile + ".missing"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Audit.Checked || len(res.Summary.Warnings) == 0 {
		t.Errorf("audit of a missing export: %+v, warnings %q", res.Summary.Audit, res.Summary.Warnings)
	}
}

// retry parses a retry rule in YAML flow form through the scenario parser.
func retry(t testing.TB, flow string) *scenario.Retry {
	t.Helper()
	s := mustParse(t, `
name: r
duration: 1s
traffic: {start_rps: 1, stages: [{duration: 1s, rps: 1}]}
skus: [{sku: x, stock: 1, price: 1}]
journeys: [{name: j, steps: [{purchase: {sku: x, retry: `+flow+`}}]}]
`)
	return s.Journeys[0].Steps[0].Purchase.Retry
}
