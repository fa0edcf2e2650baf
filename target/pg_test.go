package target

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var pgStrategies = []string{"pg-row", "pg-occ", "tcc"}

// waitSKU waits until a replica knows a SKU created through another one (replicas refresh
// their catalogue cache by polling its version).
func waitSKU(t *testing.T, ts *testServer, sku string) {
	t.Helper()
	for range 200 {
		if a := ts.do(t, "GET", "/v1/skus/"+sku, nil, ""); a.status == 200 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("replica %s never saw sku %s", ts.url, sku)
}

// Three servers on one database are one service: a SKU created on one sells on all, 2000 users
// spread over the three race for 300 units and exactly 300 sell, an order made on one is paid on
// another, group-buys and coupons span replicas, and every replica answers the same audit.
func TestPGReplicasAreOneService(t *testing.T) {
	for _, name := range pgStrategies {
		t.Run(name, func(t *testing.T) {
			o := testOptions(t, name)
			rs := []*testServer{startServer(t, o), startServer(t, o), startServer(t, o)}
			rs[0].createSKU(t, `{"sku":"hot","stock":300,"price":10,"limit_per_user":1}`)
			rs[0].createSKU(t, `{"sku":"g","stock":50,"price":100,"pricing":{"first_n_half":2}}`)
			for _, r := range rs[1:] {
				waitSKU(t, r, "hot")
				waitSKU(t, r, "g")
			}
			const buyers = 2000
			var next, ok atomic.Int64
			var mu sync.Mutex
			codes := map[string]int{}
			var wg sync.WaitGroup
			for w := range 48 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rs[w%3]
					for {
						i := next.Add(1) - 1
						if i >= buyers {
							return
						}
						a := r.buy(t, "hot", "u"+strconv.FormatInt(i, 10), "k", "")
						mu.Lock()
						codes[fmt.Sprintf("%d %s", a.status, a.code())]++
						mu.Unlock()
						if a.status == 201 {
							ok.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 300 || codes["410 SOLD_OUT"] != buyers-300 {
				t.Fatalf("%d reserved over three replicas, want 300; answers %v", ok.Load(), codes)
			}
			// The same key on another replica is a replay, not a second order.
			first := rs[0].buy(t, "g", "buyer", "key-1", "")
			again := rs[1].buy(t, "g", "buyer", "key-1", "")
			if first.status != 201 || again.status != 200 || again.json["order_id"] != first.json["order_id"] {
				t.Fatalf("key replayed on another replica: %d %s / %d %s", first.status, first.body, again.status, again.body)
			}
			if first.json["price"] != 50.0 {
				t.Fatalf("first unit of first-N 2 at %v, want half price", first.json["price"])
			}
			id := first.json["order_id"].(string)
			if p := rs[2].do(t, "POST", "/v1/orders/"+id+"/pay", map[string]string{"X-User-Id": "buyer"}, ""); p.status != 200 || p.code() != "PAID" {
				t.Fatalf("pay on another replica: %d %s", p.status, p.body)
			}
			// A group made on one replica, joined on the others, unlocks the coupon everywhere.
			c := rs[0].do(t, "POST", "/v1/groups", nil, `{"sku":"g"}`)
			if c.status != 201 {
				t.Fatalf("create group: %d %s", c.status, c.body)
			}
			gid := c.json["group_id"].(string)
			for i, u := range []string{"m1", "m2", "m3"} {
				if j := rs[i].do(t, "POST", "/v1/groups/"+gid+"/join", map[string]string{"X-User-Id": u}, ""); j.status != 200 {
					t.Fatalf("join on replica %d: %d %s", i, j.status, j.body)
				}
			}
			b := rs[1].buy(t, "g", "m1", "", `{"group_id":"`+gid+`","coupon":"TEAM3"}`)
			if b.status != 201 {
				t.Fatalf("group purchase with the coupon on another replica: %d %s", b.status, b.body)
			}
			var audits []auditJSON
			for _, r := range rs {
				audits = append(audits, r.audit(t, "hot"))
			}
			for _, a := range audits {
				conserved(t, a)
				if a != audits[0] || a.Sold != 300 || a.Available != 0 || a.Oversold != 0 || a.Duplicates != 0 || a.Orders != 300 {
					t.Fatalf("audits of the three replicas: %+v", audits)
				}
			}
			if g := rs[2].audit(t, "g"); g.Paid != 1 || g.Reserved != 1 || g.Available != 48 {
				t.Fatalf("audit of g: %+v", g)
			}
		})
	}
}
