package render

import (
	"fmt"
	"io"

	"github.com/flashload/flashload/result"
)

// HTMLFile is the name of the HTML report WriteAll puts in a run directory.
const HTMLFile = "report.html"

// Verdict is the word every text output uses for a gate's (or a run's) outcome.
func Verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// GateValue is what follows a gate's expression: the measured value in the gate's own unit, or,
// when the run could not measure it (no audit, no such rate), the reason; never a bare 0.
func GateValue(g result.GateResult) string {
	if g.Error != "" {
		return g.Error
	}
	return result.FormatGateValue(g)
}

// Gates writes the one gate line of every text output, one per gate:
// indent, PASS or FAIL, the expression padded to the longest, the value (GateValue).
func Gates(w io.Writer, indent string, gates []result.GateResult) error {
	width := 0
	for _, g := range gates {
		width = max(width, len(g.Expr))
	}
	ew := &errWriter{w: w}
	for _, g := range gates {
		ew.printf("%s%s  %-*s  %s\n", indent, Verdict(g.Pass), width, g.Expr, GateValue(g))
	}
	return ew.err
}

// FailedGates lists the failed gates with their values: "p(99) < 1ms (3.2ms), ...".
func FailedGates(gates []result.GateResult) []string {
	var out []string
	for _, g := range gates {
		if !g.Pass {
			out = append(out, fmt.Sprintf("%s (%s)", g.Expr, GateValue(g)))
		}
	}
	return out
}

// Audit writes the audit of a run that checked one, as "audit: ..." and one line per
// violation; "audit: not checked: REASON" when it could not run, nothing when no audit was
// attempted (a simulation).
func Audit(w io.Writer, a *result.Audit) error {
	ew := &errWriter{w: w}
	if !a.Checked {
		if a.Error != "" {
			ew.printf("audit: %s\n", AuditLine(a))
		}
		return ew.err
	}
	ew.printf("audit: %s\n", AuditLine(a))
	for _, v := range a.Violations {
		ew.printf("  violation: %s\n", v)
	}
	return ew.err
}
