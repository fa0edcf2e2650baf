package inventory

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func newMQ(t *testing.T, claimIdle time.Duration) *mqStrategy {
	t.Helper()
	s := newStrategy(t, "redis-mq").(*mqStrategy)
	s.claimIdle, s.pendingWait, s.drainWait = claimIdle, 200*time.Millisecond, 5*time.Second
	return s
}

func buy(t *testing.T, s Strategy, n int) []Order {
	t.Helper()
	var out []Order
	for i := range n {
		o, _, err := s.Reserve(context.Background(), Request{SKU: "x", User: "u" + strconv.Itoa(i), Key: "k", Qty: 1,
			UnitPrice: 10, Now: time.Now(), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// A consumer that read messages and died before acknowledging them (after committing some to
// the book, even) loses nothing: the live consumers claim its messages once idle, persist
// them idempotently (the committed ones are not inserted twice), and acknowledge.
func TestRedisMQTakesOverADeadConsumer(t *testing.T) {
	ctx := context.Background()
	s := newMQ(t, 300*time.Millisecond)
	s.KillConsumers()
	if err := s.Configure(ctx, SKU{SKU: "x", Stock: 100}); err != nil {
		t.Fatal(err)
	}
	orders := buy(t, s, 20)
	stream := s.mqKeys("x")[8]
	res, err := s.r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: mqGroup, Consumer: "dead", Streams: []string{stream, ">"},
		Count: 100, Block: -1}).Result()
	if err != nil || len(res[0].Messages) != 20 {
		t.Fatalf("dead consumer's read: %v %v", res, err)
	}
	// It committed the first half to the book, then died before XACK: the messages stay
	// pending on "dead".
	if err := s.store(ctx, "x", res[0].Messages[:10]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Order(ctx, orders[15].ID); !errors.Is(err, ErrPending) {
		t.Fatalf("an unpersisted order answers %v, want ErrPending", err)
	}
	if b, _ := s.Backlog(ctx, "x"); b != 20 {
		t.Fatalf("backlog %d, want 20 (all unacknowledged)", b)
	}
	s.StartConsumers()
	a, err := s.Audit(ctx, "x") // waits for the claim (300ms idle) and the drain
	if err != nil {
		t.Fatal(err)
	}
	if a.Backlog != 0 || a.BacklogSeen == 0 || a.Orders != 20 || a.Reserved != 20 || a.Available != 80 || a.Duplicates != 0 {
		t.Fatalf("audit after the takeover %+v", a)
	}
	for _, o := range orders {
		if got, err := s.Order(ctx, o.ID); err != nil || got.User != o.User || got.Price != o.Price {
			t.Fatalf("order %s: %+v %v, want %+v", o.ID, got, err, o)
		}
	}
	pend, err := s.r.rdb.XPending(ctx, stream, mqGroup).Result()
	if err != nil || pend.Count != 0 {
		t.Fatalf("pending after the takeover: %+v %v", pend, err)
	}
}

// Messages of a generation that a Configure replaced are dropped, not persisted; pay and
// cancel of an order not yet in the book wait, then answer ErrPending; a cancel gives the
// units back to the gate once.
func TestRedisMQGenerationsAndPending(t *testing.T) {
	ctx := context.Background()
	s := newMQ(t, time.Second)
	s.KillConsumers()
	if err := s.Configure(ctx, SKU{SKU: "x", Stock: 10, LimitPerUser: 1}); err != nil {
		t.Fatal(err)
	}
	old := buy(t, s, 3)
	if _, err := s.Confirm(ctx, old[0].ID, old[0].User, time.Now()); !errors.Is(err, ErrPending) {
		t.Fatalf("pay before the book has it: %v, want ErrPending", err)
	}
	if err := s.Configure(ctx, SKU{SKU: "x", Stock: 10, LimitPerUser: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(ctx, old[0].ID, old[0].User, time.Now()); !errors.Is(err, ErrNoOrder) {
		t.Fatalf("pay of an order of a replaced generation: %v, want ErrNoOrder", err)
	}
	fresh := buy(t, s, 2)
	s.StartConsumers()
	a, err := s.Audit(ctx, "x")
	if err != nil || a.Orders != 2 || a.Available != 8 || a.Backlog != 0 {
		t.Fatalf("audit %+v %v: want only the 2 orders of the new generation", a, err)
	}
	// Cancel one: the book releases it, the gate gets the unit and the user's limit back.
	if o, err := s.Release(ctx, fresh[0].ID, fresh[0].User, time.Now()); err != nil || o.Status != Released {
		t.Fatalf("cancel: %+v %v", o, err)
	}
	if _, err := s.Release(ctx, fresh[0].ID, "", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Expire(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 1 { // the other one
		t.Fatalf("expire: %d %v", n, err)
	}
	c, err := s.Counts(ctx, "x")
	if err != nil || c.Available != 10 || c.Released != 2 || c.Reserved != 0 {
		t.Fatalf("counts after cancel and expiry: %+v %v (want every unit back in the gate once)", c, err)
	}
	if _, _, err := s.Reserve(ctx, Request{SKU: "x", User: fresh[0].User, Qty: 1, Now: time.Now(), TTL: time.Hour}); err != nil {
		t.Fatalf("the user's limit was not given back: %v", err)
	}
}
