//go:build flashload_heapkernel

package sim

// Kernel is the container/heap kernel in this build (-tags flashload_heapkernel): the whole-job
// benchmarks measure the calendar queue against it.
type Kernel = heapKernel

// NewKernel returns a kernel with room for about capacity pending events before it grows.
func NewKernel(capacity int) *Kernel { return newHeapKernel(capacity) }
