package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

// TestRedisWaitWithoutReplicas: with RedisWait 1 on a server that has no replica, a purchase
// runs but no replica acknowledges it, so it is not acknowledged to the buyer: 503
// STORE_UNAVAILABLE (an unknown outcome), with the order stored. With RedisWait 0 (the default)
// the same purchase is acknowledged. Cluster refuses RedisWait.
func TestRedisWaitWithoutReplicas(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + testenv.RedisAddr(t) + "/0"
	for _, name := range []string{"redis-decr", "redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			for _, wait := range []int{0, 1} {
				s, err := New(ctx, Config{Name: name, RedisURL: url, Shards: 2, RedisWait: wait,
					RedisPrefix: fmt.Sprintf("flwait-%d-%d", os.Getpid(), prefixes.Add(1))})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if err := s.Configure(ctx, SKU{SKU: "x", Stock: 5}); err != nil {
					t.Fatal(err)
				}
				_, _, err = s.Reserve(ctx, Request{SKU: "x", User: "u1", Key: "k1", FP: 1, Qty: 1, UnitPrice: 10, Now: time.Now(), TTL: time.Minute})
				switch {
				case wait == 0 && err != nil:
					t.Fatalf("no WAIT: %v", err)
				case wait == 1 && (!errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "WAIT 1: 0 replicas")):
					t.Fatalf("WAIT 1 without a replica: %v", err)
				}
				c, err := s.Counts(ctx, "x")
				if err != nil || c.Reserved != 1 {
					t.Fatalf("WAIT %d: counts %+v %v: the purchase ran", wait, c, err)
				}
			}
		})
	}
	if _, err := New(ctx, Config{Name: "redis-lua", RedisURL: "redis+cluster://127.0.0.1:1", RedisWait: 1}); err == nil || !strings.Contains(err.Error(), "not redis+cluster") {
		t.Fatalf("cluster with RedisWait: %v", err)
	}
}
