package inventory

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// A holder paused past its lock's TTL (Pause, as a stall fault does) lets a second holder
// read the same stock: both sell the last unit, and the audit shows the oversell. With a TTL
// longer than the pause, the second holder waits and gets SOLD_OUT.
func TestRedisLockHolderPastTTLOversells(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		ttl      time.Duration
		oversold int64
	}{{50 * time.Millisecond, 1}, {5 * time.Second, 0}} {
		t.Run(tc.ttl.String(), func(t *testing.T) {
			paused := make(chan struct{})
			resume := make(chan struct{})
			var once sync.Once
			base := newStrategy(t, "redis-lock").(*lockStrategy)
			s := &lockStrategy{redisStrategy: base.redisStrategy, ttl: tc.ttl, pause: func(context.Context) {
				first := false
				once.Do(func() { first = true })
				if first { // only the first holder stalls
					close(paused)
					<-resume
				}
			}}
			if err := s.Configure(ctx, SKU{SKU: "x", Stock: 1}); err != nil {
				t.Fatal(err)
			}
			req := func(user string) Request {
				return Request{SKU: "x", User: user, Qty: 1, Now: time.Now(), TTL: time.Minute}
			}
			errA := make(chan error, 1)
			go func() {
				_, _, err := s.Reserve(ctx, req("a"))
				errA <- err
			}()
			<-paused
			if tc.oversold > 0 {
				time.Sleep(2 * tc.ttl) // the first holder's lock expires
			}
			errB := make(chan error, 1)
			go func() {
				_, _, err := s.Reserve(ctx, req("b"))
				errB <- err
			}()
			if tc.oversold > 0 {
				if err := <-errB; err != nil { // b got the expired lock and the same unit
					t.Fatalf("second holder: %v", err)
				}
				close(resume)
			} else {
				time.Sleep(100 * time.Millisecond) // b waits for the lock
				close(resume)
				if err := <-errB; !errors.Is(err, ErrSoldOut) {
					t.Fatalf("second buyer with a live lock: %v, want SOLD_OUT", err)
				}
			}
			if err := <-errA; err != nil {
				t.Fatalf("first holder: %v", err)
			}
			a, err := s.Audit(ctx, "x")
			if err != nil {
				t.Fatal(err)
			}
			if a.Oversold != tc.oversold || a.Stock != a.Available+a.Reserved+a.Paid {
				t.Fatalf("audit %+v, want oversold %d", a, tc.oversold)
			}
		})
	}
}
