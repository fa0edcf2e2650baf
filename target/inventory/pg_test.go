package inventory

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

func isPostgres(name string) bool { return name == "pg-row" || name == "pg-occ" || name == "tcc" }

func newPG(t testing.TB, name string) *pgStrategy {
	t.Helper()
	return newStrategy(t, name).(*pgStrategy)
}

func mustCounts(t *testing.T, s Strategy, sku string) Counts {
	t.Helper()
	c, err := s.Counts(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The three TCC races of the seeds' Seata, driven directly on one xid each.
func TestTCCFence(t *testing.T) {
	ctx := context.Background()
	s := newPG(t, "tcc")
	if err := s.Configure(ctx, SKU{SKU: "x", Stock: 10, LimitPerUser: 3}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req := Request{SKU: "x", User: "u", Qty: 2, UnitPrice: 10, Now: now, TTL: time.Minute}
	try := func(t *testing.T, xid int64) string {
		t.Helper()
		code, _, _, err := s.callReserve(ctx, &req, 0, 0, xid)
		if err != nil {
			t.Fatalf("try %d: %v", xid, err)
		}
		return code
	}
	// reserved tries a new xid and answers it with the counts after its Try.
	reserved := func(t *testing.T) (int64, Counts) {
		t.Helper()
		xid := newXID()
		if code := try(t, xid); code != "RESERVED" {
			t.Fatalf("try answered %s, want RESERVED", code)
		}
		return xid, mustCounts(t, s, "x")
	}
	id := func(xid int64) string { return pgOrderID("x", xid) }

	t.Run("empty rollback refuses the late try", func(t *testing.T) {
		xid := newXID()
		_, code, err := s.settle(ctx, id(xid), "", now, "rollback")
		if code != "EMPTY_ROLLBACK" || !errors.Is(err, ErrNoOrder) {
			t.Fatalf("cancel before try: %s %v", code, err)
		}
		before := mustCounts(t, s, "x")
		if code := try(t, xid); code != "SUSPENDED" {
			t.Fatalf("late try answered %s, want SUSPENDED", code)
		}
		if after := mustCounts(t, s, "x"); after != before {
			t.Fatalf("a suspended try changed the stock: %+v -> %+v", before, after)
		}
		// A second cancel of the same xid stays a no-op.
		if _, code, _ := s.settle(ctx, id(xid), "", now, "rollback"); code != "NO_ORDER" {
			t.Fatalf("second empty rollback: %s", code)
		}
	})

	t.Run("concurrent cancels release once", func(t *testing.T) {
		xid, before := reserved(t)
		var now atomic.Int64
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				user := "u"
				if i%2 == 0 {
					user = "" // the expiry sweep and the user's cancel at once
				}
				o, code, err := s.settle(ctx, id(xid), user, time.Now().Add(time.Hour), "cancel")
				if err != nil || o.Status != Released {
					t.Errorf("cancel: %s %v", code, err)
				}
				if code == "RELEASED_NOW" {
					now.Add(1)
				}
			})
		}
		wg.Wait()
		after := mustCounts(t, s, "x")
		if now.Load() != 1 || after.Available != before.Available+2 || after.Released != before.Released+2 || after.Reserved != before.Reserved-2 {
			t.Fatalf("released %d times; counts %+v -> %+v", now.Load(), before, after)
		}
	})

	t.Run("confirm races cancel: one wins, both idempotent", func(t *testing.T) {
		xid, before := reserved(t)
		var wg sync.WaitGroup
		codes := make([]string, 20)
		for i := range codes {
			wg.Go(func() {
				op := "pay"
				if i%2 == 1 {
					op = "cancel"
				}
				_, codes[i], _ = s.settle(ctx, id(xid), "u", now, op)
			})
		}
		wg.Wait()
		after := mustCounts(t, s, "x")
		paid, released := after.Paid-before.Paid, after.Released-before.Released
		if paid+released != 2 || after.Reserved != before.Reserved-2 || (paid != 0 && paid != 2) {
			t.Fatalf("codes %v; counts %+v -> %+v", codes, before, after)
		}
		// Whichever won, repeating it answers the same without moving the stock.
		op, want := "pay", "PAID"
		if released == 2 {
			op, want = "cancel", "RELEASED"
		}
		if _, code, _ := s.settle(ctx, id(xid), "u", now, op); code != want {
			t.Fatalf("repeated %s: %s, want %s", op, code, want)
		}
		if again := mustCounts(t, s, "x"); again != after {
			t.Fatalf("a repeated phase two moved the stock: %+v -> %+v", after, again)
		}
	})

	a, err := s.Audit(ctx, "x")
	if err != nil || a.Oversold != 0 || a.Duplicates != 0 || a.Stock != a.Available+a.Reserved+a.Paid {
		t.Fatalf("audit %+v %v", a, err)
	}
}

// pg-occ under contention: nothing oversold, and every SOLD_OUT answered while units were left
// is in the audit's undersold.
func TestOCCCountsUndersold(t *testing.T) {
	ctx := context.Background()
	s := newPG(t, "pg-occ")
	s.occRetries = 0 // every lost write gives up at once: the cost shows on a small run
	const stock = 200
	if err := s.Configure(ctx, SKU{SKU: "x", Stock: stock}); err != nil {
		t.Fatal(err)
	}
	var ok, soldOut atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 10 {
				_, _, err := s.Reserve(ctx, Request{SKU: "x", User: strconv.Itoa(w*100 + i), Qty: 1, Now: time.Now(), TTL: time.Minute})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrSoldOut):
					soldOut.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	a, err := s.Audit(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	// 160 attempts for 200 units: every SOLD_OUT was a lost write while units were left.
	if a.Sold != ok.Load() || a.Oversold != 0 || a.Undersold != soldOut.Load() || a.Stock != a.Available+a.Reserved+a.Paid {
		t.Fatalf("%d reserved, %d sold out; audit %+v", ok.Load(), soldOut.Load(), a)
	}
	t.Logf("pg-occ without retries: %d of 160 attempts lost their write", soldOut.Load())
}

// Groups and coupons live in PostgreSQL: a second strategy on the same database sees them.
func TestPGCatalogIsShared(t *testing.T) {
	ctx := context.Background()
	s := newPG(t, "pg-row")
	other, err := New(ctx, Config{Name: "tcc", PostgresURL: s.db.Config().ConnString()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	v0, _ := other.CatalogVersion(ctx)
	if err := s.Configure(ctx, SKU{SKU: "x", Stock: 5, Def: []byte(`{"sku":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	if v1, _ := other.CatalogVersion(ctx); v1 == v0 {
		t.Fatal("catalog version did not change on Configure")
	}
	if d, err := other.SKUDef(ctx, "x"); err != nil || string(d) != `{"sku":"x"}` {
		t.Fatalf("SKUDef: %q %v", d, err)
	}
	if _, err := other.SKUDef(ctx, "y"); !errors.Is(err, ErrUnknownSKU) {
		t.Fatalf("unknown SKUDef: %v", err)
	}
	if defs, err := other.SKUDefs(ctx); err != nil || len(defs) != 1 {
		t.Fatalf("SKUDefs: %v %v", defs, err)
	}
	g, err := s.CreateGroup(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"a", "b", "b", "c", "d"} {
		n, err := other.JoinGroup(ctx, g, u, 4, 3)
		want := []int{1, 2, 2, 3, 4}[i]
		if err != nil || n != want {
			t.Fatalf("join %s: %d %v, want %d", u, n, err, want)
		}
	}
	if _, err := s.JoinGroup(ctx, g, "e", 4, 3); !errors.Is(err, ErrGroupFull) {
		t.Fatalf("join a full group: %v", err)
	}
	if _, err := s.JoinGroup(ctx, "nope", "e", 4, 3); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("join an unknown group: %v", err)
	}
	sku, members, err := s.Group(ctx, g)
	if err != nil || sku != "x" || len(members) != 4 || members[0] != "a" || members[3] != "d" {
		t.Fatalf("group: %s %v %v", sku, members, err)
	}
	for u, want := range map[string]bool{"a": true, "d": true, "e": false} {
		if ok, err := other.HasCoupon(ctx, "x", u); err != nil || ok != want {
			t.Fatalf("coupon of %s: %v %v", u, ok, err)
		}
	}
	if _, _, err := s.Group(ctx, "nope"); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("unknown group: %v", err)
	}
}

// pgReplicas opens n strategies on one fresh database: n replicas of one service.
func pgReplicas(t *testing.T, name string, n int) []Strategy {
	t.Helper()
	url := testenv.Postgres(t)
	out := make([]Strategy, n)
	for i := range out {
		s, err := New(context.Background(), Config{Name: name, PostgresURL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// Three replicas sweep the same expired reservations at once: each is released exactly once,
// and two replicas resetting one SKU at once leave one consistent SKU.
func TestPGReplicasSweepAndConfigure(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"pg-row", "pg-occ", "tcc"} {
		t.Run(name, func(t *testing.T) {
			rs := pgReplicas(t, name, 3)
			if err := rs[0].Configure(ctx, SKU{SKU: "x", Stock: 1000, LimitPerUser: 1}); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			const n = 300
			for i := range n {
				if _, _, err := rs[i%3].Reserve(ctx, Request{SKU: "x", User: "u" + strconv.Itoa(i), Qty: 1, Now: now, TTL: time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			var total atomic.Int64
			var wg sync.WaitGroup
			for i := range 6 {
				wg.Go(func() {
					k, err := rs[i%3].Expire(ctx, now.Add(time.Second))
					if err != nil {
						t.Error(err)
					}
					total.Add(int64(k))
				})
			}
			wg.Wait()
			c := mustCounts(t, rs[1], "x")
			if total.Load() != n || c.Released != n || c.Available != 1000 || c.Reserved != 0 {
				t.Fatalf("sweepers released %d, counts %+v; want each of %d once", total.Load(), c, n)
			}
			if _, _, err := rs[2].Reserve(ctx, Request{SKU: "x", User: "u1", Qty: 1, Now: now, TTL: time.Hour}); err != nil {
				t.Fatalf("buying again after the release (limit 1): %v", err)
			}
			for round := range 10 {
				wg = sync.WaitGroup{}
				for i := range 2 {
					wg.Go(func() {
						stock := int64(100*(round+1) + 7*i)
						if err := rs[i].Configure(ctx, SKU{SKU: "x", Stock: stock, Def: []byte(strconv.FormatInt(stock, 10))}); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				def, err := rs[2].SKUDef(ctx, "x")
				if err != nil {
					t.Fatal(err)
				}
				if c := mustCounts(t, rs[2], "x"); strconv.FormatInt(c.Stock, 10) != string(def) || c.Available != c.Stock || c.Orders != 0 {
					t.Fatalf("round %d: def %s, counts %+v: a mix of two configurations", round, def, c)
				}
			}
		})
	}
}

// One key fired at once from many clients (a retry storm across replicas) is one order: every
// answer is that order, none is LIMIT or SOLD_OUT, even for the calls that waited on a lock
// while the first committed.
func TestPGSameKeyAtOnceIsOneOrder(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"pg-row", "pg-occ", "tcc"} {
		t.Run(name, func(t *testing.T) {
			rs := pgReplicas(t, name, 2)
			for round := range 5 {
				if err := rs[0].Configure(ctx, SKU{SKU: "x", Stock: 1, LimitPerUser: 1}); err != nil {
					t.Fatal(err)
				}
				ids := make([]string, 12)
				var wg sync.WaitGroup
				for i := range ids {
					wg.Go(func() {
						o, _, err := rs[i%2].Reserve(ctx, Request{SKU: "x", User: "u", Key: "k", FP: 1, Qty: 1, Now: time.Now(), TTL: time.Minute})
						if err != nil {
							t.Errorf("round %d call %d: %v", round, i, err)
							return
						}
						ids[i] = o.ID
					})
				}
				wg.Wait()
				for _, id := range ids {
					if id != ids[0] {
						t.Fatalf("round %d: one key gave orders %v", round, ids)
					}
				}
			}
		})
	}
}
