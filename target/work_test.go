package target

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/dist"
)

// waitFor polls cond (a state change another goroutine makes), failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestWorkSlotsFIFOAndAccounting: with every slot busy, waiters get slots in the order they
// came, a newcomer never overtakes them, a waiter that gives up leaves no slot lost, and busy +
// free is the capacity throughout.
func TestWorkSlotsFIFOAndAccounting(t *testing.T) {
	const n = 2
	w := newWorkSlots(n, dist.Spec{Kind: dist.Deterministic, Mean: time.Millisecond})
	never := make(chan struct{})
	for range n {
		if _, ok := w.acquire(never); !ok {
			t.Fatal("acquire of a free slot failed")
		}
	}
	if b, q := w.state(); b != n || q != 0 {
		t.Fatalf("busy %d waiting %d, want %d and 0", b, q, n)
	}
	// Five waiters, queued one after another; the third gives up (its done closes).
	const waiters = 5
	got := make(chan int, waiters)
	quit := make(chan struct{})
	var gaveUp sync.WaitGroup
	for i := range waiters {
		done := never
		if i == 2 {
			done = quit
			gaveUp.Add(1)
		}
		go func() {
			if _, ok := w.acquire(done); ok {
				got <- i
			} else {
				gaveUp.Done()
			}
		}()
		waitFor(t, fmt.Sprintf("waiter %d queued", i), func() bool { _, q := w.state(); return q == i+1 })
	}
	close(quit)
	gaveUp.Wait()
	if b, q := w.state(); b != n || q != waiters-1 {
		t.Fatalf("after a waiter gave up: busy %d waiting %d, want %d and %d", b, q, n, waiters-1)
	}
	// Each release hands the slot to the oldest waiter; busy stays at n while anyone waits.
	var order []int
	for range waiters - 1 {
		w.release()
		order = append(order, <-got)
		if b, _ := w.state(); b != n {
			t.Fatalf("busy %d while handing over, want %d", b, n)
		}
	}
	if fmt.Sprint(order) != "[0 1 3 4]" {
		t.Fatalf("slots went to waiters %v, want first come first served [0 1 3 4]", order)
	}
	for range n {
		w.release()
	}
	if b, q := w.state(); b != 0 || q != 0 || w.free != n {
		t.Fatalf("all released: busy %d waiting %d free %d, want 0, 0, %d", b, q, w.free, n)
	}
	// A waiter handed a slot at the moment it gives up passes the slot on.
	for range n {
		w.acquire(never)
	}
	quit2 := make(chan struct{})
	res := make(chan bool, 1)
	go func() { _, ok := w.acquire(quit2); res <- ok }()
	waitFor(t, "the waiter queued", func() bool { _, q := w.state(); return q == 1 })
	w.release()
	close(quit2)
	if <-res { // it took the slot before seeing quit2: hand it back as a request would
		w.release()
	}
	w.release() // the slot the test still holds
	if b, q := w.state(); b != 0 || q != 0 || w.free != n {
		t.Fatalf("busy %d waiting %d free %d after the race, want 0, 0, %d", b, q, w.free, n)
	}
}

// TestWorkersOverHTTP: `serve --workers 2 --work const:40ms`: every purchase holds a slot for
// at least 40ms, so 6 concurrent purchases on 2 slots take at least 3 rounds; /metrics shows
// the capacity and counts every request that held a slot; health and admin routes hold none.
func TestWorkersOverHTTP(t *testing.T) {
	const work = 40 * time.Millisecond
	o := testOptions(t, "memory")
	o.Workers, o.Work = 2, dist.Spec{Kind: dist.Deterministic, Mean: work}
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"w","stock":100,"price":1}`)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := ts.buy(t, "w", "u"+strconv.Itoa(i), "", `{"qty":1}`); a.status != 201 {
				t.Errorf("purchase %d: %d %s", i, a.status, a.body)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took < 3*work {
		t.Fatalf("6 purchases on 2 slots of %s took %s, less than 3 rounds", work, took)
	}
	for range 3 {
		ts.do(t, "GET", "/healthz", nil, "")
	}
	m := string(ts.do(t, "GET", "/metrics", nil, "").body)
	for name, want := range map[string]string{"flashload_target_work_slots": "2", "flashload_target_work_served_total": "6",
		"flashload_target_work_busy": "0", "flashload_target_work_waiting": "0"} {
		re := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`)
		if g := re.FindStringSubmatch(m); g == nil || g[1] != want {
			t.Errorf("%s = %v, want %s", name, g, want)
		}
	}
	// Each of the 6 held its slot for at least the 40ms of work: the busy time sums them.
	re := regexp.MustCompile(`(?m)^flashload_target_work_busy_seconds_total (\S+)$`)
	if g := re.FindStringSubmatch(m); g == nil {
		t.Error("no flashload_target_work_busy_seconds_total")
	} else if v, err := strconv.ParseFloat(g[1], 64); err != nil || v < 6*work.Seconds() {
		t.Errorf("flashload_target_work_busy_seconds_total = %s, want at least %.2f", g[1], 6*work.Seconds())
	}
	if _, err := New(t.Context(), Options{Workers: 2}); err == nil {
		t.Error("workers without work: no error")
	}
}

// TestWorkSlotsHandOverTime: a waiter's slot is its own from the moment the holder released it,
// not from when the waiter's goroutine woke: acquire returns the release's time (between the
// release call and the waiter's return), so the hand-over's scheduling delay is inside the hold.
// On one P the releasing goroutine runs on after the release while the waiter only became
// runnable: a time read then must not precede the hand-over (it would with the waiter's own
// clock read).
func TestWorkSlotsHandOverTime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	w := newWorkSlots(1, dist.Spec{Kind: dist.Deterministic, Mean: time.Millisecond})
	never := make(chan struct{})
	if _, ok := w.acquire(never); !ok {
		t.Fatal("acquire of a free slot failed")
	}
	type got struct{ at, woke time.Time }
	res := make(chan got, 1)
	spawned := time.Now()
	go func() {
		at, _ := w.acquire(never)
		res <- got{at, time.Now()}
	}()
	waitFor(t, "the waiter queued", func() bool { _, q := w.state(); return q == 1 })
	before := time.Now()
	w.release()
	after := time.Now()
	g := <-res
	if g.at.After(after) {
		t.Fatalf("handed over at %v, after the release returned (%v): the waiter read its own clock", g.at, after)
	}
	if g.at.Before(before) || g.at.After(g.woke) {
		t.Fatalf("handed over at %v: want between the release (%v) and the waiter's return (%v)", g.at, before, g.woke)
	}
	if waited := time.Duration(w.waited.Load()); waited <= 0 || waited > g.at.Sub(spawned) {
		t.Fatalf("waited %v: want the time queued until the hand-over", waited)
	}
}
