package target

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/dist"
	"github.com/flashload/flashload/target/inventory"
)

func TestBadInput(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s1","stock":10,"price":10,"limit_per_user":2}`)
	user := map[string]string{"X-User-Id": "u1"}
	long := strings.Repeat("k", MaxIDBytes+1)
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"malformed JSON", "POST", "/v1/skus/s1/purchase", user, `{"qty":`, 400, "BAD_REQUEST"},
		{"JSON array", "POST", "/v1/skus/s1/purchase", user, `[1]`, 400, "BAD_REQUEST"},
		{"qty as string", "POST", "/v1/skus/s1/purchase", user, `{"qty":"1"}`, 400, "BAD_REQUEST"},
		{"missing X-User-Id", "POST", "/v1/skus/s1/purchase", nil, `{"qty":1}`, 400, "BAD_REQUEST"},
		{"qty zero", "POST", "/v1/skus/s1/purchase", user, `{"qty":0}`, 400, "BAD_REQUEST"},
		{"qty negative", "POST", "/v1/skus/s1/purchase", user, `{"qty":-3}`, 400, "BAD_REQUEST"},
		{"qty above the limit", "POST", "/v1/skus/s1/purchase", user, `{"qty":3}`, 403, "LIMIT_EXCEEDED"},
		{"qty huge", "POST", "/v1/skus/s1/purchase", user, `{"qty":99999999999}`, 400, "BAD_REQUEST"},
		{"unknown SKU", "POST", "/v1/skus/nope/purchase", user, `{}`, 404, "NOT_FOUND"},
		{"body over 64 KiB", "POST", "/v1/skus/s1/purchase", user, `{"coupon":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "BODY_TOO_LARGE"},
		{"overlong idempotency key", "POST", "/v1/skus/s1/purchase", map[string]string{"X-User-Id": "u1", "Idempotency-Key": long}, `{}`, 400, "BAD_REQUEST"},
		{"overlong user", "POST", "/v1/skus/s1/purchase", map[string]string{"X-User-Id": long}, `{}`, 400, "BAD_REQUEST"},
		{"unknown coupon", "POST", "/v1/skus/s1/purchase", user, `{"coupon":"FREE"}`, 400, "BAD_REQUEST"},
		{"unknown group", "POST", "/v1/skus/s1/purchase", user, `{"group_id":"g999"}`, 404, "NOT_FOUND"},
		{"GET on purchase", "GET", "/v1/skus/s1/purchase", user, ``, 405, "METHOD_NOT_ALLOWED"},
		{"unknown route", "GET", "/v2/whatever", nil, ``, 404, "NOT_FOUND"},
		{"unknown order", "GET", "/v1/orders/s1.0.zz", nil, ``, 404, "NOT_FOUND"},
		{"garbage order id", "POST", "/v1/orders/..../pay", user, ``, 404, "NOT_FOUND"},
		{"admin without token", "GET", "/admin/audit", nil, ``, 401, "UNAUTHORIZED"},
		{"admin with a wrong token", "GET", "/admin/audit", map[string]string{"Authorization": "Bearer nope"}, ``, 401, "UNAUTHORIZED"},
		{"bad SKU config", "POST", "/admin/skus", map[string]string{"Authorization": "Bearer test-token"}, `{"sku":"a b","stock":-1}`, 400, "BAD_REQUEST"},
		{"unknown SKU field", "POST", "/admin/skus", map[string]string{"Authorization": "Bearer test-token"}, `{"sku":"x","stok":1}`, 400, "BAD_REQUEST"},
		{"bad faults", "POST", "/admin/faults", map[string]string{"Authorization": "Bearer test-token"}, `{"error_rate":2}`, 400, "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.do(t, tt.method, tt.path, tt.headers, tt.body)
			if a.status != tt.status || a.code() != tt.code {
				t.Fatalf("%d %s, want %d %s", a.status, a.body, tt.status, tt.code)
			}
			if _, ok := a.json["error"].(string); !ok {
				t.Fatalf("error answer without an error text: %s", a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// None of this sold anything.
	if a := ts.audit(t, "s1"); a.Sold != 0 || a.Orders != 0 {
		t.Fatalf("bad input changed the stock: %+v", a)
	}
}

func TestIdempotency(t *testing.T) {
	for _, name := range strategies(t, true) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, testOptions(t, name))
			ts.createSKU(t, `{"sku":"s1","stock":10,"price":10,"limit_per_user":3}`)
			first := ts.buy(t, "s1", "u1", "key-1", `{"qty":1}`)
			if first.status != 201 || first.code() != "RESERVED" {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			again := ts.buy(t, "s1", "u1", "key-1", `{"qty":1}`)
			if again.status != 200 || !bytes.Equal(again.body, first.body) {
				t.Fatalf("replay: %d %s, want 200 and %s", again.status, again.body, first.body)
			}
			if a := ts.buy(t, "s1", "u1", "key-1", `{"qty":2}`); a.status != 422 || a.code() != "KEY_REUSED" {
				t.Fatalf("reuse with another body: %d %s", a.status, a.body)
			}
			// Another user's same key is another purchase (keys are scoped per user).
			if a := ts.buy(t, "s1", "u2", "key-1", `{"qty":1}`); a.status != 201 {
				t.Fatalf("other user, same key: %d %s", a.status, a.body)
			}
			// A key whose purchase is running answers IN_FLIGHT.
			gk := "s1\x00u3\x00key-3"
			if !ts.guard.acquire(gk) {
				t.Fatal("guard busy")
			}
			a := ts.buy(t, "s1", "u3", "key-3", `{}`)
			ts.guard.release(gk)
			if a.status != 409 || a.code() != "IN_FLIGHT" {
				t.Fatalf("in flight: %d %s", a.status, a.body)
			}
			// Racing the same key from 20 goroutines creates one order.
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a := ts.buy(t, "s1", "u4", "key-4", `{}`)
					if a.status != 201 && a.status != 200 && a.status != 409 {
						t.Errorf("same-key race: %d %s", a.status, a.body)
					}
				}()
			}
			wg.Wait()
			au := ts.audit(t, "s1")
			conserved(t, au)
			if au.Orders != 3 || au.Sold != 3 || au.Duplicates != 0 {
				t.Fatalf("audit %+v, want 3 orders", au)
			}
		})
	}
}

func TestSaleWindow(t *testing.T) {
	for _, name := range []string{"memory", "redis-lua"} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, testOptions(t, name))
			ts.createSKU(t, `{"sku":"soon","stock":5,"price":10,"starts_at":"+1h"}`)
			ts.createSKU(t, `{"sku":"over","stock":5,"price":10,"starts_at":"-2h","ends_at":"-1h"}`)
			if a := ts.buy(t, "soon", "u1", "", ""); a.status != 425 || a.code() != "NOT_STARTED" {
				t.Fatalf("before start: %d %s", a.status, a.body)
			}
			if a := ts.buy(t, "over", "u1", "", ""); a.status != 410 || a.code() != "SALE_ENDED" {
				t.Fatalf("after end: %d %s", a.status, a.body)
			}
			v := ts.do(t, "GET", "/v1/skus/soon", nil, "")
			if v.json["status"] != "upcoming" || v.json["starts_at"] == nil {
				t.Fatalf("view: %s", v.body)
			}
		})
	}
}

func TestOrderLifecycleAndPricing(t *testing.T) {
	for _, name := range strategies(t, true) {
		t.Run(name, func(t *testing.T) {
			o := testOptions(t, name)
			// The sharded strategies split the stock and the first-N units over their buckets:
			// 10 units and 2 at half price per bucket there.
			stock, firstN := int64(10), 2
			if strings.Contains(name, "sharded") {
				stock, firstN = 10*int64(o.Shards), 2*o.Shards
			}
			ts := startServer(t, o)
			// Opening ladder price: 120% of 100; the first 2 units at half.
			ts.createSKU(t, `{"sku":"p","stock":`+strconv.FormatInt(stock, 10)+`,"price":100,"cost":50,"pricing":{"ladder":{"start":1.2,"step":0.05,"every":"1h","floor_over_cost":1.1},"first_n_half":`+strconv.Itoa(firstN)+`}}`)
			if v := ts.do(t, "GET", "/v1/skus/p", nil, ""); v.json["price"] != 60.0 || v.json["list_price"] != 100.0 || v.json["available"] != float64(stock) {
				t.Fatalf("view: %s", v.body)
			}
			a := ts.buy(t, "p", "u1", "", `{"qty":3}`)
			if a.status != 201 || a.json["price"] != 60.0+60+120 {
				t.Fatalf("3 units, 2 at half: %d %s", a.status, a.body)
			}
			id := a.json["order_id"].(string)
			if _, err := time.Parse(time.RFC3339, a.json["expires_at"].(string)); err != nil {
				t.Fatalf("expires_at: %v", err)
			}
			if p := ts.do(t, "POST", "/v1/orders/"+id+"/pay", map[string]string{"X-User-Id": "u2"}, ""); p.status != 403 {
				t.Fatalf("pay by another user: %d %s", p.status, p.body)
			}
			p := ts.do(t, "POST", "/v1/orders/"+id+"/pay", map[string]string{"X-User-Id": "u1"}, "")
			if p.status != 200 || p.code() != "PAID" || p.json["status"] != "paid" {
				t.Fatalf("pay: %d %s", p.status, p.body)
			}
			if c := ts.do(t, "POST", "/v1/orders/"+id+"/cancel", map[string]string{"X-User-Id": "u1"}, ""); c.status != 409 || c.code() != "ALREADY_PAID" {
				t.Fatalf("cancel of a paid order: %d %s", c.status, c.body)
			}
			b := ts.buy(t, "p", "u2", "", "")
			id2 := b.json["order_id"].(string)
			if c := ts.do(t, "POST", "/v1/orders/"+id2+"/cancel", map[string]string{"X-User-Id": "u2"}, ""); c.status != 200 || c.code() != "RELEASED" {
				t.Fatalf("cancel: %d %s", c.status, c.body)
			}
			if g := ts.do(t, "GET", "/v1/orders/"+id2, nil, ""); g.json["status"] != "released" {
				t.Fatalf("get: %s", g.body)
			}
			au := ts.audit(t, "p")
			conserved(t, au)
			if au.Paid != 3 || au.Released != 1 || au.Available != stock-3 || au.Orders != 2 {
				t.Fatalf("audit %+v", au)
			}
			if f := ts.admin(t, "GET", "/admin/audit?fast=1", ""); f.status != 200 || !bytes.Contains(f.body, []byte(`"sold":3,`)) || bytes.Contains(f.body, []byte("duplicates")) {
				t.Fatalf("fast audit: %d %s", f.status, f.body)
			}
			// NDJSON: one line per order, with the contract's fields.
			ol := ts.admin(t, "GET", "/admin/orders?sku=p", "")
			if ct := ol.header.Get("Content-Type"); ct != "application/x-ndjson" {
				t.Fatalf("orders content type %q", ct)
			}
			lines := strings.Split(strings.TrimSpace(string(ol.body)), "\n")
			if len(lines) != 2 {
				t.Fatalf("orders: %s", ol.body)
			}
			statuses := map[string]bool{}
			for _, l := range lines {
				var v map[string]any
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				for _, f := range []string{"id", "key", "user", "sku", "qty", "status", "price", "group_id", "coupon", "created_at"} {
					if _, ok := v[f]; !ok {
						t.Fatalf("line %q lacks %q", l, f)
					}
				}
				statuses[v["status"].(string)] = true
			}
			if !statuses["paid"] || !statuses["released"] {
				t.Fatalf("statuses %v", statuses)
			}
		})
	}
}

func TestGroupBuyAndTeamCoupon(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"g","stock":100,"price":100}`)
	ts.createSKU(t, `{"sku":"other","stock":100,"price":100}`)
	c := ts.do(t, "POST", "/v1/groups", nil, `{"sku":"g"}`)
	if c.status != 201 || c.code() != "GROUP_CREATED" {
		t.Fatalf("create: %d %s", c.status, c.body)
	}
	gid := c.json["group_id"].(string)
	join := func(u string) answer {
		return ts.do(t, "POST", "/v1/groups/"+gid+"/join", map[string]string{"X-User-Id": u}, "")
	}
	if a := ts.buy(t, "g", "u1", "", `{"group_id":"`+gid+`"}`); a.status != 403 || a.code() != "NOT_MEMBER" {
		t.Fatalf("non-member: %d %s", a.status, a.body)
	}
	join("u1")
	j := join("u2")
	if j.code() != "JOINED" || j.json["members"] != 2.0 || j.json["discount"] != 0.9 {
		t.Fatalf("join: %s", j.body)
	}
	if a := ts.buy(t, "g", "u1", "", `{"group_id":"`+gid+`","coupon":"TEAM3"}`); a.status != 403 || a.code() != "COUPON_LOCKED" {
		t.Fatalf("coupon before 3 members: %d %s", a.status, a.body)
	}
	if a := ts.buy(t, "g", "u1", "", `{"group_id":"`+gid+`"}`); a.status != 201 || a.json["price"] != 90.0 {
		t.Fatalf("group of 2: %d %s", a.status, a.body)
	}
	j = join("u3")
	if j.json["coupon"] != "TEAM3" {
		t.Fatalf("third member unlocks the coupon: %s", j.body)
	}
	if a := ts.buy(t, "g", "u2", "", `{"group_id":"`+gid+`","coupon":"TEAM3"}`); a.status != 201 || a.json["price"] != 81.0 {
		t.Fatalf("group of 3 with TEAM3: %d %s", a.status, a.body)
	}
	for i := 4; i <= 10; i++ {
		j = join("u" + strconv.Itoa(i))
	}
	if j.json["members"] != 10.0 || j.json["discount"] != 0.7 {
		t.Fatalf("10 members: %s", j.body)
	}
	if a := ts.buy(t, "g", "u10", "", `{"group_id":"`+gid+`"}`); a.json["price"] != 70.0 {
		t.Fatalf("group of 10: %s", a.body)
	}
	if j = join("u11"); j.status != 409 || j.code() != "GROUP_FULL" {
		t.Fatalf("11th: %d %s", j.status, j.body)
	}
	if a := ts.buy(t, "other", "u1", "", `{"group_id":"`+gid+`"}`); a.status != 400 {
		t.Fatalf("group of another sku: %d %s", a.status, a.body)
	}
	// The order reports the group and the coupon.
	o := ts.admin(t, "GET", "/admin/orders?sku=g", "")
	if !bytes.Contains(o.body, []byte(`"group_id":"`+gid+`","coupon":"TEAM3"`)) {
		t.Fatalf("orders: %s", o.body)
	}
}

func TestOverloadShedsViewsFirst(t *testing.T) {
	o := testOptions(t, "memory")
	o.MaxInflight = 10
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"s","stock":100,"price":1}`)
	// Pretend 6 requests are in flight: above half the limit (views shed), below it (purchases pass).
	ts.inflight.Add(6)
	v := ts.do(t, "GET", "/v1/skus/s", nil, "")
	if v.status != 503 || v.code() != "SHED" || v.header.Get("Retry-After") == "" {
		t.Fatalf("view at 7/10 in flight: %d %s", v.status, v.body)
	}
	if a := ts.buy(t, "s", "u1", "", ""); a.status != 201 {
		t.Fatalf("purchase at 7/10 in flight: %d %s", a.status, a.body)
	}
	ts.inflight.Add(4)
	if a := ts.buy(t, "s", "u2", "", ""); a.status != 503 || a.code() != "SHED" || a.header.Get("Retry-After") == "" {
		t.Fatalf("purchase at 11/10 in flight: %d %s", a.status, a.body)
	}
	if h := ts.do(t, "GET", "/healthz", nil, ""); h.status != 200 {
		t.Fatalf("healthz is never shed: %d", h.status)
	}
	ts.inflight.Add(-10)
	m := ts.do(t, "GET", "/metrics", nil, "")
	for _, want := range []string{`flashload_target_shed_total{reason="inflight"} 2`,
		`flashload_target_requests_total{code="201",route="purchase"} 1`,
		`flashload_target_sold{sku="s"} 1`, `flashload_target_inflight`,
		`flashload_target_request_duration_seconds_bucket{route="purchase"`} {
		if !bytes.Contains(m.body, []byte(want)) {
			t.Fatalf("metrics lack %s:\n%s", want, m.body)
		}
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := newLimiter(100, t0) // burst 10
	for i := range 5 {
		if !l.allow(t0, false) {
			t.Fatalf("view %d refused with a full bucket", i)
		}
	}
	// 5 tokens left: half the bucket; one more view leaves 4, then views are refused.
	if !l.allow(t0, false) || l.allow(t0, false) {
		t.Fatal("views should stop below half the bucket")
	}
	for i := range 4 {
		if !l.allow(t0, true) {
			t.Fatalf("purchase %d refused with tokens left", i)
		}
	}
	if l.allow(t0, true) {
		t.Fatal("purchase allowed with an empty bucket")
	}
	if !l.allow(t0.Add(10*time.Millisecond), true) {
		t.Fatal("10ms at 100/s refills one token")
	}
	if !l.allow(t0.Add(time.Second), false) {
		t.Fatal("a second later the bucket is full again")
	}
}

func TestRateLimitAnswers429(t *testing.T) {
	o := testOptions(t, "memory")
	o.MaxRPS = 0.1 // burst 1, one token per 10s
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"s","stock":100,"price":1}`)
	ts.buy(t, "s", "u1", "", "")
	limited := 0
	for i := range 5 {
		if a := ts.buy(t, "s", "u"+strconv.Itoa(i+2), "", ""); a.status == 429 {
			if a.code() != "RATE_LIMITED" || a.header.Get("Retry-After") == "" {
				t.Fatalf("429 answer: %s %v", a.body, a.header)
			}
			limited++
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 5 purchases right after the first were limited at 0.1/s", limited)
	}
}

func TestFaults(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":100,"price":1}`)
	if a := ts.admin(t, "POST", "/admin/faults", `{"error_rate":1,"for":"1m"}`); a.status != 200 {
		t.Fatalf("faults: %d %s", a.status, a.body)
	}
	if a := ts.buy(t, "s", "u1", "", ""); a.status != 500 || a.code() != "FAULT" {
		t.Fatalf("with error_rate 1: %d %s", a.status, a.body)
	}
	if a := ts.admin(t, "GET", "/admin/audit?sku=s", ""); a.status != 200 {
		t.Fatalf("admin routes are not faulted: %d", a.status)
	}
	ts.admin(t, "POST", "/admin/faults", `{}`)
	if a := ts.buy(t, "s", "u1", "", ""); a.status != 201 {
		t.Fatalf("after clearing: %d %s", a.status, a.body)
	}
	// Latency: the answer comes after the injected delay.
	ts.admin(t, "POST", "/admin/faults", `{"latency":"30ms"}`)
	start := time.Now()
	ts.do(t, "GET", "/v1/skus/s", nil, "")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("view answered in %v with 30ms injected latency", d)
	}
}

// TestEvents: the SSE feed sends the state at once, then one message per change, each with
// a higher seq; ?max ends the stream.
func TestEvents(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":7,"price":5}`)
	res, err := ts.client.Get(ts.url + "/v1/skus/s/events?max=3")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	var avail []float64
	seq := -1.0
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			var v map[string]any
			if err := json.Unmarshal([]byte(d), &v); err != nil || v["sku"] != "s" || v["state"] != "open" || v["seq"].(float64) <= seq {
				t.Fatalf("event %q after seq %v: %v", d, seq, err)
			}
			seq = v["seq"].(float64)
			avail = append(avail, v["available"].(float64))
			if len(avail) < 3 {
				ts.buy(t, "s", fmt.Sprintf("u%d", len(avail)), "", "")
			}
		}
	}
	if !slices.Equal(avail, []float64{7, 6, 5}) {
		t.Fatalf("available %v, want 7 6 5", avail)
	}
}

// TestGracefulShutdown: purchases in flight when Shutdown starts either complete (and their
// orders exist) or are refused; no acknowledged order is lost.
func TestGracefulShutdown(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":100000,"price":1}`)
	ts.admin(t, "POST", "/admin/faults", `{"latency":"5ms"}`) // keep requests in flight
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", ts.url+"/v1/skus/s/purchase", nil)
				req.Header.Set("X-User-Id", "w"+strconv.Itoa(w)+"-"+strconv.Itoa(i))
				res, err := ts.client.Do(req)
				if err != nil {
					continue // refused after the listener closed: not acknowledged
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == 201 {
					var v map[string]any
					if json.Unmarshal(b, &v) == nil {
						mu.Lock()
						acked[v["order_id"].(string)] = true
						mu.Unlock()
					}
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	close(stop)
	wg.Wait()
	if err := <-ts.served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	stored := map[string]bool{}
	if err := ts.inv.Orders(context.Background(), "s", func(o *inventory.Order) error {
		stored[o.ID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(acked) == 0 {
		t.Fatal("no purchase was acknowledged before the shutdown")
	}
	for id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged order %s lost", id)
		}
	}
	t.Logf("%d acknowledged orders, %d stored", len(acked), len(stored))
	// The listener is closed: new connections are refused.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.url, "http://"), time.Second); err == nil {
		c.Close()
		t.Fatal("still accepting after Shutdown")
	}
}

// TestShutdownEndsEventStreams: an open SSE stream does not hold Shutdown up.
func TestShutdownEndsEventStreams(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":7,"price":5}`)
	res, err := ts.client.Get(ts.url + "/v1/skus/s/events?interval=20ms")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	if !sc.Scan() {
		t.Fatal("no event")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	for sc.Scan() { // the stream ends
	}
}

// TestServerTiming: every answer of the target carries its own time for it, Server-Timing
// "app;dur=MS" with 3 decimals, from the handler's start to the end of the answer (the work
// slot freed): at most the time the client measured around the exchange, and at least the
// work and the injected latency it waited for; refusals (429, injected 500) carry it too.
func TestServerTiming(t *testing.T) {
	const work = 20 * time.Millisecond
	o := testOptions(t, "memory")
	o.Workers, o.Work = 1, dist.Spec{Kind: dist.Deterministic, Mean: work}
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"s","stock":100,"price":1}`)
	format := regexp.MustCompile(`^app;dur=(\d+\.\d{3})$`)
	check := func(name string, least time.Duration, send func() answer) answer {
		t.Helper()
		start := time.Now()
		a := send()
		client := time.Since(start)
		v := a.header.Values("Server-Timing")
		if len(v) != 1 || !format.MatchString(v[0]) {
			t.Fatalf("%s: %d answer with Server-Timing %q, want one app;dur=MS.mmm", name, a.status, v)
		}
		ms, err := strconv.ParseFloat(format.FindStringSubmatch(v[0])[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		d := time.Duration(ms * float64(time.Millisecond))
		if d > client || d < least {
			t.Errorf("%s: the target's own time %v, the client's %v: want %v ≤ it ≤ the client's", name, d, client, least)
		}
		return a
	}
	check("health", 0, func() answer { return ts.do(t, "GET", "/healthz", nil, "") })
	check("not found", 0, func() answer { return ts.do(t, "GET", "/nope", nil, "") })
	// A hold ends its timer's mean lateness early (target/work.go), up to a few hundred µs on a
	// loaded machine once the estimate has grown: the work is "at least" to within 2 ms.
	held := work - 2*time.Millisecond
	check("view", held, func() answer { return ts.do(t, "GET", "/v1/skus/s", nil, "") })
	if a := check("purchase", held, func() answer { return ts.buy(t, "s", "u1", "", "") }); a.status != 201 {
		t.Fatalf("purchase: %d %s", a.status, a.body)
	}
	check("admin", 0, func() answer { return ts.admin(t, "GET", "/admin/audit?sku=s", "") })
	ts.admin(t, "POST", "/admin/faults", `{"latency":"30ms","error_rate":1}`)
	if a := check("fault", 30*time.Millisecond, func() answer { return ts.buy(t, "s", "u2", "", "") }); a.status != 500 {
		t.Fatalf("with error_rate 1: %d %s", a.status, a.body)
	}
	ts.admin(t, "POST", "/admin/faults", `{}`)
	o = testOptions(t, "memory")
	o.MaxRPS = 0.1 // burst 1: the first purchase passes, the next is limited
	ts = startServer(t, o)
	ts.createSKU(t, `{"sku":"s","stock":100,"price":1}`)
	ts.buy(t, "s", "u3", "", "")
	if a := check("rate limited", 0, func() answer { return ts.buy(t, "s", "u4", "", "") }); a.status != 429 {
		t.Fatalf("over the rate limit: %d %s", a.status, a.body)
	}
}
