package result

import (
	"strings"
	"testing"
)

// TestAuditGateNotChecked: a gate on any audit column of a run whose audit could not run fails
// and says "not checked: REASON", never a measured 0.
func TestAuditGateNotChecked(t *testing.T) {
	s := &Summary{Audit: Audit{Checked: false, Error: "GET /admin/audit: connection refused"}}
	for _, expr := range []string{"oversold == 0", "lost == 0", "duplicates == 0", "unexpected == 0", "undersold == 0", "unknown == 0", "violations == 0"} {
		gates, pass, err := EvaluateGates(s, []string{expr})
		s.Gates = gates
		if err != nil {
			t.Fatal(err)
		}
		g := s.Gates[0]
		if pass || g.Pass {
			t.Errorf("%s passed on an unchecked audit", expr)
		}
		if want := "not checked: GET /admin/audit: connection refused"; g.Error != want {
			t.Errorf("%s: error %q, want %q", expr, g.Error, want)
		}
	}
	s.Audit.Error = ""
	s.Gates, _, _ = EvaluateGates(s, []string{"oversold == 0"})
	if g := s.Gates[0]; g.Pass || !strings.HasPrefix(g.Error, "not checked: ") {
		t.Errorf("without a reason: %+v", g)
	}
	s.Audit = Audit{Checked: true, Unknown: 4}
	s.Gates, _, _ = EvaluateGates(s, []string{"unknown < 5", "oversold == 0"})
	for _, g := range s.Gates {
		if !g.Pass || g.Error != "" {
			t.Errorf("checked audit: %+v", g)
		}
	}
}

// TestMergeAuditNotChecked: one segment without an audit makes the merged audit unchecked, with
// its reason; unknown outcomes add up.
func TestMergeAuditNotChecked(t *testing.T) {
	a := Audit{Checked: true, Unknown: 2, Violations: []string{}}
	mergeAudit(&a, &Audit{Checked: true, Unknown: 3})
	if !a.Checked || a.Unknown != 5 {
		t.Fatalf("merged %+v", a)
	}
	mergeAudit(&a, &Audit{Error: "the target is not auditable"})
	if a.Checked || a.Error != "the target is not auditable" {
		t.Fatalf("merged %+v", a)
	}
}
