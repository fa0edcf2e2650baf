package inventory

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestBatchedPurchasesKeepTheirOwnErrors: the Redis strategies send concurrent purchases in
// shared pipelines, and a failing command must fail only its own purchase. Half of 64 concurrent
// buyers hit a SKU whose stock key has the wrong type (every script or DECRBY on it errors); the
// other half buy a healthy SKU in the same batches and must all succeed, with exactly their
// units sold.
func TestBatchedPurchasesKeepTheirOwnErrors(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"redis-decr", "redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			rs := s.(*redisStrategy)
			for _, sku := range []string{"good", "bad"} {
				if err := s.Configure(ctx, SKU{SKU: sku, Stock: 1_000_000}); err != nil {
					t.Fatal(err)
				}
			}
			for b := 0; b < rs.n; b++ {
				avail := rs.keys("bad", b)[1]
				if err := rs.rdb.Del(ctx, avail).Err(); err != nil {
					t.Fatal(err)
				}
				if err := rs.rdb.HSet(ctx, avail, "x", 1).Err(); err != nil {
					t.Fatal(err)
				}
			}
			const buyers, each = 64, 20
			errs := make(chan error, buyers*each)
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Go(func() {
					sku := "good"
					if i%2 == 1 {
						sku = "bad"
					}
					for j := range each {
						user := "u" + strconv.Itoa(i) + "." + strconv.Itoa(j)
						_, _, err := s.Reserve(ctx, Request{SKU: sku, User: user, Key: user, Qty: 1, UnitPrice: 10,
							Now: time.Now(), TTL: time.Hour})
						switch {
						case sku == "good" && err != nil:
							errs <- err
						case sku == "bad" && !errors.Is(err, ErrUnavailable):
							errs <- errors.New("a purchase on the broken SKU answered " + strconv.Quote(errString(err)))
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			c, err := s.Counts(ctx, "good")
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(buyers / 2 * each); c.Reserved != want || c.Orders != want {
				t.Errorf("good SKU: reserved %d, orders %d, want %d", c.Reserved, c.Orders, want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
