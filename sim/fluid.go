package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
)

// fluidSim is the time-stepped mode: per tick it turns the arrival curve into request counts
// per journey step, runs them through the same service model with queueing formulas (Erlang C
// for M/M/c, Allen–Cunneen for G/G/c, a fluid backlog carried over when λ exceeds capacity) and
// records the counts with a stratified sample of their latency distribution (RecordN), so a
// day at 350k/s costs a few million histogram updates, not tens of billions of events.
type fluidSim struct {
	svc     *service
	rng     *rand.Rand
	out     sink          // ratios
	batches *fluidBatches // answers
	ff      *failFast     // nil: play to the end
	js      []journey
	jw      float64
	dt      time.Duration
	strata  int
	poisson bool

	// flows[f] is a ring of amounts due per future tick; f = flowIndex(j, step, attempt, bought).
	flows   [][]float64
	horizon int
	base    []int // flowIndex base per journey
	maxAtt  int

	carry []float64 // fractional requests carried to the next tick, per flow and class (classKey.index)

	fleet     fleet
	backlog   float64 // requests waiting at the replicas beyond the stationary queue
	dbBack    float64
	shardsN   int
	shardsTo  int
	reshardAt time.Duration

	stock    []int64
	stock0   []int64
	stockF   []float64
	win      []window // each SKU's sale window (always open unless Run places one)
	sold     float64
	paid     float64
	paidSKU  []float64 // units paid per SKU
	botUnits []float64 // units a same_user bot journey holds: its per-user limit

	brkOpenUntil time.Duration
	brkWin       []struct{ req, err float64 }

	utilSum, concSum float64
	utilN            float64
	dbUtilSum        float64
	dbUtilN          float64
	scale            scaleClock
	lastDB           time.Duration
	decision         Decision
	lastGauge        gaugeSig

	gauge    func(now time.Duration, g result.Gauges)
	soldOut  func(sku int, at time.Duration)  // a SKU's last whole unit went at run time at
	compress func(wall time.Duration) float64 // scenario seconds per run-clock second; nil: 1
	perm     []int
	perm2    []int
	stepQ    [numKinds]*quantileTable // each kind's service time, tabulated when first needed
	expQ     *quantileTable
	smp      *sampler // nil: samples are drawn inline
}

type classKey struct {
	flow  int
	class uint8
}

func (k classKey) index() int { return k.flow*int(numClasses) + int(k.class) }

// Cost classes of a request.
const (
	clHit     uint8 = iota // answered by the cache
	clCheap                // sold out / limit exceeded: answered without the database
	clClosed               // outside the SKU's sale window: answered without the database
	clWork                 // the application time and a database call (or the application time alone)
	clShed                 // refused for load (rate shedding, queue limit)
	clOpen                 // refused by the open circuit breaker
	clTimeout              // waited longer than the timeout
	numClasses
)

func newFluidSim(svc *service, js []journey, stock []int64, seed int64, out sink, dt time.Duration, strata int, poisson bool) *fluidSim {
	f := &fluidSim{svc: svc, rng: rand.New(rand.NewPCG(uint64(seed), 0xf1d)), out: out, js: js, dt: dt, strata: strata, poisson: poisson,
		stock: append([]int64(nil), stock...), stock0: stock, botUnits: make([]float64, len(js))}
	for _, s := range stock {
		f.stockF = append(f.stockF, float64(s))
		f.win = append(f.win, always)
	}
	f.paidSKU = make([]float64, len(stock))
	for _, j := range js {
		f.jw += j.weight
	}
	// The horizon covers the longest pause or retry back-off.
	longest := 2 * time.Second
	for _, j := range js {
		for _, st := range j.steps {
			if st.think != nil {
				longest = max(longest, meanThink(st.think)+dt)
			}
			if n := st.maxRetries(); n > 0 {
				f.maxAtt = max(f.maxAtt, n)
				longest = max(longest, st.meanDelay(n, 503, codes.Shed)+dt)
			}
		}
	}
	f.horizon = int(longest/dt) + 2
	n := 0
	for _, j := range js {
		f.base = append(f.base, n)
		n += (len(j.steps) + 1) * (f.maxAtt + 1) * 2
	}
	f.flows = make([][]float64, n)
	f.carry = make([]float64, n*int(numClasses))
	for i := range f.flows {
		f.flows[i] = make([]float64, f.horizon)
	}
	f.fleet = fleet{ready: svc.replicas, startup: svc.startup}
	if svc.db != nil {
		f.shardsN, f.shardsTo = svc.db.shards, svc.db.shards
	}
	if svc.breaker != nil {
		f.brkWin = make([]struct{ req, err float64 }, max(1, int(svc.breaker.window/dt)))
	}
	f.perm = make([]int, strata)
	f.perm2 = make([]int, strata)
	f.expQ = newQuantileTable(unitExp)
	return f
}

func (f *fluidSim) flowIndex(j, step, attempt int, bought bool) int {
	b := 0
	if bought {
		b = 1
	}
	return f.base[j] + ((step*(f.maxAtt+1))+attempt)*2 + b
}

func (f *fluidSim) decode(fi int) (j, step, attempt int, bought bool) {
	for j = len(f.base) - 1; j > 0 && f.base[j] > fi; j-- {
	}
	r := fi - f.base[j]
	bought = r%2 == 1
	r /= 2
	return j, r / (f.maxAtt + 1), r % (f.maxAtt + 1), bought
}

func (f *fluidSim) add(fi int, tick int64, delay time.Duration, x float64) {
	if x <= 0 {
		return
	}
	d := int64(math.Round(float64(delay) / float64(f.dt)))
	d = max(d, 0)
	if d >= int64(f.horizon) {
		d = int64(f.horizon) - 1
	}
	f.flows[fi][(tick+d)%int64(f.horizon)] += x
}

// demand is one flow's requests of this tick, before and after the service decides.
type demand struct {
	flow, j, step, attempt int
	bought                 bool
	kind                   int
	n                      float64
	share                  [numClasses]float64 // of n
}

// run plays ticks from 0 to end. arrivals(a, b) is the expected number of arrivals in [a, b).
func (f *fluidSim) run(end time.Duration, arrivals func(a, b time.Duration) float64, stop func() bool) {
	var demands []demand
	checkEvery := max(1, int64(end/f.dt)/1000) // about a thousand looks at the watched gates
	for tick := int64(0); ; tick++ {
		now := time.Duration(tick) * f.dt
		if now >= end && f.pending(tick) == 0 {
			break
		}
		if tick&63 == 0 && stop != nil && stop() || tick%checkEvery == 0 && f.doomed(now, end, arrivals, tick) {
			break
		}
		if f.smp == nil {
			f.batches.flushBefore(int64(now / f.batches.win))
		}
		f.fleet.advance(f.scale.scenAt(now))
		if db := f.svc.db; db != nil {
			if f.shardsTo != f.shardsN && now >= f.reshardAt {
				f.shardsN = f.shardsTo
			}
			if fl := db.floor(now); fl > f.shardsN {
				f.shardsN, f.shardsTo = fl, max(fl, f.shardsTo)
			}
		}
		if now < end {
			a := arrivals(now, min(now+f.dt, end))
			for j := range f.js {
				f.flows[f.flowIndex(j, 0, 0, false)][tick%int64(f.horizon)] += a * f.js[j].weight / f.jw
			}
		}
		demands = f.collect(tick, demands[:0])
		f.serve(now, tick, demands)
		if p := f.svc.scaler.Period(); f.scale.scenAt(now)-f.scale.scenAt(f.scale.last) >= p {
			f.scaleStep(now)
		}
		f.gaugeTick(now, now+f.dt >= end)
		if f.smp != nil {
			f.smp.handOver(false)
		}
	}
	if f.smp != nil {
		f.smp.finish()
	}
	f.batches.close()
}

// doomed says whether a watched gate can no longer pass: the answers still to come are at most
// the arrivals left and the sessions in flight, each sending every request its journey may.
func (f *fluidSim) doomed(now, end time.Duration, arrivals func(a, b time.Duration) float64, tick int64) bool {
	if f.ff == nil {
		return false
	}
	perArrival, perSession := requestsBound(f.js)
	rest := f.pending(tick) * perSession
	if now < end {
		rest += arrivals(now, end) * perArrival
	}
	// Each class carries less than one answer of its fractions to the next tick.
	rest += float64(len(f.flows) * int(numClasses))
	return f.ff.doomed(now, rest)
}

func (f *fluidSim) pending(tick int64) float64 {
	s := 0.0
	for _, r := range f.flows {
		for _, x := range r {
			s += x
		}
	}
	return s
}

// collect walks the flows due this tick through pauses and skipped steps to their requests.
func (f *fluidSim) collect(tick int64, out []demand) []demand {
	h := int64(f.horizon)
	slot := tick % h
	for fi := range f.flows {
		x := f.flows[fi][slot]
		if x == 0 {
			continue
		}
		f.flows[fi][slot] = 0
		j, step, att, bought := f.decode(fi)
		steps := f.js[j].steps
		for x > 0 && step < len(steps) {
			st := &steps[step]
			if st.kind < 0 {
				if d := wallThink(meanThink(st.think), f.compress, time.Duration(tick)*f.dt); d >= f.dt/2 {
					f.add(f.flowIndex(j, step+1, 0, bought), tick, d, x)
					x = 0
					break
				}
				step++
				continue
			}
			if st.needsBuy && !bought {
				step++
				continue
			}
			if st.prob < 1 {
				f.carryOn(j, step+1, bought, tick, x*(1-st.prob))
				x *= st.prob
			}
			out = append(out, demand{flow: f.flowIndex(j, step, att, bought), j: j, step: step, attempt: att, bought: bought, kind: st.kind, n: x})
			x = 0
		}
	}
	return out
}

// carryOn continues x sessions at step (same tick): they skipped a step.
func (f *fluidSim) carryOn(j, step int, bought bool, tick int64, x float64) {
	if step < len(f.js[j].steps) {
		f.add(f.flowIndex(j, step, 0, bought), tick, f.dt, x)
	}
}

// serve decides this tick's requests: shedding, the breaker, the cache, the inventory, the
// database and the replicas' queue; then records them and moves their sessions on.
func (f *fluidSim) serve(now time.Duration, tick int64, ds []demand) {
	dbN, purchaseWork := f.classes(now, ds)
	dbWait, dbMean := f.database(dbN)
	nAdm, mean, scv, cpuWork := f.holding(ds, dbWait, dbMean)
	q, fluid, w0, w1 := f.replicas(ds, nAdm, mean, scv, cpuWork)
	f.reserve(now, ds, purchaseWork)
	f.settle(now, tick, ds, q, fluid, w0, w1, dbWait, dbMean)
}

// classes admits this tick's demands (none while the breaker is open, a share when the total
// exceeds the shedding rate) and splits what is admitted into cost classes. It returns the
// queries the database receives and the purchases that reach the inventory (indexes in ds).
func (f *fluidSim) classes(now time.Duration, ds []demand) (dbN float64, purchaseWork []int) {
	svc := f.svc
	dt := f.dt.Seconds()
	total := 0.0
	for i := range ds {
		total += ds[i].n
	}
	open := svc.breaker != nil && now < f.brkOpenUntil
	admit := 1.0
	if open {
		admit = 0
	} else if svc.shedAbove > 0 && total > svc.shedAbove*dt {
		admit = svc.shedAbove * dt / total
	}

	// Cost classes, the inventory, and the database's load.
	for i := range ds {
		d := &ds[i]
		if open {
			d.share[clOpen] = 1
			continue
		}
		d.share[clShed] = 1 - admit
		st := &f.js[d.j].steps[d.step]
		in := admit // the share inside the sale window: the tick's demand is spread over the tick
		if d.kind == kindPurchase && st.sku >= 0 {
			_, span := f.win[st.sku].within(now, now+f.dt)
			in = admit * float64(span) / float64(f.dt)
			d.share[clClosed] = admit - in
		}
		switch {
		case d.kind == kindPurchase && st.overLimit(f.botUnits[d.j]):
			d.share[clCheap] = in // the target checks the per-user limit before the stock
		case d.kind == kindPurchase && st.sku >= 0 && f.stockF[st.sku] < float64(st.qty)-1e-9:
			d.share[clCheap] = in
		case cacheable(d.kind):
			d.share[clHit] = in * svc.hitRatio
			d.share[clWork] = in * (1 - svc.hitRatio)
		default:
			d.share[clWork] = in
		}
		if d.kind == kindPurchase && d.share[clWork] > 0 {
			purchaseWork = append(purchaseWork, i)
		}
		if svc.db != nil {
			dbN += d.n * d.share[clWork]
		}
	}
	return dbN, purchaseWork
}

// database serves dbN queries in this tick. A query's time is dbWait + Exp(mean dbMean).
func (f *fluidSim) database(dbN float64) (dbWait, dbMean float64) {
	svc := f.svc
	dt := f.dt.Seconds()
	// The database: each shard answers at the USL response time of its steady concurrency;
	// beyond its capacity queries queue (a backlog carried over like the replicas').
	var dbUtil float64
	if db := svc.db; db != nil {
		capTot := db.cap * float64(f.shardsN)
		lamS := dbN / dt / float64(f.shardsN)
		r, ok := db.steady(lamS)
		if f.dbBack > 0 || lamS >= 0.98*db.cap || !ok {
			tot := f.dbBack + dbN
			served := math.Min(tot, capTot*dt)
			back := tot - served
			dbWait = (f.dbBack + back) / 2 / capTot
			f.dbBack = back
			if r, ok = db.steady(math.Min(lamS, 0.98*db.cap)); !ok {
				r = db.query * db.factor(db.peakN())
			}
			dbUtil = 1
		} else {
			dbUtil = lamS / db.cap
		}
		dbMean = r
		f.dbUtilSum += dbUtil
		f.dbUtilN++
	}
	return dbWait, dbMean
}

// holding is the admitted requests' holding time at a replica (their database time included):
// its mean and squared coefficient of variation, with the admitted count and their CPU time.
func (f *fluidSim) holding(ds []demand, dbWait, dbMean float64) (nAdm, mean, scv, cpuWork float64) {
	svc := f.svc
	// The replicas' holding-time mixture: mean and squared coefficient of variation.
	var m1, m2 float64
	for i := range ds {
		d := &ds[i]
		for _, c := range [...]uint8{clHit, clCheap, clClosed} {
			if x := d.n * d.share[c]; x > 0 {
				nAdm += x
				m1 += x * svc.hitTime
				m2 += x * svc.hitTime * svc.hitTime
				cpuWork += x * svc.hitTime
			}
		}
		if x := d.n * d.share[clWork]; x > 0 {
			a := svc.steps[d.kind]
			ea, ea2 := a.Mean(), a.Mean()*a.Mean()*(1+a.SCV())
			cpuWork += x * ea
			if svc.db != nil {
				ed := dbWait + dbMean
				ed2 := dbWait*dbWait + 2*dbWait*dbMean + 2*dbMean*dbMean
				ea2 = ea2 + 2*ea*ed + ed2
				ea += ed
			}
			nAdm += x
			m1 += x * ea
			m2 += x * ea2
		}
	}
	mean, scv = 0.0, 1.0
	if nAdm > 0 {
		mean = m1 / nAdm
		scv = math.Max(0, (m2/nAdm)/(mean*mean)-1)
	}
	return nAdm, mean, scv, cpuWork
}

// replicas queues the admitted requests at the ready replicas: a stationary queue q while it is
// stable, else a fluid backlog whose wait runs from w0 to w1 over the tick; what the queue limit
// or the timeout refuses moves to the shed and timeout classes.
func (f *fluidSim) replicas(ds []demand, nAdm, mean, scv, cpuWork float64) (q Queue, fluid bool, w0, w1 float64) {
	svc := f.svc
	dt := f.dt.Seconds()
	// The replicas: a stationary G/G/c queue while it is stable, a fluid backlog otherwise.
	ready := max(f.fleet.ready, 0)
	c := svc.workers
	lam := nAdm / dt
	var shedQ, timedOut float64
	util := 0.0
	if ready > 0 && mean > 0 {
		capRate := float64(ready*c) / mean
		ca2 := 1.0
		if !f.poisson {
			ca2 = 0
		}
		switch svc.lb {
		case "least-connections":
			// Joining the shortest queue behaves close to one pooled queue.
			q = Queue{C: ready * c, Lambda: lam, Mu: 1 / mean, CA2: ca2, CS2: scv}
		case "random":
			// Random splitting of a Poisson stream is Poisson.
			q = Queue{C: c, Lambda: lam / float64(ready), Mu: 1 / mean, CA2: ca2, CS2: scv}
		default:
			// Round robin hands each replica every R-th arrival: the sum of R inter-arrival
			// times, whose squared coefficient of variation is the source's divided by R.
			q = Queue{C: c, Lambda: lam / float64(ready), Mu: 1 / mean, CA2: ca2 / float64(ready), CS2: scv}
		}
		if q.Stable() {
			q = q.Prepared()
		}
		if f.backlog > 0 || q.Rho() >= 0.98 {
			fluid = true
			tot := f.backlog + nAdm
			served := math.Min(tot, capRate*dt)
			back := tot - served
			if svc.queueLimit > 0 {
				if lim := float64(svc.queueLimit * ready); back > lim {
					shedQ = math.Min(back-lim, nAdm)
					back -= shedQ
				}
			}
			if svc.timeout > 0 {
				if lim := svc.timeout * capRate; back > lim {
					timedOut = math.Min(back-lim, nAdm-shedQ)
					back -= timedOut
				}
			}
			w0, w1 = f.backlog/capRate, back/capRate
			f.backlog = back
			util = math.Min(1, cpuWork*math.Min(1, served/nAdm)/(float64(ready*svc.cores)*dt))
		} else {
			util = math.Min(1, cpuWork/(float64(ready*svc.cores)*dt))
			if svc.queueLimit > 0 {
				shedQ = nAdm * q.QueueAtLeast(svc.queueLimit)
			}
			if svc.timeout > 0 {
				timedOut = (nAdm - shedQ) * q.WaitTail(svc.timeout)
			}
		}
	} else if nAdm > 0 {
		shedQ = nAdm // no replica to serve
	}
	if nAdm > 0 && (shedQ > 0 || timedOut > 0) {
		fs, ft := shedQ/nAdm, timedOut/nAdm
		for i := range ds {
			d := &ds[i]
			for _, cl := range [...]uint8{clHit, clCheap, clClosed, clWork} {
				x := d.share[cl]
				d.share[cl] = x * (1 - fs - ft)
				d.share[clShed] += x * fs
				d.share[clTimeout] += x * ft
			}
		}
	}
	f.utilSum += util
	f.concSum += lam * (mean + (w0+w1)/2)
	if !fluid && q.Stable() {
		f.concSum += lam * q.MeanWait()
	}
	f.utilN++
	return q, fluid, w0, w1
}

// reserve takes the stock of the purchases that reached the inventory.
func (f *fluidSim) reserve(now time.Duration, ds []demand, purchaseWork []int) {
	// The inventory: reserved purchases take stock; what exceeds it is answered SOLD_OUT.
	for _, i := range purchaseWork {
		d := &ds[i]
		st := &f.js[d.j].steps[d.step]
		x := d.n * d.share[clWork]
		q := float64(st.qty)
		if st.sku >= 0 {
			take := math.Min(x, math.Floor(f.stockF[st.sku]/q+1e-9))
			f.stockF[st.sku] -= take * q
			if take > 0 && f.soldOut != nil && f.stockF[st.sku] < q-1e-9 {
				// The last units went with this tick's demand, take/x of the way through the
				// part of the tick the sale is open.
				from, span := f.win[st.sku].within(now, now+f.dt)
				f.soldOut(st.sku, from+time.Duration(float64(span)*take/x))
			}
			if take < x {
				d.share[clCheap] += (x - take) / d.n
				d.share[clWork] = take / d.n
				x = take
			}
			f.stock[st.sku] = int64(math.Ceil(f.stockF[st.sku] - 1e-9))
		}
		if st.sameUser {
			f.botUnits[d.j] += x * q
		}
		f.sold += x * q
	}
}

// settle records this tick's answers, moves their sessions on (retries, next steps) and feeds
// the circuit breaker.
func (f *fluidSim) settle(now time.Duration, tick int64, ds []demand, q Queue, fluid bool, w0, w1, dbWait, dbMean float64) {
	svc := f.svc
	// Record and move the sessions on.
	var brkReq, brkErr float64
	for i := range ds {
		d := &ds[i]
		j := &f.js[d.j]
		st := &j.steps[d.step]
		for cl := uint8(0); cl < numClasses; cl++ {
			x := d.n * d.share[cl]
			if x <= 0 {
				continue
			}
			status, code, errc := f.answerOf(now, d, cl)
			n := f.take(classKey{d.flow, cl}, x)
			f.sample(now, d, st, cl, n, status, code, errc, q, fluid, w0, w1, dbWait, dbMean)
			if cl != clOpen {
				brkReq += x
				if status >= 500 || errc != outcome.ErrNone {
					brkErr += x
				}
			}
			if d.kind == kindPay && status == 200 {
				f.paid += x
				if o := st.order; o >= 0 && j.steps[o].sku >= 0 {
					f.paidSKU[j.steps[o].sku] += x * float64(j.steps[o].qty)
				}
			}
			// Successors.
			o := st.rules.ModelOutcome(status, code, errc)
			if st.rules.Again(d.attempt, status, code, errc, o) {
				f.add(f.flowIndex(d.j, d.step, d.attempt+1, d.bought), tick, st.meanDelay(d.attempt+1, status, code), x)
				continue
			}
			finalRatios(f.out, st, o, n)
			bought := d.bought || (d.kind == kindPurchase && o == outcome.Acknowledged)
			end, why := st.in.After(o) // the program's rule; a modelled acknowledged answer carries every capture
			if why != "" {
				f.out.SkipN(st.name, why, n)
			}
			if d.step+1 < len(j.steps) && !end {
				f.add(f.flowIndex(d.j, d.step+1, 0, bought), tick, f.dt, x)
			}
		}
	}
	if b := svc.breaker; b != nil {
		slot := int(tick) % len(f.brkWin)
		f.brkWin[slot] = struct{ req, err float64 }{brkReq, brkErr}
		var r, e float64
		for _, w := range f.brkWin {
			r += w.req
			e += w.err
		}
		if r >= float64(b.min) && e > b.errRate*r && now >= f.brkOpenUntil {
			f.brkOpenUntil = now + b.open
			for k := range f.brkWin {
				f.brkWin[k] = struct{ req, err float64 }{}
			}
		}
	}
}

func (f *fluidSim) scaleStep(now time.Duration) {
	util, conc := 0.0, 0.0
	if f.utilN > 0 {
		util, conc = f.utilSum/f.utilN, f.concSum/f.utilN
	}
	f.utilSum, f.concSum, f.utilN = 0, 0, 0
	f.decision, _ = f.scale.decide(f.svc.scaler, &f.fleet, f.svc.min, f.svc.max, now, util, conc)
	// Requests queued at removed replicas are not lost: the backlog is carried by the rest.
}

// gaugeSig is what a gauge reading must not miss a change of.
type gaugeSig struct {
	ready, desired, shards, soldOut int
	reason                          string
}

func (f *fluidSim) gaugeTick(now time.Duration, final bool) {
	if db := f.svc.db; db != nil && now-f.lastDB >= 15*time.Second {
		util := 0.0
		if f.dbUtilN > 0 {
			util = f.dbUtilSum / f.dbUtilN
		}
		f.dbUtilSum, f.dbUtilN, f.lastDB = 0, 0, now
		if util > db.target && f.shardsTo == f.shardsN && f.shardsN < db.maxShards {
			f.shardsTo, f.reshardAt = min(f.shardsN*2, db.maxShards), now+db.reshard
		}
	}
	if f.gauge == nil {
		return
	}
	// The Recorder keeps each window's last reading, and the least and most replicas of any: a
	// reading at the end of each window, and whenever the fleet, the autoscaler's word or a
	// SKU's sell-out changes, gives the same timeline as one every tick.
	sig := gaugeSig{ready: f.fleet.ready, desired: f.fleet.current(), reason: f.decision.Reason, shards: f.shardsN}
	for i := range f.stockF {
		if f.stockF[i] < 1-1e-9 {
			sig.soldOut++
		}
	}
	win := f.batches.win
	if sig == f.lastGauge && (now+f.dt)/win == now/win && !final {
		return
	}
	f.lastGauge = sig
	{
		g := result.Gauges{Replicas: f.fleet.ready, DesiredReplicas: f.fleet.current(), Autoscaler: withShards(f.decision.Reason, f.shardsN),
			Sold: int64(f.sold), Paid: int64(f.paid)}
		for i := range f.stock {
			g.Stock += f.stock0[i]
			g.StockLeft += f.stock[i]
			// Whole units left: a fraction of a unit cannot be sold, so the SKU is sold out below one.
			left := min(f.stock[i], int64(math.Floor(f.stockF[i]+1e-9)))
			g.SKUs = append(g.SKUs, result.SKUStats{Stock: f.stock0[i], Left: left, Sold: f.stock0[i] - left,
				Paid: int64(f.paidSKU[i])}) // named by Run
		}
		f.gauge(now, g)
	}
}

// wholeLeft is each SKU's whole units left: a fraction of a unit cannot be sold.
func (f *fluidSim) wholeLeft() []int64 {
	left := make([]int64, len(f.stock))
	for i := range left {
		left[i] = min(f.stock[i], int64(math.Floor(f.stockF[i]+1e-9)))
	}
	return left
}
