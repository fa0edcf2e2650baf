package audit

import (
	"strings"
	"testing"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

func TestKeyRoundTrip(t *testing.T) {
	k := string(AppendKey(nil, "r1x", 12345, 3))
	if k != "r1x-12345-3" {
		t.Fatalf("key %q", k)
	}
	seq, step, ok := ParseKey(k, "r1x")
	if !ok || seq != 12345 || step != 3 {
		t.Fatalf("ParseKey(%q) = %d %d %v", k, seq, step, ok)
	}
	for _, bad := range []string{"", "r1x", "r1x-", "r1x-1", "r2x-1-2", "r1x--1-2", "r1x-1-70000", "r1xx-1-2"} {
		if _, _, ok := ParseKey(bad, "r1x"); ok {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestAudit(t *testing.T) {
	skus := []scenario.SKU{{SKU: "a", Stock: 2, LimitPerUser: 1}, {SKU: "b", Stock: 10}}
	key := func(seq int64) string { return string(AppendKey(nil, "R", seq, 0)) }
	tests := []struct {
		name     string
		attempts []Attempt
		orders   []Order
		server   map[string]SKUAudit
		want     func(t *testing.T, a auditView)
	}{
		{
			name:     "clean",
			attempts: []Attempt{{Seq: 1, Outcome: outcome.Acknowledged}, {Seq: 2, Outcome: outcome.Acknowledged}, {Seq: 3, Outcome: outcome.SoldOut, Flags: FlagSoldOut}},
			orders:   []Order{{Key: key(1), User: "u1", SKU: "a", Qty: 1, Status: "paid"}, {Key: key(2), User: "u2", SKU: "a", Qty: 1, Status: "reserved"}},
			want: func(t *testing.T, a auditView) {
				a.expect(t, 0, 0, 0, 0, 0, 0)
				if a.Sold != 2 || a.Paid != 1 || a.Stock != 12 {
					t.Errorf("sold %d paid %d stock %d", a.Sold, a.Paid, a.Stock)
				}
			},
		},
		{
			name: "oversold and lost",
			attempts: []Attempt{{Seq: 1, Outcome: outcome.Acknowledged}, {Seq: 2, Outcome: outcome.Acknowledged},
				{Seq: 3, Outcome: outcome.Acknowledged}, {Seq: 4, Outcome: outcome.Acknowledged}},
			orders: []Order{{Key: key(1), User: "u1", SKU: "a", Qty: 1}, {Key: key(2), User: "u2", SKU: "a", Qty: 1}, {Key: key(3), User: "u3", SKU: "a", Qty: 1}},
			// The store holds 3 units of a stock of 2 (oversold 1) and lost a 4th acknowledged one:
			// buyers were promised 4 units of 2, so oversold is 2 as they see it.
			want: func(t *testing.T, a auditView) { a.expect(t, 2, 1, 0, 0, 0, 3) },
		},
		{
			name:     "server oversold counter wins",
			attempts: []Attempt{{Seq: 1, Outcome: outcome.Acknowledged}},
			orders:   []Order{{Key: key(1), User: "u1", SKU: "a", Qty: 1}},
			server:   map[string]SKUAudit{"a": {SKU: "a", Stock: 2, Available: -3, Reserved: 5, Sold: 5, Oversold: 3}},
			want:     func(t *testing.T, a auditView) { a.expect(t, 3, 0, 0, 0, 0, 1) },
		},
		{
			name:     "duplicate key and per-user limit",
			attempts: []Attempt{{Seq: 1, Outcome: outcome.Acknowledged}, {Seq: 2, Outcome: outcome.Unknown}},
			orders:   []Order{{Key: key(1), User: "u1", SKU: "a", Qty: 1}, {Key: key(1), User: "u1", SKU: "b", Qty: 1}, {Key: key(2), User: "u1", SKU: "a", Qty: 1}},
			want:     func(t *testing.T, a auditView) { a.expect(t, 0, 0, 0, 2, 0, 2) },
		},
		{
			name:     "unexpected and released",
			attempts: []Attempt{{Seq: 1, Outcome: outcome.Limited}}, // a definite no, yet stored
			orders:   []Order{{Key: key(1), User: "u1", SKU: "a", Qty: 1}, {Key: "other-1", User: "x", SKU: "b", Qty: 1, Status: "released"}},
			want: func(t *testing.T, a auditView) {
				a.expect(t, 0, 0, 2, 0, 0, 1)
				if a.Released != 1 {
					t.Errorf("released %d", a.Released)
				}
			},
		},
		{
			name:     "undersold",
			attempts: []Attempt{{Seq: 1, SKU: 1, Outcome: outcome.SoldOut, Flags: FlagSoldOut}, {Seq: 2, SKU: 1, Outcome: outcome.SoldOut, Flags: FlagSoldOut}},
			want:     func(t *testing.T, a auditView) { a.expect(t, 0, 0, 0, 0, 2, 0) },
		},
		{
			name:   "conservation",
			server: map[string]SKUAudit{"b": {SKU: "b", Stock: 10, Available: 9, Reserved: 0, Paid: 0}},
			want:   func(t *testing.T, a auditView) { a.expect(t, 0, 0, 0, 0, 0, 1) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Check(Input{Run: "R", SKUs: skus, Attempts: tt.attempts, Orders: tt.orders, Server: tt.server})
			if !a.Checked {
				t.Fatal("not checked")
			}
			tt.want(t, auditView{a.Stock, a.Sold, a.Paid, a.Released, a.Oversold, a.Lost, a.Unexpected, a.Duplicates, a.Undersold, a.Violations})
		})
	}
}

type auditView struct {
	Stock, Sold, Paid, Released, Oversold, Lost, Unexpected, Duplicates, Undersold int64
	Violations                                                                     []string
}

func (a auditView) expect(t *testing.T, oversold, lost, unexpected, dups, undersold int64, violations int) {
	t.Helper()
	if a.Oversold != oversold || a.Lost != lost || a.Unexpected != unexpected || a.Duplicates != dups || a.Undersold != undersold || len(a.Violations) != violations {
		t.Errorf("oversold %d lost %d unexpected %d dups %d undersold %d violations %q; want %d %d %d %d %d %d",
			a.Oversold, a.Lost, a.Unexpected, a.Duplicates, a.Undersold, a.Violations, oversold, lost, unexpected, dups, undersold, violations)
	}
}

func TestReadOrders(t *testing.T) {
	nd := "{\"id\":\"o1\",\"key\":\"k1\",\"user\":\"u1\",\"sku\":\"a\",\"qty\":2,\"status\":\"paid\"}\n\n{\"key\":\"k2\",\"user\":\"u2\",\"sku\":\"a\",\"status\":\"released\"}\n"
	os, err := ReadOrders(strings.NewReader(nd))
	if err != nil || len(os) != 2 || os[0].Qty != 2 || os[1].Qty != 1 || os[1].Live() {
		t.Fatalf("ndjson: %v %+v", err, os)
	}
	csvText := "sku,key,user,status,qty\na,k1,u1,paid,1\nb,k2,u2,reserved,3\n"
	os, err = ReadOrders(strings.NewReader(csvText))
	if err != nil || len(os) != 2 || os[1].SKU != "b" || os[1].Qty != 3 || os[0].Key != "k1" {
		t.Fatalf("csv with header: %v %+v", err, os)
	}
	os, err = ReadOrders(strings.NewReader("k1,u1,a,1,paid\n"))
	if err != nil || len(os) != 1 || os[0].User != "u1" || os[0].Status != "paid" {
		t.Fatalf("csv: %v %+v", err, os)
	}
	for _, bad := range []string{"{\"qty\":\"x\"}\n", "k1,u1,a,minus,paid\n", "{\"qty\":-1}\n", "sku,user\na,b\n"} {
		if _, err := ReadOrders(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadOrders(%q) accepted", bad)
		}
	}
}

func FuzzReadOrders(f *testing.F) {
	f.Add("{\"key\":\"k1\",\"user\":\"u1\",\"sku\":\"a\",\"qty\":2,\"status\":\"paid\"}\n")
	f.Add("key,user,sku,qty,status\nk,u,s,1,reserved\n")
	f.Add("k,u,s,1,paid\n\"unterminated")
	f.Add("  \n{\"qty\":1e3}")
	f.Fuzz(func(t *testing.T, s string) {
		orders, err := ReadOrders(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, o := range orders {
			if o.Qty < 0 {
				t.Fatalf("negative qty accepted: %+v", o)
			}
		}
		// Whatever was read, the join must not panic and must count consistently.
		a := Check(Input{Run: "R", SKUs: []scenario.SKU{{SKU: "s", Stock: 1, LimitPerUser: 1}}, Orders: orders})
		// With no attempts, every keyed order is unexpected, and so is every unit stored without
		// a key (the keyless join has nothing acknowledged to match it with).
		var want int64
		for _, o := range orders {
			if o.Key != "" {
				want++
			} else {
				want += o.Qty
			}
		}
		if a.Unexpected != want {
			t.Fatalf("unexpected %d, want %d for %d orders with no attempts", a.Unexpected, want, len(orders))
		}
	})
}
