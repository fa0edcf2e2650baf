package sim

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
)

// What a tick's answers are and how the fluid mode records them: each class's count with a
// stratified sample of its latency, gathered per shape and timeline window into result.Batch
// tallies that reach the Recorder once the window is over (exact, and a fraction of the cost of
// recording every stratum of every tick on its own).

// batchKey is one batch: a shape of answer (the Result fields besides the times) in one window.
type batchKey struct {
	j, step, status int32
	code            string
	errc            outcome.ErrorClass
	retry, first    bool
	win             int64
}

// fluidBatches holds the open batches of the fluid mode until their window is over.
type fluidBatches struct {
	sh    *result.Shard
	steps *stepSink
	win   time.Duration
	open  map[batchKey]*result.Batch
	free  []*result.Batch
	cache []batchSlot
	done  int64 // every window before this one is handed over

	// The windows' batches are recorded on a goroutine of their own, beside the ticks: work
	// carries a window's batches there, back returns them (emptied) for reuse.
	work, back chan []*result.Batch
	finished   chan struct{}
}

type batchSlot struct {
	key batchKey
	b   *result.Batch
}

func newFluidBatches(sh *result.Shard, steps *stepSink) *fluidBatches {
	fb := &fluidBatches{sh: sh, steps: steps, win: steps.win, open: map[batchKey]*result.Batch{},
		work: make(chan []*result.Batch, 4), back: make(chan []*result.Batch, 8), finished: make(chan struct{})}
	go func() {
		defer close(fb.finished)
		for due := range fb.work {
			fb.sh.RecordBatch(due...)
			select {
			case fb.back <- due:
			default: // the simulation has enough to reuse
			}
		}
	}()
	return fb
}

// close hands over every open batch and waits until all are recorded.
func (fb *fluidBatches) close() {
	fb.flushBefore(math.MaxInt64)
	close(fb.work)
	<-fb.finished
}

// batch is the open batch of key k, a new one (Done in its window) when there is none. slot
// is the flow and class asking (classKey.index): a cache in front of the map, by slot and the
// window's parity, answers most lookups without hashing the key. A flushed window's key is
// never asked for again (answers come after the run's clock), so a stale entry cannot match.
func (fb *fluidBatches) batch(k batchKey, shape *result.Result, slot int) *result.Batch {
	slot = slot*2 + int(k.win&1)
	if slot >= len(fb.cache) {
		fb.cache = append(fb.cache, make([]batchSlot, slot+1-len(fb.cache))...)
	}
	if c := &fb.cache[slot]; c.b != nil && c.key == k {
		return c.b
	}
	if b := fb.open[k]; b != nil {
		fb.cache[slot] = batchSlot{k, b}
		return b
	}
	var b *result.Batch
	if n := len(fb.free); n > 0 {
		b, fb.free = fb.free[n-1], fb.free[:n-1]
	} else {
		b = new(result.Batch)
	}
	b.Result = *shape
	b.Done = time.Duration(k.win) * fb.win
	fb.open[k] = b
	fb.cache[slot] = batchSlot{k, b}
	return b
}

// flushBefore hands over the batches of the windows before idx: no later answer lands in them
// once the run's clock has passed their end.
func (fb *fluidBatches) flushBefore(idx int64) {
	if idx <= fb.done {
		return
	}
	fb.done = idx
	var due []*result.Batch
	select {
	case due = <-fb.back: // a slice the recorder is done with, and its batches to reuse
		fb.free = append(fb.free, due...)
		due = due[:0]
	default:
	}
	for k, b := range fb.open {
		if k.win < idx {
			due = append(due, b)
			delete(fb.open, k)
		}
	}
	if len(due) == 0 {
		return
	}
	// By window, so that each window's batches are summed before they meet its histograms.
	slices.SortFunc(due, func(a, b *result.Batch) int { return cmp.Compare(a.Done, b.Done) })
	fb.work <- due
}

func (f *fluidSim) answerOf(now time.Duration, d *demand, cl uint8) (int, string, outcome.ErrorClass) {
	st := &f.js[d.j].steps[d.step]
	switch cl {
	case clClosed:
		code := codes.NotStarted
		if w := f.win[st.sku]; now+f.dt > w.end && now >= w.open {
			code = codes.SaleEnded
		}
		return codes.Status(code), code, outcome.ErrNone
	case clShed:
		return 503, codes.Shed, outcome.ErrNone
	case clOpen:
		return 503, codes.CircuitOpen, outcome.ErrNone
	case clTimeout:
		return 0, "", outcome.ErrTimeout // no answer, as a live client's timeout
	case clCheap:
		if d.kind == kindPurchase && st.overLimit(f.botUnits[d.j]) {
			return 403, codes.LimitExceeded, outcome.ErrNone
		}
		return 410, codes.SoldOut, outcome.ErrNone
	}
	switch d.kind {
	case kindPurchase:
		return 201, codes.Reserved, outcome.ErrNone
	case kindPay:
		return 200, codes.Paid, outcome.ErrNone
	case kindCancel:
		return 200, codes.Released, outcome.ErrNone
	case kindJoin:
		return 200, codes.Joined, outcome.ErrNone
	}
	return 200, "", outcome.ErrNone
}

// take turns a fractional amount into a whole count, carrying the remainder per class so the
// totals stay exact over the run.
func (f *fluidSim) take(k classKey, x float64) int64 {
	v := f.carry[k.index()] + x
	n := math.Floor(v)
	f.carry[k.index()] = v - n
	return int64(n)
}

// quantileTable is a quantile function tabulated for the fluid mode's per-sample hot path:
// linear between quantileCells+1 points, and computed exactly in the outermost 1% or so of the
// cells, where the function bends most (within 10⁻⁴ of it everywhere: TestQuantileTable).
type quantileTable struct {
	q []float64
	f func(p float64) float64
}

const (
	quantileCells = 4096
	exactLow      = 32 // cells computed exactly at the low end
	exactHigh     = 64 // and at the high end, where a tail's quantile grows fastest
)

func newQuantileTable(f func(p float64) float64) *quantileTable {
	t := &quantileTable{q: make([]float64, quantileCells+1), f: f}
	for i := exactLow; i <= quantileCells-exactHigh; i++ {
		t.q[i] = f(float64(i) / quantileCells)
	}
	return t
}

// serviceQuantiles tabulates a smooth service-time distribution; others (an empirical histogram's
// bars, whose quantile function has a kink at every bar, or a constant) answer for themselves.
func serviceQuantiles(d Dist) *quantileTable {
	switch d.(type) {
	case LogNormal, Exponential:
		return newQuantileTable(d.Quantile)
	}
	return &quantileTable{f: d.Quantile}
}

func (t *quantileTable) at(p float64) float64 {
	if t.q == nil {
		return t.f(p)
	}
	x := p * quantileCells
	i := int(x)
	if i < exactLow || i >= quantileCells-exactHigh {
		return t.f(p)
	}
	return t.q[i] + (t.q[i+1]-t.q[i])*(x-float64(i))
}

// unitExp is the unit exponential's quantile, −ln(1−p): a query's database time beyond its wait.
func unitExp(p float64) float64 { return -math.Log1p(-p) }

// fractions splits one draw into three independent uniforms in [0, 1), 21 bits each: a
// stratum's offset needs no more, and one draw costs a third of three.
func fractions(x uint64) (a, b, c float64) {
	const m, s = 1<<21 - 1, 1.0 / (1 << 21)
	return float64(x>>43) * s, float64(x>>22&m) * s, float64(x>>1&m) * s
}

// constantWait is the probability of waiting below which a class answered without doing the
// work (a cache hit, a refusal) is recorded at one latency: the hit time, a draw of the wait
// would be 0 but for that share of the answers.
const constantWait = 1e-9

// record writes n requests of one class with a stratified sample of their latency: stratum i
// of the waiting time paired with a shuffled stratum of the service (and database) time.
func (f *fluidSim) record(now time.Duration, d *demand, st *jstep, cl uint8, n int64, status int, code string, errc outcome.ErrorClass,
	q Queue, fluid bool, w0, w1, dbWait, dbMean float64) {
	if n <= 0 {
		return
	}
	// The waiting time's quantile in a stable queue: 0 below 1−PWait, then an exponential tail.
	var pw, decay float64
	if !fluid && q.Stable() {
		pw, decay = q.PWait(), q.decay()
	}
	k := int64(f.strata)
	switch {
	case cl == clShed || cl == clOpen || cl == clTimeout:
		k = 1
	case cl != clWork && !fluid && pw < constantWait:
		// Answered at the hit time without waiting, but for a share of the answers below
		// constantWait: one latency for all, one sample.
		k = 1
	}
	k = min(k, n)
	if cl == clWork && k > 1 { // the service and database strata pair up at random
		for i := range f.perm[:k] {
			f.perm[i], f.perm2[i] = i, i
		}
		f.rng.Shuffle(int(k), func(a, b int) { f.perm[a], f.perm[b] = f.perm[b], f.perm[a] })
		f.rng.Shuffle(int(k), func(a, b int) { f.perm2[a], f.perm2[b] = f.perm2[b], f.perm2[a] })
	} else {
		f.perm[0], f.perm2[0] = 0, 0
	}
	shape := result.Result{Journey: f.js[d.j].name, Step: st.name, Status: status, Code: code, Err: errc, Retry: d.attempt > 0,
		First: st.first && d.attempt == 0}
	key := batchKey{j: int32(d.j), step: int32(d.step), status: int32(status), code: code, errc: errc, retry: shape.Retry, first: shape.First, win: -1}
	var b *result.Batch
	// The steps' mean latency of answered requests, by the window of the intended time.
	answered := status != 0 && status < 400
	stepWin, stepSum, stepN := int64(-1), 0.0, int64(0)
	fb := f.batches
	var svcQ *quantileTable
	if cl == clWork {
		if svcQ = f.stepQ[d.kind]; svcQ == nil {
			svcQ = serviceQuantiles(f.svc.steps[d.kind])
			f.stepQ[d.kind] = svcQ
		}
	}
	fk := float64(k)
	o := result.Classify(&shape)
	each, extra := n/k, n%k
	var res result.Result
	for i := int64(0); i < k; i++ {
		fu, fv, fw := fractions(f.rng.Uint64())
		var lat float64 // the target's own time (seconds); the round trip comes on top
		switch cl {
		case clShed, clOpen:
			lat = f.svc.hitTime // refused by the front end without a worker, as fast as a hit
		case clTimeout:
			lat = f.svc.timeout
		default:
			u := (float64(i) + fu) / fk
			wait := 0.0
			if fluid {
				wait = w0 + (w1-w0)*u
			} else if 1-u < pw {
				wait = math.Log(pw/(1-u)) / decay
			}
			svc := f.svc.hitTime
			if cl == clWork {
				svc = svcQ.at((float64(f.perm[i]) + fv) / fk)
				if f.svc.db != nil {
					svc += dbWait + f.expQ.at((float64(f.perm2[i])+fw)/fk)*dbMean
				}
			}
			lat = wait + svc
		}
		c := each
		if i < extra {
			c++
		}
		at := now + time.Duration((float64(i)+0.5)/float64(k)*float64(f.dt))
		res.Sent, res.Done, res.Server = at, at+time.Duration(lat*1e9), 0
		if cl != clTimeout {
			f.svc.roundTrip(&res)
		}
		if idx := int64(res.Done / fb.win); idx != key.win {
			key.win = idx
			b = fb.batch(key, &shape, classKey{d.flow, cl}.index())
		}
		b.Add(res.Done-at, res.Server, c)
		if f.ff != nil {
			f.ff.add(o, status, int64((res.Done-at)/time.Microsecond), float64(c))
		}
		if answered {
			if idx := int64(at / fb.win); idx != stepWin {
				fb.steps.add(st.name, stepWin, stepSum, stepN)
				stepWin, stepSum, stepN = idx, 0, 0
			}
			stepSum += float64(res.Done-at) / 1e6 * float64(c)
			stepN += c
		}
	}
	fb.steps.add(st.name, stepWin, stepSum, stepN)
}
