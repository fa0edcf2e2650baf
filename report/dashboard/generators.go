package dashboard

import (
	"fmt"

	"github.com/flashload/flashload/result"
)

// GeneratorLines are a coordinated run's lines below the progress line (flashload watch): one
// per generator, then the live gates.
func GeneratorLines(s result.Snapshot) []string {
	var out []string
	for _, g := range s.Generators {
		out = append(out, printable(fmt.Sprintf("  generator %s %-8s windows %d · lag %.2fs · dropped %s · cpu %.2f",
			g.Segment, g.State, g.Windows, finite(g.LagS), count(g.Dropped), finite(g.CPU))))
	}
	for _, g := range s.Gates {
		verdict := "pass"
		switch {
		case g.Error != "":
			verdict = "n/a (" + g.Error + ")"
		case !g.Pass:
			verdict = "FAIL"
		}
		out = append(out, printable(fmt.Sprintf("  gate %s: %s %s", g.Expr, result.FormatGateValue(g), verdict)))
	}
	return out
}
