package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashload/flashload/internal/testenv"
)

func TestParseRedisURL(t *testing.T) {
	good := []struct {
		in   string
		want RedisAddr
	}{
		{"redis://127.0.0.1:6379/0", RedisAddr{Kind: RedisSingle, Addrs: []string{"127.0.0.1:6379"}}},
		{"redis://localhost", RedisAddr{Kind: RedisSingle, Addrs: []string{"localhost:6379"}}},
		{"redis://u:p%40ss@h:7000/3?pool_size=9", RedisAddr{Kind: RedisSingle, Addrs: []string{"h:7000"}, DB: 3, Username: "u", Password: "p@ss", PoolSize: 9}},
		{"rediss://h:6380/1", RedisAddr{Kind: RedisSingle, TLS: true, Addrs: []string{"h:6380"}, DB: 1}},
		{"redis://[::1]:7000/2", RedisAddr{Kind: RedisSingle, Addrs: []string{"[::1]:7000"}, DB: 2}},
		{"redis+cluster://a:7000,b:7001,c:7002", RedisAddr{Kind: RedisCluster, Addrs: []string{"a:7000", "b:7001", "c:7002"}}},
		{"redis+cluster://a:7000/0", RedisAddr{Kind: RedisCluster, Addrs: []string{"a:7000"}}},
		{"redis+sentinel://s1:26379,s2/mymaster", RedisAddr{Kind: RedisSentinel, Addrs: []string{"s1:26379", "s2:26379"}, Master: "mymaster"}},
		{"redis+sentinel://:secret@s1:5000/m/4", RedisAddr{Kind: RedisSentinel, Addrs: []string{"s1:5000"}, Master: "m", DB: 4, Password: "secret"}},
	}
	for _, c := range good {
		got, err := ParseRedisURL(c.in)
		if err != nil {
			t.Errorf("ParseRedisURL(%q): %v", c.in, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || !slices.Equal(got.Addrs, c.want.Addrs) {
			t.Errorf("ParseRedisURL(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
	bad := map[string]string{
		"127.0.0.1:6379":                "want redis://",
		"http://h:1":                    "unknown scheme",
		"redis://":                      "no host",
		"redis://a:1,b:2":               "takes one host",
		"redis://h:0":                   "port must be 1-65535",
		"redis://h:99999":               "port must be 1-65535",
		"redis://h:1/x":                 "database",
		"redis://h:1/1/2":               "path must be /DB",
		"redis://h:1?timeout=3s":        "unknown option",
		"redis://h:1?pool_size=0":       "pool_size",
		"redis+cluster://a:1/2":         "only database 0",
		"redis+cluster://a:1,,b:2":      "empty host",
		"redis+sentinel://s:1":          "needs the master name",
		"redis+sentinel://s:1/m/x":      "database",
		"redis+sentinel://s:1/m/1/2":    "path must be",
		"redis://::1:6379":              "brackets",
		"redis://h%zz:1":                "bad host name",
		"redis://user:pass@:1":          "bad host name",
		"redis+cluster://a:1,b:notport": "port",
	}
	for in, want := range bad {
		_, err := ParseRedisURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRedisURL(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}

func FuzzParseRedisURL(f *testing.F) {
	for _, s := range []string{"redis://127.0.0.1:6379/0", "redis+cluster://a:1,b:2", "redis+sentinel://s:1,t:2/m/3",
		"rediss://u:p@h/1?pool_size=3", "redis://[::1]:1", "redis://h:1/x", "redis+sentinel://s/m%20x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseRedisURL(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "redis address ") {
				t.Fatalf("error without the address: %v", err)
			}
			return
		}
		if len(a.Addrs) == 0 || a.Kind == RedisSentinel && a.Master == "" {
			t.Fatalf("accepted %q as %#v", s, a)
		}
		back, err := ParseRedisURL(a.String())
		if err != nil || fmt.Sprint(back) != fmt.Sprint(a) {
			t.Fatalf("%q -> %#v -> %q -> %#v, %v", s, a, a.String(), back, err)
		}
	})
}

// TestCatalogContract runs every strategy's Catalog through the same calls.
func TestCatalogContract(t *testing.T) {
	ctx := context.Background()
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			if _, err := s.SKUDef(ctx, "x"); !errors.Is(err, ErrUnknownSKU) {
				t.Fatalf("SKUDef of nothing: %v", err)
			}
			v0, err := s.CatalogVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, def := range []string{`{"v":1}`, `{"v":2}`} {
				if err := s.Configure(ctx, SKU{SKU: "x", Stock: 5, Def: []byte(def)}); err != nil {
					t.Fatal(err)
				}
				v, err := s.CatalogVersion(ctx)
				if err != nil || v == v0 {
					t.Fatalf("configure %d: version %d -> %d, %v", i, v0, v, err)
				}
				v0 = v
				if d, err := s.SKUDef(ctx, "x"); err != nil || string(d) != def {
					t.Fatalf("SKUDef = %q %v, want %q", d, err, def)
				}
			}
			if err := s.Configure(ctx, SKU{SKU: "y", Stock: 1, Def: []byte("y")}); err != nil {
				t.Fatal(err)
			}
			defs, err := s.SKUDefs(ctx)
			if err != nil || len(defs) != 2 || string(defs["x"]) != `{"v":2}` || string(defs["y"]) != "y" {
				t.Fatalf("SKUDefs = %q %v", defs, err)
			}
			id, err := s.CreateGroup(ctx, "x")
			if err != nil || id == "" {
				t.Fatalf("CreateGroup: %q %v", id, err)
			}
			for i, u := range []string{"a", "b", "a", "c", "d"} {
				n, err := s.JoinGroup(ctx, id, u, 4, 3)
				want := []int{1, 2, 2, 3, 4}[i]
				if err != nil || n != want {
					t.Fatalf("join %s: %d %v, want %d", u, n, err, want)
				}
				if has, _ := s.HasCoupon(ctx, "x", "a"); has != (want >= 3) {
					t.Fatalf("after %d members, coupon of a = %v", want, has)
				}
			}
			if _, err := s.JoinGroup(ctx, id, "e", 4, 3); !errors.Is(err, ErrGroupFull) {
				t.Fatalf("join a full group: %v", err)
			}
			if n, err := s.JoinGroup(ctx, id, "d", 4, 3); err != nil || n != 4 {
				t.Fatalf("a member joining a full group again: %d %v", n, err)
			}
			sku, members, err := s.Group(ctx, id)
			if err != nil || sku != "x" || !slices.Equal(members, []string{"a", "b", "c", "d"}) {
				t.Fatalf("Group = %q %q %v", sku, members, err)
			}
			for _, u := range []string{"a", "d"} {
				if has, err := s.HasCoupon(ctx, "x", u); err != nil || !has {
					t.Fatalf("coupon of %s: %v %v", u, has, err)
				}
			}
			if has, _ := s.HasCoupon(ctx, "y", "a"); has {
				t.Fatal("the coupon unlocked another sku")
			}
			for _, bad := range []string{"", "nope", "x.g", "x.gZZ", id + "0", "x.0.1", "{x}.g1"} {
				if _, _, err := s.Group(ctx, bad); !errors.Is(err, ErrNoGroup) {
					t.Fatalf("Group(%q): %v", bad, err)
				}
				if _, err := s.JoinGroup(ctx, bad, "a", 4, 3); !errors.Is(err, ErrNoGroup) {
					t.Fatalf("JoinGroup(%q): %v", bad, err)
				}
			}
		})
	}
}

// twoReplicas opens two strategies of one name on one Redis prefix: two processes' views.
func twoReplicas(t *testing.T, name, url string) (Strategy, Strategy) {
	t.Helper()
	prefix := fmt.Sprintf("flrep-%d-%d", os.Getpid(), prefixes.Add(1))
	var out [2]Strategy
	for i := range out {
		s, err := New(context.Background(), Config{Name: name, RedisURL: url, RedisPrefix: prefix, Shards: 5})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// TestConcurrentConfigureEndsInOneSKU: two replicas reset one SKU at once, many times; each
// time the SKU ends with the stock and the Def of one of the calls, never a mix.
func TestConcurrentConfigureEndsInOneSKU(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + testenv.RedisAddr(t) + "/0"
	for _, name := range []string{"redis-decr", "redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			a, b := twoReplicas(t, name, url)
			for round := range 30 {
				var wg sync.WaitGroup
				for i, s := range []Strategy{a, b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						stock := int64(100*(round+1) + 7*i)
						if err := s.Configure(ctx, SKU{SKU: "x", Stock: stock, Def: []byte(strconv.FormatInt(stock, 10))}); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
				def, err := b.SKUDef(ctx, "x")
				if err != nil {
					t.Fatal(err)
				}
				c, err := a.Counts(ctx, "x")
				if err != nil {
					t.Fatal(err)
				}
				if strconv.FormatInt(c.Stock, 10) != string(def) || c.Available != c.Stock {
					t.Fatalf("round %d: def %s, counts %+v: a mix of two configurations", round, def, c)
				}
			}
		})
	}
}

// TestSweepersReleaseEachReservationOnce: three replicas sweep the same expired reservations
// at once; each is released exactly once.
func TestSweepersReleaseEachReservationOnce(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + testenv.RedisAddr(t) + "/0"
	for _, name := range []string{"redis-decr", "redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			a, b := twoReplicas(t, name, url)
			c, err := New(ctx, Config{Name: name, RedisURL: url, RedisPrefix: a.(*redisStrategy).prefix, Shards: 5})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := a.Configure(ctx, SKU{SKU: "x", Stock: 1000, LimitPerUser: 1}); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			const n = 600
			for i := range n {
				s := []Strategy{a, b, c}[i%3]
				if _, _, err := s.Reserve(ctx, Request{SKU: "x", User: "u" + strconv.Itoa(i), Qty: 1, Now: now, TTL: time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			total := 0
			var wg sync.WaitGroup
			for _, s := range []Strategy{a, b, c, a, b, c} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k, err := s.Expire(ctx, now.Add(time.Second))
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					total += k
					mu.Unlock()
				}()
			}
			wg.Wait()
			cnt, err := b.Counts(ctx, "x")
			if err != nil {
				t.Fatal(err)
			}
			if total != n || cnt.Released != n || cnt.Available != 1000 || cnt.Reserved != 0 {
				t.Fatalf("sweepers released %d, counts %+v; want each of %d once", total, cnt, n)
			}
			// The users' units came back too: each can buy again (limit 1).
			if _, _, err := c.Reserve(ctx, Request{SKU: "x", User: "u1", Qty: 1, Now: now, TTL: time.Hour}); err != nil {
				t.Fatalf("buying again after the release: %v", err)
			}
		})
	}
}

// TestReplicasShareTheCatalog: a SKU and a group made through one client are the other's at once.
func TestReplicasShareTheCatalog(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + testenv.RedisAddr(t) + "/0"
	a, b := twoReplicas(t, "redis-lua", url)
	if err := a.Configure(ctx, SKU{SKU: "x", Stock: 3, Def: []byte("d")}); err != nil {
		t.Fatal(err)
	}
	if d, err := b.SKUDef(ctx, "x"); err != nil || string(d) != "d" {
		t.Fatalf("b sees %q %v", d, err)
	}
	o, _, err := b.Reserve(ctx, Request{SKU: "x", User: "u", Qty: 1, Now: time.Now(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Confirm(ctx, o.ID, "u", time.Now()); err != nil {
		t.Fatalf("paying on a an order made on b: %v", err)
	}
	id, err := a.CreateGroup(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"p", "q", "r"} {
		if _, err := b.JoinGroup(ctx, id, u, 10, 3); err != nil {
			t.Fatal(err)
		}
	}
	if has, err := a.HasCoupon(ctx, "x", "q"); err != nil || !has {
		t.Fatalf("coupon unlocked on b, seen on a: %v %v", has, err)
	}
}

// clusterURL is the test Redis Cluster's address.
func clusterURL(t testing.TB) string {
	return "redis+cluster://" + strings.Join(testenv.RedisClusterAddrs(t), ",")
}

// skusOnMasters picks n SKU names whose keys (and, for redis-sharded, whose first bucket) live
// on n different masters.
func skusOnMasters(t *testing.T, s *redisStrategy, n int) []string {
	t.Helper()
	cc := s.rdb.(*redis.ClusterClient)
	ctx := context.Background()
	seen := map[string]bool{}
	var out []string
	for i := 0; len(out) < n && i < 1000; i++ {
		name := "sku" + strconv.Itoa(i)
		m, err := cc.MasterForKey(ctx, s.keys(name, 0)[1])
		if err != nil {
			t.Fatal(err)
		}
		if !seen[m.Options().Addr] {
			seen[m.Options().Addr] = true
			out = append(out, name)
		}
	}
	if len(out) < n {
		t.Fatalf("found SKUs on %d masters, want %d", len(out), n)
	}
	return out
}

// TestRedisClusterSellsExactlyTheStock: on a 3-master Redis Cluster, redis-lua and
// redis-sharded (buckets spread over the masters) sell exactly the stock of SKUs that live on
// different masters, with many users racing.
func TestRedisClusterSellsExactlyTheStock(t *testing.T) {
	ctx := context.Background()
	url := clusterURL(t)
	for _, name := range []string{"redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			a, b := twoReplicas(t, name, url)
			rs := a.(*redisStrategy)
			skus := skusOnMasters(t, rs, 3)
			if name == "redis-sharded" {
				masters := map[string]bool{}
				for bk := 0; bk < rs.n; bk++ {
					m, err := rs.rdb.(*redis.ClusterClient).MasterForKey(ctx, rs.keys(skus[0], bk)[1])
					if err != nil {
						t.Fatal(err)
					}
					masters[m.Options().Addr] = true
				}
				if len(masters) < 2 {
					t.Fatalf("the %d buckets of %s all live on one master", rs.n, skus[0])
				}
			}
			const stock, users = 50, 400
			for _, k := range skus {
				if err := a.Configure(ctx, SKU{SKU: k, Stock: stock, LimitPerUser: 1, Def: []byte(k)}); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := map[string]int{}
			sem := make(chan struct{}, 32)
			for i := range users * len(skus) {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					k := skus[i%len(skus)]
					s := []Strategy{a, b}[i%2]
					u := "u" + strconv.Itoa(i/len(skus))
					_, _, err := s.Reserve(ctx, Request{SKU: k, User: u, Key: "k" + u, FP: 1, Qty: 1, Now: now, TTL: time.Hour})
					switch {
					case err == nil:
						mu.Lock()
						won[k]++
						mu.Unlock()
					case !errors.Is(err, ErrSoldOut):
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			for _, k := range skus {
				au, err := b.Audit(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if won[k] != stock || au.Sold != stock || au.Oversold != 0 || au.Duplicates != 0 || au.Available != 0 || au.Orders != stock {
					t.Fatalf("%s: %d acknowledged, audit %+v; want exactly %d sold", k, won[k], au, stock)
				}
			}
			if _, err := a.Expire(ctx, now); err != nil {
				t.Fatal(err)
			}
			id, err := b.CreateGroup(ctx, skus[1])
			if err != nil {
				t.Fatal(err)
			}
			if n, err := a.JoinGroup(ctx, id, "u1", 10, 3); err != nil || n != 1 {
				t.Fatalf("join on Cluster: %d %v", n, err)
			}
		})
	}
}

// TestRedisClusterMasterRestart: a master of the cluster shut down and started again (same dir,
// same nodes.conf, its append-only file): purchases on its SKU answer ErrUnavailable while it is
// gone, and succeed again afterwards through the same strategy, without a restart of it.
func TestRedisClusterMasterRestart(t *testing.T) {
	ctx := context.Background()
	// It stops a master: no other package's test may be using the cluster meanwhile.
	url := "redis+cluster://" + strings.Join(testenv.RedisClusterOwn(t), ",")
	s, err := New(ctx, Config{Name: "redis-lua", RedisURL: url, RedisPrefix: fmt.Sprintf("flrestart-%d", os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs := s.(*redisStrategy)
	sku := skusOnMasters(t, rs, 1)[0]
	if err := s.Configure(ctx, SKU{SKU: sku, Stock: 20, Def: []byte("d")}); err != nil {
		t.Fatal(err)
	}
	buy := func(u string) error {
		_, _, err := s.Reserve(ctx, Request{SKU: sku, User: u, Qty: 1, Now: time.Now(), TTL: time.Hour})
		return err
	}
	if err := buy("before"); err != nil {
		t.Fatal(err)
	}
	master, err := rs.rdb.(*redis.ClusterClient).MasterForKey(ctx, rs.keys(sku, 0)[1])
	if err != nil {
		t.Fatal(err)
	}
	// The node's own settings, to start it again as scripts/test did.
	var args []string
	for _, k := range []string{"bind", "port", "cluster-port", "dir", "cluster-config-file", "cluster-node-timeout",
		"appendonly", "pidfile", "logfile"} {
		v, err := master.ConfigGet(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if v[k] != "" {
			args = append(args, "--"+k, v[k])
		}
	}
	args = append(args, "--save", "", "--cluster-enabled", "yes", "--daemonize", "yes")
	_ = master.Shutdown(ctx).Err() // the connection drops: no answer expected
	down := 0
	for i := range 5 {
		if err := buy("down" + strconv.Itoa(i)); errors.Is(err, ErrUnavailable) {
			down++
		} else if err == nil {
			t.Fatalf("a purchase succeeded on a SKU whose master is down")
		}
	}
	if down == 0 {
		t.Fatal("no purchase saw the store unavailable")
	}
	if out, err := exec.Command("redis-server", args...).CombinedOutput(); err != nil {
		t.Fatalf("restarting the master: %v %s", err, out)
	}
	var last error
	for range 100 {
		if last = buy("after"); last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("no purchase after the master came back: %v", last)
	}
	a, err := s.Audit(ctx, sku)
	if err != nil {
		t.Fatal(err)
	}
	if a.Sold != 2 || a.Available != 18 || a.Oversold != 0 {
		t.Fatalf("audit %+v: want the two acknowledged purchases, nothing from the outage", a)
	}
}
