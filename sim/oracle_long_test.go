//go:build !race

package sim

import "testing"

// TestOraclesLong is the acceptance run: 10⁷ arrivals per queue, ±2% on means, ±5% on P99.
// It is too slow under the race detector, which runs TestOraclesSmall instead.
func TestOraclesLong(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁷ arrivals per oracle; -short skips it")
	}
	for _, o := range oracles {
		checkOracle(t, o, 10_000_000, 0.02, 0.05)
	}
}
