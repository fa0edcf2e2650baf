package sim

import (
	"math/rand/v2"
	"sort"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestKernelOrder(t *testing.T) {
	k := NewKernel(0)
	r := rand.New(rand.NewPCG(1, 2))
	var want []time.Duration
	for i := 0; i < 5000; i++ {
		at := time.Duration(r.IntN(1000))
		want = append(want, at)
		k.Schedule(Event{At: at, ID: int32(i)})
	}
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	lastID := map[time.Duration]int32{}
	for i := range want {
		e, ok := k.Next()
		if !ok || e.At != want[i] {
			t.Fatalf("event %d: got %v %v, want %v", i, e.At, ok, want[i])
		}
		if prev, seen := lastID[e.At]; seen && prev > e.ID {
			t.Fatalf("ties not in scheduling order at %v: %d after %d", e.At, e.ID, prev)
		}
		lastID[e.At] = e.ID
	}
	if _, ok := k.Next(); ok {
		t.Fatal("kernel not empty")
	}
}

func TestKernelNeverGoesBack(t *testing.T) {
	k := NewKernel(4)
	k.Schedule(Event{At: 10})
	k.Next()
	k.Schedule(Event{At: 5})
	e, _ := k.Next()
	if e.At != 10 || k.Now() != 10 {
		t.Fatalf("past event ran at %v (now %v), want 10", e.At, k.Now())
	}
}

// BenchmarkKernel is the classic hold model: a steady population of pending events, each pop
// scheduling one more at an exponential distance (drawn beforehand). ns/op is the cost of one event (one pop and
// one push); events/s = 1e9 / ns/op.
func BenchmarkKernel(b *testing.B) {
	for _, pending := range []int{64, 1024} {
		b.Run(itoa(pending), func(b *testing.B) {
			k := NewKernel(pending + 1)
			r := rand.New(rand.NewPCG(3, 4))
			for i := 0; i < pending; i++ {
				k.Schedule(Event{At: time.Duration(r.ExpFloat64() * 1e6)})
			}
			// The exponential hold times are drawn beforehand: the benchmark times the kernel,
			// not the random number generator.
			var inc [4096]time.Duration
			for i := range inc {
				inc[i] = time.Duration(r.ExpFloat64() * 1e6)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				e, _ := k.Next()
				e.At += inc[i&4095]
				k.Schedule(e)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			// On a shared machine wall time includes other processes' turns: CPU time does not.
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
