package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

var prefixes atomic.Int64

func newStrategy(t testing.TB, name string) Strategy {
	t.Helper()
	cfg := Config{Name: name, Shards: 4}
	if strings.HasPrefix(name, "redis") {
		cfg.RedisURL = "redis://" + testenv.RedisAddr(t) + "/0"
		cfg.RedisPrefix = fmt.Sprintf("flinv-%d-%d", os.Getpid(), prefixes.Add(1))
	}
	if isPostgres(name) || name == "redis-mq" {
		cfg.PostgresURL = testenv.Postgres(t)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStrategyContract runs every strategy through the same lifecycle, directly (no HTTP).
func TestStrategyContract(t *testing.T) {
	ctx := context.Background()
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			if err := s.Configure(ctx, SKU{SKU: "x", Stock: 8, LimitPerUser: 2, FirstNHalf: 4}); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			req := func(user, key string, qty int64) Request {
				return Request{SKU: "x", User: user, Key: key, FP: uint64(qty), Qty: qty, UnitPrice: 10, Now: now, TTL: time.Minute}
			}
			o, replay, err := s.Reserve(ctx, req("u1", "k1", 1))
			if err != nil || replay || o.Status != Reserved || o.Qty != 1 || o.User != "u1" || o.Key != "k1" {
				t.Fatalf("reserve: %+v %v %v", o, replay, err)
			}
			again, replay, err := s.Reserve(ctx, req("u1", "k1", 1))
			if err != nil || !replay || again.ID != o.ID {
				t.Fatalf("replay: %+v %v %v", again, replay, err)
			}
			if _, _, err := s.Reserve(ctx, req("u1", "k1", 2)); !errors.Is(err, ErrKeyReused) {
				t.Fatalf("key reused: %v", err)
			}
			if _, _, err := s.Reserve(ctx, req("u1", "", 2)); !errors.Is(err, ErrLimit) {
				t.Fatalf("limit: %v", err)
			}
			if _, _, err := s.Reserve(ctx, Request{SKU: "nope", User: "u", Qty: 1, Now: now}); !errors.Is(err, ErrUnknownSKU) {
				t.Fatalf("unknown sku: %v", err)
			}
			if _, err := s.Confirm(ctx, o.ID, "u2", now); !errors.Is(err, ErrForbidden) {
				t.Fatalf("confirm by another user: %v", err)
			}
			if p, err := s.Confirm(ctx, o.ID, "u1", now); err != nil || p.Status != Paid {
				t.Fatalf("confirm: %+v %v", p, err)
			}
			if _, err := s.Release(ctx, o.ID, "u1", now); !errors.Is(err, ErrPaid) {
				t.Fatalf("release of a paid order: %v", err)
			}
			o2, _, err := s.Reserve(ctx, req("u2", "", 2))
			if err != nil {
				t.Fatal(err)
			}
			// The reaper releases it once its time has come; paying it afterwards is too late.
			// redis-mq's expiry reads its book of record, PostgreSQL, which holds the order once a
			// consumer persisted it: the sweep sees it then (bounded wait, not a timing assertion).
			n, err := s.Expire(ctx, now.Add(time.Hour))
			for deadline := time.Now().Add(10 * time.Second); err == nil && n == 0 && s.Name() == "redis-mq" && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				n, err = s.Expire(ctx, now.Add(time.Hour))
			}
			if err != nil || n != 1 {
				t.Fatalf("expire: %d %v", n, err)
			}
			if n, _ := s.Expire(ctx, now.Add(time.Hour)); n != 0 {
				t.Fatalf("expired twice: %d", n)
			}
			if _, err := s.Confirm(ctx, o2.ID, "u2", now); !errors.Is(err, ErrExpired) {
				t.Fatalf("confirm after expiry: %v", err)
			}
			if r, err := s.Release(ctx, o2.ID, "u2", now); err != nil || r.Status != Released {
				t.Fatalf("release of a released order: %+v %v", r, err)
			}
			if _, err := s.Order(ctx, "x.0.zzzz"); !errors.Is(err, ErrNoOrder) {
				t.Fatalf("unknown order: %v", err)
			}
			a, err := s.Audit(ctx, "x")
			if err != nil {
				t.Fatal(err)
			}
			want := Audit{Counts: Counts{Stock: 8, Available: 7, Paid: 1, Released: 2, Orders: 2, Taken: 3}, Sold: 1}
			if a != want {
				t.Fatalf("audit %+v, want %+v", a, want)
			}
			var seen []string
			if err := s.Orders(ctx, "x", func(o *Order) error { seen = append(seen, o.Status.String()); return nil }); err != nil || len(seen) != 2 {
				t.Fatalf("orders %v %v", seen, err)
			}
		})
	}
}

func TestFirstNHalfIsAtomicWithTheStock(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"memory", "redis-lua", "redis-decr", "redis-lock", "redis-mq", "pg-row", "tcc"} {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			if err := s.Configure(ctx, SKU{SKU: "x", Stock: 1000, FirstNHalf: 100}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var half atomic.Int64
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 40 {
						o, _, err := s.Reserve(ctx, Request{SKU: "x", User: strconv.Itoa(w*100 + i), Qty: 1, UnitPrice: 10, Now: time.Now(), TTL: time.Minute})
						if err != nil {
							t.Error(err)
							return
						}
						half.Add(o.Half)
					}
				}()
			}
			wg.Wait()
			if half.Load() != 100 {
				t.Fatalf("%d units at half price, want exactly the first 100", half.Load())
			}
		})
	}
}

func TestTotal(t *testing.T) {
	for _, tt := range []struct {
		unit      float64
		qty, half int64
		want      float64
	}{{10, 1, 0, 10}, {10, 1, 1, 5}, {10, 3, 5, 15}, {9.99, 2, 1, 14.99}, {10, 2, -1, 20}} {
		if got := Total(tt.unit, tt.qty, tt.half); got != tt.want {
			t.Errorf("Total(%v,%d,%d) = %v, want %v", tt.unit, tt.qty, tt.half, got, tt.want)
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"sku.0.1", "a-b_c.12.zz", "x..1", ".0.1", "x.0.", "x.0.0", "x.99999999.1", "x.0.1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		sku, b, seq, ok := parseID(id)
		if !ok {
			return
		}
		if sku == "" || b < 0 || seq <= 0 {
			t.Fatalf("parseID(%q) = %q %d %d", id, sku, b, seq)
		}
		if strings.ContainsRune(sku, '.') {
			t.Fatalf("sku %q has a dot", sku)
		}
		// What orderID builds, parseID reads back.
		if s2, b2, q2, ok := parseID(orderID(sku, b, seq)); !ok || s2 != sku || b2 != b || q2 != seq {
			t.Fatalf("round trip of %q: %q %d %d %v", id, s2, b2, q2, ok)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("k\tu1\t2\t9.5\t1\tg1\tTEAM3\t1700000000000\t1700000060000\t42\t0", "r")
	f.Add("\t\t\t\t\t\t\t\t\t\t", "p")
	f.Add("a\tb", "x")
	f.Fuzz(func(t *testing.T, d, status string) {
		o, ok := decode("x.0.1", "x", d, status)
		if !ok {
			return
		}
		if o.ID != "x.0.1" || o.SKU != "x" || o.Status < Reserved || o.Status > Released {
			t.Fatalf("decode(%q) = %+v", d, o)
		}
	})
}

// BenchmarkReserve is the purchase path of each strategy without HTTP.
func BenchmarkReserve(b *testing.B) {
	ctx := context.Background()
	for _, name := range Names {
		if name == "naive" {
			continue // its pause is a constant, by design
		}
		b.Run(name, func(b *testing.B) {
			s := newStrategy(b, name)
			if err := s.Configure(ctx, SKU{SKU: "x", Stock: 1e11}); err != nil {
				b.Fatal(err)
			}
			users := make([]string, 4096)
			for i := range users {
				users[i] = "u" + strconv.Itoa(i)
			}
			now := time.Now()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, err := s.Reserve(ctx, Request{SKU: "x", User: users[i%len(users)], Qty: 1, UnitPrice: 10, Now: now, TTL: time.Hour}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkReserveParallel is BenchmarkReserve with 32 concurrent purchases per core (64 on two
// cores, as bench-redis's 64 connections), where the Redis strategies share round trips.
func BenchmarkReserveParallel(b *testing.B) {
	ctx := context.Background()
	for _, name := range Names {
		if name == "naive" {
			continue
		}
		b.Run(name, func(b *testing.B) {
			s := newStrategy(b, name)
			if err := s.Configure(ctx, SKU{SKU: "x", Stock: 1e11}); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			var next atomic.Int64
			b.SetParallelism(32)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				user := "p" + strconv.FormatInt(next.Add(1), 10)
				for pb.Next() {
					if _, _, err := s.Reserve(ctx, Request{SKU: "x", User: user, Qty: 1, UnitPrice: 10, Now: now, TTL: time.Hour}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
