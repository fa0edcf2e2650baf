package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// sink is where results go: a result.Shard, or a discard sink in the long oracle tests.
type sink interface {
	RecordN(r *result.Result, n int64)
	RatioN(name string, num, den int64)
	SkipN(step, reason string, n int64)
}

// Event kinds of the per-request mode.
const (
	evArrival uint8 = iota
	evResume        // a session's pause is over (ID: session)
	evRetry         // a retry is due (ID: request)
	evAppDone       // the application part of a request is done (ID: request)
	evDBDone        // a shard finished a query (Arg: shard, ID: request)
	evScale         // the autoscaler decides
	evReady         // a pod finished starting
	evGauge         // a gauge reading and the database's resharding check
	evHerd          // a crowd's watcher receives the opening (ID: watcher; crowd.go)
)

type replica struct {
	busy     int
	waiting  fifo // requests waiting for a worker
	active   bool // receives new requests
	live     bool // exists (active or draining)
	draining bool
}

type shardQ struct {
	inflight int // queries running on the shard
}

type request struct {
	sess     int32
	kind     int8
	step     int16
	attempt  int8
	retry    bool
	db       bool
	status   int16
	code     string
	rep      int32
	conn     int32 // the generator's connection it holds (model.load_balancer: l4), -1: none
	intended time.Duration
	start    time.Duration
	order    string // a purchase's reserved order, or the group a join_group step joins
	sub      int8   // which of a join_group step's requests (subFirst, subCreate, subJoin)
	chained  bool   // a join_group step's later request: not the one that stands for the arrival
}

// stats are the per-request mode's own measurements, for the queueing oracles: waiting time
// (arrival to start of service), sojourn (arrival to answer), and the time integral of the
// number of requests in the system (Little's law).
type stats struct {
	served     int64
	sumWait    float64
	sumSojourn float64
	wait       *hdrhistogram.Histogram // microseconds
	sysArea    float64                 // ∫ N(t) dt, request·seconds
	admitted   int64
	first      time.Duration
	last       time.Duration
}

// requestSim is the per-request discrete-event mode.
type requestSim struct {
	svc  *service
	k    *Kernel
	rng  *rand.Rand
	out  sink
	js   []journey
	prog *scenario.Program // which journey and user an arrival is; nil in the queueing oracles
	// users: which users kept a scope: user capture (the values themselves are not modelled);
	// nil without any.
	users *scenario.UserValues
	seed  int64
	book  *book                        // the target's business answers; nil: every request does the work
	next  func() (time.Duration, bool) // the next arrival

	reps  []replica
	rr    int
	fleet fleet
	conns *connPool // the generator's connections behind a layer-4 front (connections.go); nil: none

	repNames []string                                   // replica slots' IDs (replicaName)
	onReady  func(id string, at time.Duration, on bool) // a replica became ready or left; nil: not told

	sess      []session
	freeSess  []int32
	reqs      []request
	freeReq   []int32
	shards    []shardQ
	shardsN   int // serving shards
	shardsTo  int // shards after the pending resharding
	reshardAt time.Duration

	stock      []int64
	stock0     []int64
	win        []window  // each SKU's sale window (always open unless Run places one)
	crowd      *crowdSim // the countdown crowd's herd (crowd.go); nil: none
	sold, paid int64
	paidSKU    []float64 // units paid per SKU
	keyBuf     []byte

	shedWin   time.Duration
	shedCount float64

	brkOpenUntil time.Duration
	brkWinStart  time.Duration
	brkReq       int
	brkErr       int

	busy      int
	inSys     int
	lastT     time.Duration
	cpu       int // requests in their application phase (using a core)
	cpuArea   float64
	coreArea  float64
	sysArea   float64
	scale     scaleClock
	lastDB    time.Duration
	dbQueries int64
	dbMark    int64
	decision  Decision

	st       stats
	res      result.Result // reused: RecordN takes a pointer, which would escape per request
	gauge    func(now time.Duration, g result.Gauges)
	soldOut  func(sku int, at time.Duration)  // a SKU's last unit went at run time at
	compress func(wall time.Duration) float64 // scenario seconds per run-clock second; nil: 1
	gaugeDt  time.Duration
	end      time.Duration
	arrived  int64
}

func newRequestSim(svc *service, js []journey, stock []int64, seed int64, out sink, next func() (time.Duration, bool)) *requestSim {
	s := &requestSim{svc: svc, k: NewKernel(1024), rng: rand.New(rand.NewPCG(uint64(seed), 0x51ed)), out: out, js: js, next: next,
		stock: append([]int64(nil), stock...), stock0: stock, seed: seed, paidSKU: make([]float64, len(stock))}
	for range stock {
		s.win = append(s.win, always)
	}
	s.fleet = fleet{ready: svc.replicas, startup: svc.startup}
	for i := 0; i < svc.replicas; i++ {
		s.reps = append(s.reps, replica{active: true, live: true})
	}
	if svc.db != nil {
		s.shardsN, s.shardsTo = svc.db.shards, svc.db.shards
		s.shards = make([]shardQ, svc.db.maxShards)
	}
	s.st.wait = hdrhistogram.New(1, int64(24*time.Hour/time.Microsecond), 3)
	s.st.first = -1
	return s
}

// account moves the time integrals up to now.
func (s *requestSim) account(now time.Duration) {
	if now <= s.lastT {
		return
	}
	dt := (now - s.lastT).Seconds()
	s.cpuArea += float64(min(s.cpu, s.fleet.ready*s.svc.cores)) * dt
	s.coreArea += float64(s.fleet.ready*s.svc.cores) * dt
	s.sysArea += float64(s.inSys) * dt
	s.lastT = now
}

// run plays until the arrivals end and every request is answered, or until ctx-like stop says so.
func (s *requestSim) run(end time.Duration, stop func() bool) {
	s.end = end
	for i := range s.reps {
		s.replicaReady(i, 0, true)
	}
	if t, ok := s.next(); ok {
		s.k.Schedule(Event{At: t, Kind: evArrival})
	}
	s.scheduleHerd()
	if _, fixed := s.svc.scaler.(Fixed); !fixed {
		s.scale.next = s.svc.scaler.Period()
		s.k.Schedule(Event{At: s.scale.wallAt(s.scale.next), Kind: evScale})
	}
	if s.gauge != nil || s.svc.db != nil {
		s.gaugeDt = max(s.gaugeDt, time.Second)
		s.k.Schedule(Event{At: 0, Kind: evGauge})
	}
	n := 0
	for {
		e, ok := s.k.Next()
		if !ok {
			break
		}
		n++
		if n&0xffff == 0 && stop != nil && stop() {
			break
		}
		now := e.At
		s.account(now)
		switch e.Kind {
		case evArrival:
			s.arrived++
			if s.st.first < 0 {
				s.st.first = now
			}
			s.st.last = now
			s.startSession(now)
			if t, ok := s.next(); ok {
				s.k.Schedule(Event{At: t, Kind: evArrival})
			}
		case evResume:
			s.advance(e.ID, now)
		case evHerd:
			s.herdArrives(e.ID, now)
		case evRetry:
			s.admit(e.ID, now)
		case evAppDone:
			s.appDone(e.ID, now)
		case evDBDone:
			s.dbDone(int(e.Arg), e.ID, now)
		case evScale:
			s.scaleDecision(now)
			if now < s.end {
				s.scale.next += s.svc.scaler.Period()
				s.k.Schedule(Event{At: max(now, s.scale.wallAt(s.scale.next)), Kind: evScale})
			}
		case evReady:
			s.podsReady(now)
		case evGauge:
			s.gaugeTick(now)
			if now < s.end {
				s.k.Schedule(Event{At: now + s.gaugeDt, Kind: evGauge})
			}
		}
	}
}

func (s *requestSim) newRequest(sess int32, kind int, step int16, now time.Duration) int32 {
	var id int32
	if n := len(s.freeReq); n > 0 {
		id = s.freeReq[n-1]
		s.freeReq = s.freeReq[:n-1]
	} else {
		s.reqs = append(s.reqs, request{})
		id = int32(len(s.reqs) - 1)
	}
	s.reqs[id] = request{sess: sess, kind: int8(kind), step: step, intended: now, rep: -1, conn: -1}
	return id
}

// admit sends a request (a first attempt or a retry) to the service at now.
func (s *requestSim) admit(id int32, now time.Duration) {
	r := &s.reqs[id]
	r.intended, r.rep = now, -1
	if s.svc.breaker != nil && now < s.brkOpenUntil {
		s.answer(id, now+s.refusal(), 503, codes.CircuitOpen, outcome.ErrNone)
		return
	}
	if s.svc.shedAbove > 0 {
		if w := now / time.Second; w != s.shedWin {
			s.shedWin, s.shedCount = w, 0
		}
		if s.shedCount >= s.svc.shedAbove {
			s.answer(id, now+s.refusal(), 503, codes.Shed, outcome.ErrNone)
			return
		}
		s.shedCount++
	}
	var rep int
	if s.conns != nil {
		if rep = s.connAcquire(id, now); rep == connWaiting {
			return
		}
	} else {
		rep = s.pickReplica()
	}
	s.place(id, rep, now)
}

// place sends request id to replica rep at now: a free worker, else the replica's queue (rep
// < 0: no replica to serve it, refused).
func (s *requestSim) place(id int32, rep int, now time.Duration) {
	if rep < 0 {
		s.answer(id, now+s.refusal(), 503, codes.Shed, outcome.ErrNone)
		return
	}
	r := &s.reqs[id]
	rp := &s.reps[rep]
	r.rep = int32(rep)
	if rp.busy < s.svc.workers {
		s.inSys++
		s.st.admitted++
		s.begin(id, now)
		return
	}
	if s.svc.queueLimit > 0 && rp.waiting.len() >= s.svc.queueLimit {
		s.answer(id, now+s.refusal(), 503, codes.Shed, outcome.ErrNone)
		return
	}
	s.inSys++
	s.st.admitted++
	rp.waiting.push(id)
}

// refusal is what a refused request costs the client: the front end answers it without a
// worker, as fast as a cache hit.
func (s *requestSim) refusal() time.Duration { return time.Duration(s.svc.hitTime * 1e9) }

func (s *requestSim) pickReplica() int {
	switch s.svc.lb {
	case "least-connections":
		best, load := -1, math.MaxInt
		for i := range s.reps {
			if r := &s.reps[i]; r.active {
				if l := r.busy + r.waiting.len(); l < load {
					best, load = i, l
				}
			}
		}
		return best
	case "random":
		if s.fleet.ready <= 0 {
			return -1
		}
		k := s.rng.IntN(s.fleet.ready)
		for i := range s.reps {
			if s.reps[i].active {
				if k == 0 {
					return i
				}
				k--
			}
		}
		return -1
	}
	return s.nextActive(&s.rr)
}

// nextActive moves the round robin *rr on to the next active replica and returns it (-1: none).
func (s *requestSim) nextActive(rr *int) int {
	n := len(s.reps)
	for range n {
		if *rr++; *rr >= n {
			*rr = 0
		}
		if s.reps[*rr].active {
			return *rr
		}
	}
	return -1
}

// begin starts serving request id on a worker of its replica: it decides what the request
// costs (a cache hit, a cheap sold-out answer, or the application time and a database call).
func (s *requestSim) begin(id int32, now time.Duration) {
	r := &s.reqs[id]
	rp := &s.reps[r.rep]
	rp.busy++
	s.busy++
	r.start = now
	wait := (now - r.intended).Seconds()
	s.st.served++
	s.st.sumWait += wait
	_ = s.st.wait.RecordValue(int64(wait * 1e6))

	cost := s.decide(r, now)
	s.cpu++
	s.k.Schedule(Event{At: now + time.Duration(cost*1e9), Kind: evAppDone, ID: id})
}

func (s *requestSim) appDone(id int32, now time.Duration) {
	s.cpu--
	r := &s.reqs[id]
	if !r.db {
		s.finish(id, now)
		return
	}
	sh := s.rng.IntN(s.shardsN)
	q := &s.shards[sh]
	q.inflight++
	s.dbQueries++
	d := s.svc.db
	t := s.rng.ExpFloat64() * d.query * d.factor(float64(q.inflight))
	s.k.Schedule(Event{At: now + time.Duration(t*1e9), Kind: evDBDone, Arg: int32(sh), ID: id})
}

// dbDone: shard sh finished query id.
func (s *requestSim) dbDone(sh int, id int32, now time.Duration) {
	s.shards[sh].inflight--
	s.finish(id, now)
}

// finish answers a served request and gives its worker the next waiting request.
func (s *requestSim) finish(id int32, now time.Duration) {
	r := &s.reqs[id]
	rep := r.rep
	status, code := int(r.status), r.code
	s.inSys--
	s.st.sumSojourn += (now - r.intended).Seconds()
	s.answer(id, now, status, code, outcome.ErrNone)

	rp := &s.reps[rep]
	rp.busy--
	s.busy--
	for rp.waiting.len() > 0 {
		nid := rp.waiting.pop()
		if to := s.svc.timeout; to > 0 && (now-s.reqs[nid].intended).Seconds() > to {
			s.inSys--
			s.answer(nid, s.reqs[nid].intended+time.Duration(to*1e9), 0, "", outcome.ErrTimeout) // no answer, as a live client's timeout
			continue
		}
		s.begin(nid, now)
		break
	}
	if rp.draining && rp.busy == 0 && rp.waiting.len() == 0 {
		rp.live, rp.draining = false, false
	}
}

func (s *requestSim) breakerCount(now time.Duration, failed bool) {
	b := s.svc.breaker
	if now-s.brkWinStart >= b.window {
		s.brkWinStart, s.brkReq, s.brkErr = now, 0, 0
	}
	s.brkReq++
	if failed {
		s.brkErr++
	}
	if s.brkReq >= b.min && float64(s.brkErr) > b.errRate*float64(s.brkReq) && now >= s.brkOpenUntil {
		s.brkOpenUntil = now + b.open
		s.brkWinStart, s.brkReq, s.brkErr = now+b.open, 0, 0
	}
}

func (s *requestSim) scaleDecision(now time.Duration) {
	util, conc := 0.0, 0.0
	if s.coreArea > 0 {
		util = s.cpuArea / s.coreArea
	}
	if dt := (now - s.scale.last).Seconds(); dt > 0 {
		conc = s.sysArea / dt
	}
	s.cpuArea, s.coreArea, s.sysArea = 0, 0, 0
	before := len(s.fleet.starting)
	d, removed := s.scale.decide(s.svc.scaler, &s.fleet, s.svc.min, s.svc.max, now, util, conc)
	s.decision = d
	if len(s.fleet.starting) > before {
		s.k.Schedule(Event{At: s.scale.wallAt(s.scale.scenAt(now) + s.svc.startup), Kind: evReady})
	}
	for i := len(s.reps) - 1; i >= 0 && removed > 0; i-- {
		if r := &s.reps[i]; r.active {
			r.active = false
			s.replicaReady(i, now, false)
			if r.busy == 0 && r.waiting.len() == 0 {
				r.live = false
			} else {
				r.draining = true
			}
			removed--
		}
	}
}

func (s *requestSim) podsReady(now time.Duration) {
	for n := s.fleet.advance(s.scale.scenAt(now)); n > 0; n-- {
		slot := -1
		for i := range s.reps {
			if !s.reps[i].live {
				slot = i
				break
			}
		}
		if slot < 0 {
			s.reps = append(s.reps, replica{})
			slot = len(s.reps) - 1
		}
		s.reps[slot].active, s.reps[slot].live = true, true
		s.replicaReady(slot, now, true)
	}
}

func (s *requestSim) gaugeTick(now time.Duration) {
	if db := s.svc.db; db != nil {
		if s.shardsTo != s.shardsN && now >= s.reshardAt {
			s.shardsN = s.shardsTo
		}
		if fl := db.floor(now); fl > s.shardsN {
			s.shardsN, s.shardsTo = fl, max(fl, s.shardsTo)
		}
		if dt := (now - s.lastDB).Seconds(); dt >= 15 {
			util := float64(s.dbQueries-s.dbMark) / dt / float64(s.shardsN) / db.cap
			s.dbMark, s.lastDB = s.dbQueries, now
			if util > db.target && s.shardsTo == s.shardsN && s.shardsN < db.maxShards {
				s.shardsTo, s.reshardAt = min(s.shardsN*2, db.maxShards), now+db.reshard
			}
		}
	}
	if s.gauge != nil {
		s.syncStock(now)
		g := result.Gauges{Replicas: s.fleet.ready, DesiredReplicas: s.fleet.current(), Autoscaler: withShards(s.decision.Reason, s.shardsN), Sold: s.sold, Paid: s.paid}
		for i := range s.stock {
			g.Stock += s.stock0[i]
			g.StockLeft += s.stock[i]
			g.SKUs = append(g.SKUs, result.SKUStats{Stock: s.stock0[i], Left: s.stock[i], Sold: s.stock0[i] - s.stock[i],
				Paid: int64(s.paidSKU[i])}) // named by Run
		}
		s.gauge(now, g)
	}
}
