package target

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// redis-lock with holders that outlive their lock (--lock-hold past --lock-ttl): a second
// holder reads the stock the first one read, both sell, and the audit must catch it.
func TestRedisLockOversellsWhenAHolderOutlivesItsTTL(t *testing.T) {
	o := testOptions(t, "redis-lock")
	o.LockTTL, o.LockHold = 20*time.Millisecond, 60*time.Millisecond
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"hot","stock":10,"price":10}`)
	ok, codes := race(t, ts, "hot", 200, 32, func(i int) string { return "u" + strconv.Itoa(i) })
	a := ts.audit(t, "hot")
	conserved(t, a)
	if a.Oversold <= 0 || a.Sold != ok || a.Available >= 0 {
		t.Fatalf("a lock that expired under its holder did not oversell: %d reserved (others %v), audit %+v", ok, codes, a)
	}
	t.Logf("redis-lock, TTL 20ms, holders 60ms: %d units sold of %d (oversold %d, available %d)", a.Sold, a.Stock, a.Oversold, a.Available)
}

// redis-mq's consumers killed mid-race (as a crash: a batch may be committed and not
// acknowledged) and restarted later: every acknowledged purchase ends in the book, exactly
// the stock is sold, and the audit drains the backlog first. While they are down, paying an
// acknowledged order answers 409 PENDING.
func TestRedisMQConsumersKilledAndRestartedLoseNothing(t *testing.T) {
	o := testOptions(t, "redis-mq")
	o.ClaimIdle = 300 * time.Millisecond
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"hot","stock":300,"price":10,"limit_per_user":1}`)
	const users, killAt, restartAt = 2000, 100, 1200
	var (
		next      atomic.Int64
		mu        sync.Mutex
		acked     = map[string]string{}
		others    = map[string]int{}
		killed    = make(chan struct{})
		pending   answer
		pendingID string
	)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= users {
					return
				}
				switch i {
				case killAt:
					if a := ts.admin(t, "POST", "/admin/faults", `{"consumers":"kill"}`); a.status != 200 {
						t.Errorf("kill consumers: %d %s", a.status, a.body)
					}
					close(killed)
				case restartAt:
					// Pay an order acknowledged while the consumers were down: not in the book yet.
					u := "u" + strconv.Itoa(killAt+1)
					b := ts.buy(t, "hot", u, "k-"+u, "")
					pendingID, _ = b.json["order_id"].(string)
					pending = ts.do(t, "POST", "/v1/orders/"+pendingID+"/pay", map[string]string{"X-User-Id": u}, "")
					if a := ts.admin(t, "POST", "/admin/faults", `{}`); a.status != 200 {
						t.Errorf("restart consumers: %d %s", a.status, a.body)
					}
				}
				if i > killAt {
					<-killed
				}
				u := "u" + strconv.Itoa(i)
				a := ts.buy(t, "hot", u, "k-"+u, "")
				mu.Lock()
				if a.status == 201 || a.status == 200 {
					acked[a.json["order_id"].(string)] = u
				} else {
					others[strconv.Itoa(a.status)+" "+a.code()]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if pending.status != 409 || pending.code() != "PENDING" {
		t.Fatalf("paying an order the consumers had not persisted: %d %s, want 409 PENDING", pending.status, pending.body)
	}
	if len(acked) != 300 || others["410 SOLD_OUT"] != users-300 {
		t.Fatalf("%d acknowledged (want 300), others %v", len(acked), others)
	}
	raw := ts.admin(t, "GET", "/admin/audit?sku=hot", "")
	a := ts.audit(t, "hot")
	conserved(t, a)
	if a.Sold != 300 || a.Orders != 300 || a.Oversold != 0 || a.Duplicates != 0 || raw.json["backlog"] != 0.0 {
		t.Fatalf("audit after the consumers' restart: %s", raw.body)
	}
	stored := map[string]string{}
	for _, line := range ordersOf(t, ts, "hot") {
		stored[line["order_id"].(string)] = line["user"].(string)
	}
	for id, u := range acked {
		if stored[id] != u {
			t.Fatalf("acknowledged order %s of %s is not in the book (%q)", id, u, stored[id])
		}
	}
	// The order paid too early can be paid now.
	u := "u" + strconv.Itoa(killAt+1)
	if p := ts.do(t, "POST", "/v1/orders/"+pendingID+"/pay", map[string]string{"X-User-Id": u}, ""); p.status != 200 || p.code() != "PAID" {
		t.Fatalf("paying %s once persisted: %d %s", pendingID, p.status, p.body)
	}
}

// ordersOf reads GET /admin/orders?sku= as JSON objects.
func ordersOf(t *testing.T, ts *testServer, sku string) []map[string]any {
	t.Helper()
	a := ts.admin(t, "GET", "/admin/orders?sku="+sku, "")
	if a.status != 200 {
		t.Fatalf("orders: %d %s", a.status, a.body)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(a.body)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("order line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// A fault the strategy has no part for is refused with 501 NOT_SUPPORTED.
func TestConsumerFaultNotSupported(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	if a := ts.admin(t, "POST", "/admin/faults", `{"consumers":"kill"}`); a.status != 501 || a.code() != "NOT_SUPPORTED" {
		t.Fatalf("consumer kill on memory: %d %s", a.status, a.body)
	}
}
