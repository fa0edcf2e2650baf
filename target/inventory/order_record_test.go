package inventory

import (
	"context"
	"testing"
	"time"
)

// Every writer of the stored order record (the reserving Lua of redis-lua, redis-sharded and
// redis-mq, the Go of redis-decr and redis-lock) lays it out as decodeRecord reads it: the order
// a purchase answers, the order its replay reads back from the store and the order the store
// lists all carry every field of the request.
func TestEveryWriterStoresOneRecord(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_796_600_000_123)
	req := Request{SKU: "r", User: "用户\u00e9-1", Key: "key 1", FP: 1<<63 + 42, Qty: 2, UnitPrice: 9.55,
		Group: "r.g7", Coupon: "TEAM3", Now: now, TTL: 90 * time.Second}
	for _, name := range []string{"redis-lua", "redis-sharded", "redis-decr", "redis-lock", "redis-mq"} {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			// First-N covers both units in every bucket of redis-sharded (its four buckets share it).
			if err := s.Configure(ctx, SKU{SKU: "r", Stock: 16, FirstNHalf: 8}); err != nil {
				t.Fatal(err)
			}
			want := Order{SKU: "r", Key: req.Key, User: req.User, Qty: 2, Status: Reserved, Unit: 9.55, Half: 2,
				Price: Total(9.55, 2, 2), Group: req.Group, Coupon: req.Coupon, FP: req.FP}
			check := func(how string, o Order) {
				t.Helper()
				if o.CreatedAt.UnixMilli() != now.UnixMilli() || o.ExpiresAt.UnixMilli() != now.Add(req.TTL).UnixMilli() {
					t.Errorf("%s: created %v expires %v, want %v and %v", how, o.CreatedAt, o.ExpiresAt, now, now.Add(req.TTL))
				}
				o.ID, o.CreatedAt, o.ExpiresAt = "", time.Time{}, time.Time{}
				if o != want {
					t.Errorf("%s:\n got %+v\nwant %+v", how, o, want)
				}
			}
			o, replay, err := s.Reserve(ctx, req)
			if err != nil || replay {
				t.Fatalf("reserve: %v %v", replay, err)
			}
			check("the purchase's answer", o)
			again, replay, err := s.Reserve(ctx, req)
			if err != nil || !replay || again.ID != o.ID {
				t.Fatalf("replay: %+v %v %v", again, replay, err)
			}
			check("the replay", again)
			if name == "redis-mq" {
				return // its book of record is PostgreSQL, written by the consumers (TestStrategyContract)
			}
			stored, err := s.Order(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			check("the stored order", stored)
			n := 0
			if err := s.Orders(ctx, "r", func(l *Order) error { n++; check("the listed order", *l); return nil }); err != nil || n != 1 {
				t.Fatalf("orders: %d %v", n, err)
			}
		})
	}
}

func FuzzOrderRecord(f *testing.F) {
	f.Add("k", "u1", int64(2), 9.5, int64(1), "g1", "TEAM3", int64(1700000000000), int64(1700000060000), uint64(42), 3)
	f.Add("", "", int64(0), 0.0, int64(0), "", "", int64(0), int64(0), uint64(0), 0)
	f.Fuzz(func(t *testing.T, key, user string, qty int64, unit float64, half int64, group, coupon string, created, expires int64, fp uint64, home int) {
		rec := orderRecord{Key: key, User: user, Qty: qty, Unit: unit, Half: half, Group: group, Coupon: coupon,
			Created: created, Expires: expires, FP: fp, Home: home}
		got, ok := decodeRecord(rec.encode())
		tabs := false
		for _, s := range []string{key, user, group, coupon} {
			for i := range len(s) {
				tabs = tabs || s[i] == '\t'
			}
		}
		if tabs {
			return // the target refuses keys, users, groups and coupons with control characters
		}
		if !ok || got != rec && !(unit != unit && got.Unit != got.Unit) {
			t.Fatalf("round trip of %+v: %+v %v", rec, got, ok)
		}
	})
}
