package engine

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/internal/cputime"
)

// cpuMeter tells whether this process used (nearly) all the cores it may use over the last
// interval: then a full session pool is the CPU's doing, not the pool's bound.
type cpuMeter struct {
	busy     atomic.Bool
	lastCPU  time.Duration
	lastWall time.Duration
}

// sample reads the process's CPU time at run-clock time now; only the pacer calls it.
func (m *cpuMeter) sample(now time.Duration) {
	cpu := cputime.Process()
	if dt := now - m.lastWall; dt > 0 && m.lastWall >= 0 && m.lastCPU > 0 {
		m.busy.Store(float64(cpu-m.lastCPU) >= 0.9*float64(dt)*float64(runtime.GOMAXPROCS(0)))
	}
	m.lastCPU, m.lastWall = cpu, now
}
