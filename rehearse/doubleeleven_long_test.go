//go:build !race

package rehearse

import (
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// TestDoubleElevenSellsOutWithTheFullScale rehearses the whole bundled double-eleven at
// --wall 20s (sellsOutWithTheFullScale). Its full-scale simulation of the day takes about a
// minute under the race detector, which runs TestDoubleElevenMidnightSellsOut instead; scripts/test
// runs this one without it.
func TestDoubleElevenSellsOutWithTheFullScale(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of live load and the full-scale day; -short skips it")
	}
	s, err := scenario.Load("double-eleven")
	if err != nil {
		t.Fatal(err)
	}
	sellsOutWithTheFullScale(t, s, 20*time.Second)
}
