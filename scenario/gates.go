package scenario

import (
	"fmt"

	"github.com/flashload/flashload/report"
)

// validateGates parses each gate with report's threshold grammar.
func (v *validator) validateGates() {
	for i, g := range v.s.Gates {
		if _, err := report.ParseThreshold(g); err != nil {
			v.problem(fmt.Sprintf("gates[%d]", i), "%v", err)
		}
	}
}
