package scenario

import (
	"slices"
	"strings"
	"testing"
)

const gatesBase = "skus: [{sku: x, price: 1}]\ntraffic: {start_rps: 10, stages: [{duration: 1s, rps: 10}]}\njourneys: [{name: b, steps: [{purchase: {sku: x}}]}]\n"

// TestAbortGates: gates are strings or {expr, abort} mappings; Gates keeps every expression in
// order, AbortGates those marked abort.
func TestAbortGates(t *testing.T) {
	s := mustParse(t, gatesBase+"gates:\n  - \"p(99) < 1s\"\n  - {expr: \"oversold == 0\", abort: true}\n  - {expr: \"error_rate < 1%\"}\n")
	if want := []string{"p(99) < 1s", "oversold == 0", "error_rate < 1%"}; !slices.Equal(s.Gates, want) {
		t.Errorf("Gates %q, want %q", s.Gates, want)
	}
	if want := []string{"oversold == 0"}; !slices.Equal(s.AbortGates, want) {
		t.Errorf("AbortGates %q, want %q", s.AbortGates, want)
	}
	one := mustParse(t, gatesBase+"gates: {expr: \"lost == 0\", abort: true}\n")
	if !slices.Equal(one.Gates, []string{"lost == 0"}) || !slices.Equal(one.AbortGates, []string{"lost == 0"}) {
		t.Errorf("one gate: %q %q", one.Gates, one.AbortGates)
	}
}

// TestAbortGatesInvalid: every problem of the mapping form, at once, with line:col.
func TestAbortGatesInvalid(t *testing.T) {
	src := gatesBase + "gates:\n  - {expr: \"p(99) <\", abort: true}\n  - {abort: true}\n  - {expr: \"lost == 0\", abrt: true}\n  - {expr: \"lost == 0\", abort: 3}\n"
	_, err := Parse("g.yaml", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"g.yaml:5:6: gates[0].expr: gate \"p(99) <\"",
		"g.yaml:6:5: gates[1]: a gate mapping needs expr",
		"g.yaml:7:25: gates[2].abrt: unknown key \"abrt\" (did you mean \"abort\"?)",
		"g.yaml:8:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}
