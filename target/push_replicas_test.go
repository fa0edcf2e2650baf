package target

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/feed"
	"github.com/flashload/flashload/internal/testenv"
)

// TestPushAcrossReplicas: two servers on one store are one service for the feeds too: a
// purchase or a cancel on either replica reaches the subscribers of both, through the store
// (Redis pub/sub on one server and on Cluster, PostgreSQL LISTEN/NOTIFY), and the last
// message both replicas send for the change carries the same seq.
func TestPushAcrossReplicas(t *testing.T) {
	cases := []struct {
		name, strategy string
		cluster        bool
	}{
		{"redis", "redis-lua", false},
		{"redis-cluster", "redis-sharded", true},
		{"redis-mq", "redis-mq", false},
		{"postgres", "pg-row", false},
		{"tcc", "tcc", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions(t, c.strategy)
			if c.cluster {
				o.RedisURL = "redis+cluster://" + strings.Join(testenv.RedisClusterAddrs(t), ",")
			}
			a, b := startServer(t, o), startServer(t, o)
			a.createSKU(t, `{"sku":"s","stock":10,"price":5}`)
			subA, subB := subscribe(t, a.url, "s", feed.SSE), subscribe(t, b.url, "s", feed.WS)
			for _, s := range []*feedSub{subA, subB} {
				s.until(t, 5*time.Second, func(r feed.Receipt) bool { return r.Available == 10 })
			}
			var order string
			for i, st := range []struct {
				on    *testServer
				avail int64
			}{{a, 9}, {b, 8}, {b, 9}} {
				if i < 2 {
					r := st.on.buy(t, "s", fmt.Sprintf("u%d", i), "", "")
					if r.status != 201 {
						t.Fatalf("purchase %d: %d %s", i, r.status, r.body)
					}
					if i == 0 {
						order, _ = r.json["order_id"].(string)
					}
				} else if r := st.on.do(t, "POST", "/v1/orders/"+order+"/cancel", map[string]string{"X-User-Id": "u0"}, ""); r.status != 200 {
					t.Fatalf("cancel on the other replica: %d %s", r.status, r.body)
				}
				var seq [2]int64
				for j, s := range []*feedSub{subA, subB} {
					r := s.until(t, 10*time.Second, func(r feed.Receipt) bool { return r.Available == st.avail })
					if l := s.settle(t, 300*time.Millisecond); l.Parsed {
						r = l
					}
					if r.Available != st.avail {
						t.Fatalf("step %d: replica %d settled on %s", i, j, r.Raw)
					}
					seq[j] = r.Seq
				}
				if seq[0] != seq[1] {
					t.Fatalf("step %d: replicas sent available %d under seq %d and %d", i, st.avail, seq[0], seq[1])
				}
			}
			if p := a.push.publishes.Load() + b.push.publishes.Load(); p < 4 {
				t.Fatalf("%d publishes through the store for a reset, two purchases and a cancel", p)
			}
		})
	}
}
