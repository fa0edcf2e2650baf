//go:build !unix

package scenario

import "time"

// processCPU is not measured here: benchmarks report per wall second only.
func processCPU() (time.Duration, bool) { return 0, false }
