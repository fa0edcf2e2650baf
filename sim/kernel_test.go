package sim

import (
	"encoding/binary"
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

// op is one step of a kernel workout: pop (and maybe peek), or schedule at Now plus a delay.
type op struct {
	pop   bool
	peek  bool
	delay time.Duration
}

// compare plays the same operations on the calendar queue and the container/heap kernel and fails at
// the first difference: pops must agree on the event (ID), its time, Now, Peek and Len.
func compare(t testing.TB, ops []op) {
	t.Helper()
	k, h := NewKernel(0), newHeapKernel(0)
	id := int32(0)
	for i, o := range ops {
		if o.peek {
			a, aok := k.Peek()
			b, bok := h.Peek()
			if a != b || aok != bok {
				t.Fatalf("op %d: Peek %v %v, heap %v %v", i, a, aok, b, bok)
			}
		}
		if o.pop {
			a, aok := k.Next()
			b, bok := h.Next()
			if a != b || aok != bok || k.Now() != h.now {
				t.Fatalf("op %d: Next %+v %v (now %v), heap %+v %v (now %v)", i, a, aok, k.Now(), b, bok, h.now)
			}
		} else {
			id++
			e := Event{At: k.Now() + o.delay, ID: id, Kind: uint8(id)}
			k.Schedule(e)
			h.Schedule(e)
		}
		if k.Len() != h.Len() {
			t.Fatalf("op %d: Len %d, heap %d", i, k.Len(), h.Len())
		}
	}
	for h.Len() > 0 {
		a, _ := k.Next()
		b, _ := h.Next()
		if a != b {
			t.Fatalf("drain: %+v, heap %+v", a, b)
		}
	}
	if _, ok := k.Next(); ok {
		t.Fatal("kernel not empty after the heap")
	}
}

// workout builds a random operation sequence: the queue grows to about peak pending events,
// holds there, then drains, with delays drawn by delay.
func workout(r *rand.Rand, peak, hold int, delay func(*rand.Rand) time.Duration) []op {
	var ops []op
	for i := 0; i < peak; i++ {
		ops = append(ops, op{delay: delay(r)})
	}
	for i := 0; i < hold; i++ {
		// A random walk around peak: pops and pushes in equal measure, now and then a peek.
		ops = append(ops, op{pop: r.IntN(2) == 0, peek: r.IntN(8) == 0, delay: delay(r)})
	}
	for i := 0; i < peak; i++ {
		ops = append(ops, op{pop: true, peek: r.IntN(4) == 0})
	}
	return ops
}

// TestKernelMatchesHeap checks the calendar queue against the container/heap kernel over the spacing
// patterns a simulation produces: dense exponential service times, many ties, far-off timers
// among near events, spacing that changes by orders of magnitude mid-run, events in the past.
func TestKernelMatchesHeap(t *testing.T) {
	exp := func(mean float64) func(*rand.Rand) time.Duration {
		return func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * mean) }
	}
	cases := []struct {
		name       string
		peak, hold int
		delay      func(*rand.Rand) time.Duration
	}{
		{"exp-1ms", 1000, 20000, exp(1e6)},
		{"exp-1ns", 300, 5000, exp(1)},
		{"small", 3, 5000, exp(1e9)},
		{"ties", 500, 5000, func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(3)) * time.Millisecond }},
		{"zero", 200, 3000, func(*rand.Rand) time.Duration { return 0 }},
		{"past", 200, 3000, func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(2000) - 1000) }},
		{"far-timers", 2000, 20000, func(r *rand.Rand) time.Duration {
			if r.IntN(100) == 0 {
				return 15 * time.Second
			}
			return time.Duration(r.ExpFloat64() * 1e5)
		}},
		{"wide", 2000, 10000, func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(1 << 50)) }},
		{"log-uniform", 4000, 20000, func(r *rand.Rand) time.Duration {
			return time.Duration(r.Int64N(int64(1) << (10 + r.IntN(20))))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compare(t, workout(rand.New(rand.NewPCG(7, uint64(c.peak))), c.peak, c.hold, c.delay))
		})
	}
	// The spacing changes a thousandfold twice while the queue holds steady: the day's width
	// must be re-measured without losing order.
	r := rand.New(rand.NewPCG(5, 6))
	var ops []op
	for _, mean := range []float64{1e6, 1e3, 1e6, 1e9} {
		ops = append(ops, workout(r, 500, 10000, exp(mean))[:10500]...)
	}
	t.Run("shifting", func(t *testing.T) { compare(t, ops) })
}

// FuzzKernel reads operations from bytes: each 3-byte group is a pop (odd first byte) or a push
// with a delay made of the other two, scaled by the first (so delays from 0 to ~2^40 ns).
func FuzzKernel(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 0, 1, 0, 0})
	f.Add([]byte{0x20, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x40, 1, 2, 1, 0, 0, 3, 0, 0, 5, 0, 0})
	seed := make([]byte, 0, 3*600)
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 600; i++ {
		seed = append(seed, byte(r.IntN(64))&^1|byte(min(1, i/400)*r.IntN(2)), byte(r.IntN(256)), byte(r.IntN(256)))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops []op
		for ; len(data) >= 3; data = data[3:] {
			if data[0]&1 == 1 {
				ops = append(ops, op{pop: true, peek: data[1]&1 == 1})
				continue
			}
			d := time.Duration(binary.LittleEndian.Uint16(data[1:])) << (data[0] >> 3 & 31)
			ops = append(ops, op{delay: d, peek: data[0]&2 == 2})
		}
		compare(t, ops)
	})
}

// kernel is what the benchmarks drive: the calendar queue or the container/heap kernel.
type kernel interface {
	Schedule(Event)
	Next() (Event, bool)
}

// BenchmarkKernel is the classic hold model: a steady population of pending events, each pop
// scheduling one more at an exponential distance (drawn beforehand). ns/op is the cost of one
// event (one pop and one push); events/s = 1e9 / ns/op. "calendar" is the kernel, "heap" the
// container/heap kernel, in the same run; in "timers" one pending event in 64 re-arms itself 15 s
// ahead, as the autoscaler's and the gauges' ticks do among the service's millisecond events.
func BenchmarkKernel(b *testing.B) {
	kinds := []struct {
		name string
		new  func(int) kernel
	}{
		{"calendar", func(n int) kernel { return NewKernel(n) }},
		{"heap", func(n int) kernel { return newHeapKernel(n) }},
	}
	for _, hold := range []string{"exp", "timers"} {
		for _, pending := range []int{64, 1024, 16384} {
			for _, kind := range kinds {
				b.Run(hold+"/"+itoa(pending)+"/"+kind.name, func(b *testing.B) {
					benchHold(b, kind.new(pending+1), pending, hold == "timers")
				})
			}
		}
	}
}

func benchHold(b *testing.B, k kernel, pending int, timers bool) {
	r := rand.New(rand.NewPCG(3, 4))
	// The hold times are drawn beforehand: the benchmark times the kernel, not the random
	// number generator.
	var inc [4096]time.Duration
	for i := range inc {
		inc[i] = time.Duration(r.ExpFloat64() * 1e6)
	}
	hold := func(e *Event, i int) {
		if timers && e.ID%64 == 0 {
			e.At += 15 * time.Second
		} else {
			e.At += inc[i&4095]
		}
	}
	for i := 0; i < pending; i++ {
		e := Event{ID: int32(i)}
		hold(&e, i)
		k.Schedule(e)
	}
	// Warm up past the initial population's transient (and let the calendar size itself).
	for i := 0; i < 4*pending; i++ {
		e, _ := k.Next()
		hold(&e, i)
		k.Schedule(e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		e, _ := k.Next()
		hold(&e, i)
		k.Schedule(e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// On a shared machine wall time includes other processes' turns: CPU time does not.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
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
