package audit

import (
	"testing"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// TestAuditSegment: generators of one coordinated run share the key prefix; a segment's audit
// counts the orders of the other segments' arrivals neither as unexpected nor as its own, while
// an order with the run's prefix on one of its own arrivals it never attempted stays unexpected.
func TestAuditSegment(t *testing.T) {
	skus := []scenario.SKU{{SKU: "a", Stock: 10}}
	key := func(seq int64) string { return string(AppendKey(nil, "R", seq, 0)) }
	orders := []Order{{Key: key(0), User: "u0", SKU: "a", Qty: 1}, {Key: key(1), User: "u1", SKU: "a", Qty: 1},
		{Key: key(2), User: "u2", SKU: "a", Qty: 1}, {Key: key(3), User: "u3", SKU: "a", Qty: 1}}
	// Segment 2/2 holds the odd arrivals; it attempted 1 only, so 3 is unexpected.
	in := Input{Run: "R", Segment: scenario.Segment{I: 2, N: 2}, SKUs: skus, Orders: orders,
		Attempts: []Attempt{{Seq: 1, Outcome: outcome.Acknowledged}}}
	a := Check(in).Audit
	if a.Unexpected != 1 || a.Lost != 0 || a.Sold != 4 {
		t.Errorf("segment 2/2: unexpected %d lost %d sold %d; want 1 0 4", a.Unexpected, a.Lost, a.Sold)
	}
	in.Segment = scenario.Segment{}
	if a := Check(in).Audit; a.Unexpected != 3 {
		t.Errorf("whole run: unexpected %d, want 3", a.Unexpected)
	}
}
