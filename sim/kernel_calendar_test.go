//go:build !flashload_heapkernel

package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestKernelAdapts drains queues whose spacing defeats a day measured at the front (a dense
// half and a sparse half, a thousandfold apart in mean): the days walked per pop stay small
// because the day is re-measured when the walks spend the work budget (6 units per pop over a
// period; without the early re-measure the second case walks about 1400 days per pop).
func TestKernelAdapts(t *testing.T) {
	for _, c := range []struct{ dense, sparse float64 }{{1, 1 << 40}, {1000, 1 << 30}, {1e6, 1e6}} {
		r := rand.New(rand.NewPCG(1, 99))
		k := NewKernel(0)
		const n = 20000
		for i := 0; i < n; i++ {
			mean := c.dense
			if i%2 == 1 {
				mean = c.sparse
			}
			k.Schedule(Event{At: time.Duration(r.ExpFloat64() * mean)})
		}
		for k.Len() > 0 {
			k.Next()
		}
		if per := float64(k.walked) / n; per > 16 {
			t.Errorf("dense %g ns, sparse %g ns: %.1f days walked per pop, want at most 16", c.dense, c.sparse, per)
		}
	}
}
