package audit

import (
	"testing"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// TestAuditUnknownApart: outcomes the client could not know are counted as unknown, whether or
// not the server stored them; lost counts only acknowledged purchases missing.
func TestAuditUnknownApart(t *testing.T) {
	skus := []scenario.SKU{{SKU: "a", Stock: 10}}
	key := func(seq int64) string { return string(AppendKey(nil, "R", seq, 0)) }
	attempts := []Attempt{
		{Seq: 1, Outcome: outcome.Acknowledged}, // stored
		{Seq: 2, Outcome: outcome.Acknowledged}, // missing: lost
		{Seq: 3, Outcome: outcome.Unknown},      // timed out, stored: it happened
		{Seq: 4, Outcome: outcome.Unknown},      // timed out, missing: it did not
		{Seq: 5, Outcome: outcome.Pending},      // IN_FLIGHT, missing
		{Seq: 6, Outcome: outcome.Shed},         // a definite no, missing
	}
	orders := []Order{{Key: key(1), User: "1", SKU: "a", Qty: 1}, {Key: key(3), User: "3", SKU: "a", Qty: 1}}
	a := Check(Input{Run: "R", SKUs: skus, Attempts: attempts, Orders: orders})
	if a.Unknown != 3 {
		t.Errorf("unknown %d, want 3 (two timeouts and one IN_FLIGHT)", a.Unknown)
	}
	if a.Lost != 1 {
		t.Errorf("lost %d, want 1 (only the acknowledged purchase missing)", a.Lost)
	}
	if a.Unexpected != 0 {
		t.Errorf("unexpected %d, want 0 (a stored unknown is not unexpected)", a.Unexpected)
	}
	if a.Sold != 2 {
		t.Errorf("sold %d, want 2", a.Sold)
	}
}

// TestAuditResoldAfterLoss: a store that lost an acknowledged order (an asynchronous failover)
// and sold its unit again holds no more orders than stock, yet two buyers were promised the
// one unit: the audit counts it lost and oversold. Without the resale it is only lost.
func TestAuditResoldAfterLoss(t *testing.T) {
	skus := []scenario.SKU{{SKU: "a", Stock: 1}}
	key := func(seq int64) string { return string(AppendKey(nil, "R", seq, 0)) }
	attempts := []Attempt{
		{Seq: 1, Qty: 1, Outcome: outcome.Acknowledged}, // lost in the failover
		{Seq: 2, Qty: 1, Outcome: outcome.Acknowledged}, // the same unit, sold again
	}
	resold := Check(Input{Run: "R", SKUs: skus, Attempts: attempts,
		Orders: []Order{{Key: key(2), User: "2", SKU: "a", Qty: 1}}})
	if resold.Lost != 1 || resold.Oversold != 1 || len(resold.Violations) != 2 {
		t.Errorf("lost %d oversold %d violations %q: want 1, 1 and two violations", resold.Lost, resold.Oversold, resold.Violations)
	}
	lostOnly := Check(Input{Run: "R", SKUs: skus, Attempts: attempts[:1]})
	if lostOnly.Lost != 1 || lostOnly.Oversold != 0 {
		t.Errorf("lost %d oversold %d: want 1 and 0 (the unit was not sold again)", lostOnly.Lost, lostOnly.Oversold)
	}
}
