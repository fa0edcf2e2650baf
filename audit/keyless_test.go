package audit

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// sale is a flash sale of stock units, one per user and request, to buyers 1..n: the first
// stock buyers are acknowledged, the rest told it is sold out. orders are what a correct
// service stores for it: one row per acknowledged buyer, user and SKU, no key.
func sale(stock, buyers int) ([]Attempt, []Order) {
	var at []Attempt
	var orders []Order
	for u := 1; u <= buyers; u++ {
		a := Attempt{Seq: int64(u - 1), User: int64(u), Qty: 1, Outcome: outcome.SoldOut, Flags: FlagSoldOut}
		if u <= stock {
			a.Outcome, a.Flags = outcome.Acknowledged, 0
			orders = append(orders, Order{User: strconv.Itoa(u), SKU: "phone-x", Qty: 1, Status: "paid"})
		}
		at = append(at, a)
	}
	return at, orders
}

var phone = []scenario.SKU{{SKU: "phone-x", Stock: 200, LimitPerUser: 1}}

// TestKeylessCorrectSaleIsClean: the false alarm (oversold 200, lost 200, unexpected 200
// for a sale that sold exactly its 200 units to 995 buyers) must not recur.
func TestKeylessCorrectSaleIsClean(t *testing.T) {
	at, orders := sale(200, 995)
	r := Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders, Left: map[string]int64{"phone-x": 0}})
	a := r.Audit
	if a.Oversold != 0 || a.Lost != 0 || a.Unexpected != 0 || a.Duplicates != 0 || a.Undersold != 0 || len(a.Violations) != 0 {
		t.Fatalf("a correct sale: %+v", a)
	}
	if a.Sold != 200 || a.Paid != 200 || a.Stock != 200 || len(r.SKUs) != 1 || r.SKUs[0].Left != 0 {
		t.Errorf("figures %+v, skus %+v", a, r.SKUs)
	}
}

// TestKeylessLimitBroken: a service that lets a user past the per-user limit stores two units
// for one user; the audit counts the unit beyond the limit in duplicates, and the extra unit
// the user was never told of as unexpected.
func TestKeylessLimitBroken(t *testing.T) {
	at, orders := sale(200, 995)
	// Buyer 9 comes back (arrival 995) and gets a second unit; so the 200th buyer is told it is
	// sold out, and the store holds buyer 9's second unit in place of buyer 200's.
	at = append(at, Attempt{Seq: 995, User: 9, Qty: 1, Outcome: outcome.Acknowledged})
	at[199].Outcome, at[199].Flags = outcome.SoldOut, FlagSoldOut
	orders[199].User = "9"
	a := Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders}).Audit
	if a.Duplicates != 1 || a.Lost != 0 || a.Unexpected != 0 || a.Oversold != 0 || len(a.Violations) != 1 {
		t.Fatalf("limit broken: %+v", a)
	}
	if !has(a.Violations, "duplicates: 1 units beyond the per-user limit (1 users, e.g. 9 on phone-x)") {
		t.Errorf("violations %q", a.Violations)
	}
}

// TestKeylessDroppedOrder: a service that acknowledged a purchase and never stored it loses it.
func TestKeylessDroppedOrder(t *testing.T) {
	at, orders := sale(200, 995)
	orders = append(orders[:41], orders[42:]...) // buyer 42's order is dropped
	r := Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders, Left: map[string]int64{"phone-x": 0}})
	a := r.Audit
	if a.Lost != 1 || a.Unexpected != 0 || a.Duplicates != 0 || a.Oversold != 0 || r.SKUs[0].Lost != 1 {
		t.Fatalf("dropped order: %+v, skus %+v", a, r.SKUs)
	}
	if !has(a.Violations, "lost: 1 acknowledged purchases have no stored order (e.g. user 42 on phone-x)") {
		t.Errorf("violations %q", a.Violations)
	}
}

// TestKeylessOversold: live units beyond the stock are oversold, from the stored orders or a
// negative count of units left; a count of units left that would sell more than the stock
// breaks conservation.
func TestKeylessOversold(t *testing.T) {
	at, orders := sale(203, 995) // the service acknowledged and stored 203 units of 200
	a := Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders}).Audit
	if a.Oversold != 3 || a.Lost != 0 || a.Unexpected != 0 {
		t.Fatalf("oversold by orders: %+v", a)
	}
	at, orders = sale(200, 995)
	a = Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders, Left: map[string]int64{"phone-x": -2}}).Audit
	if a.Oversold != 2 {
		t.Errorf("oversold by a negative stock: %+v", a)
	}
	a = Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders, Left: map[string]int64{"phone-x": 5}}).Audit
	if !has(a.Violations, "phone-x: conservation broken: 5 units left + 200 sold > stock 200") || a.Undersold != 5 {
		t.Errorf("units left beyond the stock: %+v", a)
	}
}

// TestKeylessUnknownApart: a stored order of a buyer whose answer the client never got is
// neither unexpected nor lost; a buyer whose answer timed out and has no order is not lost.
func TestKeylessUnknownApart(t *testing.T) {
	at, orders := sale(200, 995)
	at[0].Outcome = outcome.Unknown // the answer timed out; the order is stored
	at[1].Outcome = outcome.Unknown // the answer timed out; nothing is stored
	orders = append(orders[:1], orders[2:]...)
	a := Check(Input{Run: "R", SKUs: phone, Attempts: at, Orders: orders}).Audit
	if a.Unknown != 2 || a.Lost != 0 || a.Unexpected != 0 || len(a.Violations) != 0 {
		t.Fatalf("unknown outcomes: %+v", a)
	}
}

// TestKeylessSegment: in a coordinated run's segment, keyless orders of the other generators'
// buyers are not this generator's to call unexpected; its own losses still show.
func TestKeylessSegment(t *testing.T) {
	at, orders := sale(200, 995)
	var mine []Attempt
	for _, a := range at {
		if a.Seq%2 == 1 {
			mine = append(mine, a)
		}
	}
	seg := scenario.Segment{I: 2, N: 2}
	a := Check(Input{Run: "R", Segment: seg, SKUs: phone, Attempts: mine, Orders: orders}).Audit
	if a.Unexpected != 0 || a.Lost != 0 || a.Sold != 200 {
		t.Fatalf("segment: %+v", a)
	}
	a = Check(Input{Run: "R", Segment: seg, SKUs: phone, Attempts: mine, Orders: orders[2:]}).Audit
	if a.Lost != 1 { // buyer 2 (seq 1) is this segment's
		t.Errorf("segment's lost order: %+v", a)
	}
}

func has(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestAttemptsFileRoundTrip(t *testing.T) {
	at, _ := sale(3, 7)
	at[2].SKU, at[3].Qty, at[4].Step, at[5].User = NoSKU, 3, 2, -1
	h := Header{Run: "R", Segment: "1/2", Scenario: "/x/shop.yaml", Target: "http://127.0.0.1:1", SKUs: SKUInfos(phone)}
	var buf bytes.Buffer
	if err := WriteAttempts(&buf, h, at); err != nil {
		t.Fatal(err)
	}
	got, back, err := ReadAttempts(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Run != "R" || got.Segment != "1/2" || got.Attempts != 7 || len(got.SKUs) != 1 || got.SKUs[0].LimitPerUser != 1 || !got.SKUs[0].Flash {
		t.Errorf("header %+v", got)
	}
	if sk := got.ScenarioSKUs(); sk[0].Stock != 200 || !sk[0].Flash() {
		t.Errorf("skus %+v", sk)
	}
	if len(back) != len(at) {
		t.Fatalf("%d attempts back of %d", len(back), len(at))
	}
	for i := range at {
		if back[i] != at[i] {
			t.Errorf("attempt %d: %+v, want %+v", i, back[i], at[i])
		}
	}
	// A cut file is an error, not fewer attempts.
	if _, _, err := ReadAttempts(bytes.NewReader(buf.Bytes()[:buf.Len()-8])); err == nil {
		t.Error("a truncated file was read")
	}
}

// FuzzReadAttempts: any file either fails with an error or gives attempts that write back to
// the same records.
func FuzzReadAttempts(f *testing.F) {
	at, _ := sale(2, 4)
	var buf bytes.Buffer
	WriteAttempts(&buf, Header{Run: "R", SKUs: SKUInfos(phone)}, at)
	f.Add(buf.Bytes())
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, got, err := ReadAttempts(bytes.NewReader(data))
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := WriteAttempts(&again, h, got); err != nil {
			t.Fatal(err)
		}
		_, back, err := ReadAttempts(&again)
		if err != nil || len(back) != len(got) {
			t.Fatalf("rewritten file: %v, %d of %d", err, len(back), len(got))
		}
		for i := range got {
			if back[i] != got[i] {
				t.Fatalf("attempt %d: %+v then %+v", i, got[i], back[i])
			}
		}
	})
}

// FuzzParseAttempt: one line of an attempts file, the part a fuzzer can reach past gzip.
func FuzzParseAttempt(f *testing.F) {
	f.Add([]byte(`[1,0,17,0,1,"acknowledged",0]`))
	f.Add([]byte(`[2,1,18,1,1,"acknowledged",0,1]`))
	f.Add([]byte(`[9223372036854775807,65535,-5,-1,65535,"sold_out",1]`))
	f.Add([]byte(`[1,0,17,0,1,"acknowledged\"",0]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		a, err := parseAttempt(line, 2)
		if err != nil {
			return
		}
		if a.SKU != NoSKU && a.SKU >= 2 || a.Seq < 0 {
			t.Fatalf("accepted %+v from %q", a, line)
		}
		back, err := parseAttempt(appendAttempt(nil, &a), 2)
		if err != nil || back != a {
			t.Fatalf("%+v wrote back as %+v (%v)", a, back, err)
		}
	})
}
