package stores

import (
	"context"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"

	"github.com/redis/go-redis/v9"
)

// TestRedisSentinelFailover: a client on the redis+sentinel address writes, SENTINEL FAILOVER
// promotes the replica, and the client follows it: the write is there and new writes land on
// the new primary. Then a kill of the new primary is failed over by the sentinels themselves.
func TestRedisSentinelFailover(t *testing.T) {
	_, err := SentinelBin()
	testenv.NeedBinary(t, err)
	ctx := context.Background()
	rs, err := StartRedisSentinel(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Stop()
	first, err := rs.Primary(ctx)
	if err != nil || first != rs.Servers[0] {
		t.Fatalf("primary %v %v", first, err)
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: sentinelAddrs(rs)})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx, 1, time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rs.Failover(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := rs.Primary(ctx)
	if err != nil || second != rs.Servers[1] {
		t.Fatalf("primary after the failover %v %v", second, err)
	}
	follow(t, c, "k", "v")
	if err := rs.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if p, err := rs.Primary(ctx); err == nil && p == rs.Servers[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sentinels did not fail the killed primary over")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := rs.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	follow(t, c, "k", "v")
}

func sentinelAddrs(rs *RedisSentinel) []string {
	var a []string
	for _, s := range rs.sentinels {
		a = append(a, s.Addr())
	}
	return a
}

// follow waits (bounded) until the client reads key's value and writes on the primary.
func follow(t *testing.T, c *redis.Client, key, want string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := c.Get(ctx, key).Result()
		if err == nil && got == want && c.Set(ctx, key, want, 0).Err() == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %q, %v", key, got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
