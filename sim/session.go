package sim

import (
	"strconv"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// The request mode's sessions: the journey program (scenario.Program) interpreted over the
// model, as the live engine interprets it over HTTP. The program decides which journey and
// user an arrival is, what a step is named, when it is skipped, how long a pause lasts, when a
// step tries again and after how long, and when the journey ends; the book of record (book.go)
// gives the target's business answers. Only how an answer is obtained differs from the live
// engine.

type session struct {
	j       int16
	step    int16
	seq     int64  // the arrival's number in the schedule: its journey, user and pauses
	order   string // the order the journey's last purchase reserved ("" for none), which pay and cancel act on
	osku    int16  // its SKU (-1: none)
	oqty    int32  // its units
	group   string // the group the journey joined
	delayed bool   // a pay's delay is over: send it now
	held    bool   // a subscribe step connected and waits for its condition (crowd.go)
}

func (s *requestSim) startSession(now time.Duration) {
	seq := s.arrived - 1
	j := 0
	if s.prog != nil {
		j = s.prog.Journey(s.seed, seq)
	}
	s.startSessionAs(j, seq, now)
}

// startSessionAs starts arrival seq playing journey j (a crowd's watcher plays the herd's).
func (s *requestSim) startSessionAs(j int, seq int64, now time.Duration) {
	var id int32
	if n := len(s.freeSess); n > 0 {
		id = s.freeSess[n-1]
		s.freeSess = s.freeSess[:n-1]
	} else {
		s.sess = append(s.sess, session{})
		id = int32(len(s.sess) - 1)
	}
	s.sess[id] = session{j: int16(j), seq: seq, osku: -1}
	s.advance(id, now)
}

// user is the user the session plays step st as.
func (s *requestSim) user(ss *session, st *jstep) int64 {
	if s.prog == nil || st.in == nil {
		return ss.seq + 1
	}
	return s.prog.User(int(ss.j), st.in, ss.seq)
}

// advance plays the session's steps from its current one until it sends a request or pauses.
func (s *requestSim) advance(id int32, now time.Duration) {
	ss := &s.sess[id]
	steps := s.js[ss.j].steps
	for int(ss.step) < len(steps) {
		st := &steps[ss.step]
		if st.kind < 0 {
			ss.step++
			if d := wallThink(st.in.ThinkAt(s.seed, ss.seq), s.compress, now); d > 0 {
				s.k.Schedule(Event{At: now + d, Kind: evResume, ID: id})
				return
			}
			continue
		}
		if st.in != nil && (st.in.Op == scenario.OpSubscribe || st.in.Op == scenario.OpWaitOpen) {
			if s.subscribed(id, ss, st, now) {
				return
			}
			continue
		}
		if !ss.delayed && (st.needsBuy || st.prob < 1) {
			if st.in.Skip(ss.order != "", s.rng.Float64()) {
				ss.step++
				continue
			}
			if d := st.in.Delay; d > 0 {
				ss.delayed = true
				s.k.Schedule(Event{At: now + wallThink(d, s.compress, now), Kind: evResume, ID: id})
				return
			}
		}
		ss.delayed = false
		if st.in != nil && len(st.in.Needs) > 0 && !s.kept(ss, st) {
			s.freeSess = append(s.freeSess, id)
			return
		}
		rid := s.newRequest(id, st.kind, ss.step, now)
		if st.kind == kindJoin && s.book != nil {
			// Join the SKU's open group, or open one when there is none.
			if g := s.book.group(st.sku); g != "" {
				s.reqs[rid].order = g
			} else {
				s.reqs[rid].sub = subCreate
			}
		}
		s.admit(rid, now)
		return
	}
	s.freeSess = append(s.freeSess, id)
}

// decide gives a request that reached a worker its answer, and returns what it costs: a
// refusal is answered without the database, as cheaply as a cache hit.
func (s *requestSim) decide(r *request, now time.Duration) float64 {
	ss := &s.sess[r.sess]
	st := &s.js[ss.j].steps[r.step]
	r.db = false
	r.status, r.code = 200, ""
	switch {
	case st.in == nil:
	case r.kind == kindPurchase && s.book != nil:
		group := ""
		if st.in.Group {
			group = ss.group
		}
		status, code, order := s.book.purchase(now, st.sku, s.user(ss, st), s.key(ss, st), st.qty, group, st.in.Coupon)
		r.status, r.code, r.order = int16(status), code, order
		if code == codes.Reserved && status == 201 {
			s.reserved(st, now)
		}
	case (r.kind == kindPay || r.kind == kindCancel) && s.book != nil:
		status, code := s.book.settle(now, ss.order, s.user(ss, st), r.kind == kindPay)
		r.status, r.code = int16(status), code
		if code == codes.Paid {
			s.paid++
			if ss.osku >= 0 {
				s.paidSKU[ss.osku] += float64(ss.oqty)
			}
		}
	case r.kind == kindJoin && s.book != nil && r.sub == subCreate:
		status, code, group := s.book.create(st.sku)
		r.status, r.code, r.order = int16(status), code, group
	case r.kind == kindJoin && s.book != nil:
		status, code := s.book.join(r.order, s.user(ss, st))
		r.status, r.code = int16(status), code
	}
	if r.status >= 300 {
		return s.svc.hitTime
	}
	if cacheable(int(r.kind)) && s.svc.hitRatio > 0 && s.rng.Float64() < s.svc.hitRatio {
		return s.svc.hitTime
	}
	r.db = s.svc.db != nil
	return s.svc.steps[r.kind].Sample(s.rng)
}

// key is the idempotency key of a session's step: one per arrival and step, kept by its retries.
func (s *requestSim) key(ss *session, st *jstep) string {
	s.keyBuf = strconv.AppendInt(s.keyBuf[:0], ss.seq, 10)
	s.keyBuf = append(s.keyBuf, '-')
	s.keyBuf = strconv.AppendUint(s.keyBuf, uint64(st.in.Index), 10)
	return string(s.keyBuf)
}

// reserved notes a reservation of step st: units sold, and the SKU's sell-out.
func (s *requestSim) reserved(st *jstep, now time.Duration) {
	s.sold += int64(st.qty)
	if st.sku < 0 || st.sku >= len(s.stock) {
		return
	}
	left, _ := s.book.counts(st.sku)
	s.stock[st.sku] = left
	if left < int64(st.qty) && s.soldOut != nil {
		s.soldOut(st.sku, now)
	}
}

// answer records a request's answer and moves its session on (or schedules its retry).
func (s *requestSim) answer(id int32, done time.Duration, status int, code string, errc outcome.ErrorClass) {
	r := &s.reqs[id]
	defer s.connDone(s.takeConn(r))
	ss := &s.sess[r.sess]
	st := &s.js[ss.j].steps[r.step]
	name := st.name
	if r.sub == subCreate {
		name = "create_group"
	}
	s.res = result.Result{Intended: r.intended, Sent: r.intended, Done: done, Journey: s.js[ss.j].name, Step: name,
		Status: status, Code: code, Err: errc, Retry: r.retry, First: st.first && !r.retry && !r.chained, Replica: s.replicaName(r.rep)}
	if errc == outcome.ErrNone {
		s.svc.roundTrip(&s.res)
	}
	s.out.RecordN(&s.res, 1)
	s.herdAnswer(ss.seq, st, r.intended, done)
	if s.svc.breaker != nil && code != codes.CircuitOpen {
		s.breakerCount(done, status >= 500 || errc != outcome.ErrNone)
	}
	now := s.k.Now()
	if r.kind == kindJoin && s.book != nil && s.grouped(id, r, ss, st, status, errc, max(done, now)) {
		return
	}
	o := st.rules.ModelOutcome(status, code, errc)
	if st.rules.Again(int(r.attempt), status, code, errc, o) {
		r.attempt++
		r.retry = true
		r.status, r.code, r.db = 0, "", false
		// The backoff runs from the answer (or the timeout), as the live client's does.
		s.k.Schedule(Event{At: max(done, now) + st.delay(int(r.attempt), s.rng.Float64(), status, code), Kind: evRetry, ID: id})
		return
	}
	end := st.rules.EndsJourney(o)
	if st.in != nil {
		finalRatios(s.out, st, o, 1)
		end = s.captured(ss, st, o)
	}
	s.settled(r, ss, st, o)
	sess := r.sess
	s.freeReq = append(s.freeReq, id)
	ss.step++
	if end {
		s.freeSess = append(s.freeSess, sess)
		return
	}
	s.advance(sess, now)
}

// captured applies the program's rule for a step's final outcome (scenario.Instr.After): a
// modelled acknowledged answer carries every capture (the model's answers have no bodies), and
// keeps the scope: user ones for the user's later arrivals; any other answer of a step with
// captures ends the journey, counted as skipped. It reports whether the journey ends here.
func (s *requestSim) captured(ss *session, st *jstep, o outcome.Outcome) bool {
	end, why := st.in.After(o)
	if why != "" {
		s.out.SkipN(st.name, why, 1)
	}
	if !end && s.users != nil {
		for i := range st.in.Captures {
			if c := &st.in.Captures[i]; c.User >= 0 {
				s.users.Keep(s.user(ss, st), c.User, nil)
			}
		}
	}
	return end
}

// kept reports whether the user kept every scope: user value step st reads without an earlier
// capture in the journey; the first missing one is counted as the step's skip.
func (s *requestSim) kept(ss *session, st *jstep) bool {
	for i := range st.in.Needs {
		n := &st.in.Needs[i]
		if s.users == nil || !s.users.Has(s.user(ss, st), n.User) {
			s.out.SkipN(st.name, n.Reason, 1)
			return false
		}
	}
	return true
}

// settled keeps what a step's final answer leaves the journey: the order a purchase reserved,
// none after a cancel, the group joined.
func (s *requestSim) settled(r *request, ss *session, st *jstep, o outcome.Outcome) {
	if st.in == nil {
		return
	}
	switch {
	case st.in.Audited:
		if o == outcome.Acknowledged && r.order != "" {
			ss.order, ss.osku, ss.oqty = r.order, int16(st.sku), int32(st.qty)
		}
	case st.in.Op == scenario.OpCancel:
		if o == outcome.Acknowledged {
			ss.order = ""
		}
	case st.in.Op == scenario.OpJoinGroup:
		ss.group = ""
		if o == outcome.Acknowledged {
			ss.group = r.order // a join's request names its group where a purchase's names its order
		}
	}
}

// The requests of a join_group step, as the live engine sends them: a join of the SKU's open
// group; when there is none or it fails, a create_group, and a join of the group it opened.
const (
	subFirst  int8 = iota // the join of the group the step found
	subCreate             // create_group
	subJoin               // the join of the group the step opened
)

// grouped moves a join_group step on after one of its requests: to its next request, or (false)
// to the step's end, having kept the group joined. The journey goes on whatever the group's
// fate, unless nothing reached the service.
func (s *requestSim) grouped(id int32, r *request, ss *session, st *jstep, status int, errc outcome.ErrorClass, now time.Duration) bool {
	ok := errc == outcome.ErrNone && status < 300
	switch {
	case r.sub == subFirst && !ok:
		r.sub, r.order = subCreate, ""
	case r.sub == subCreate && ok:
		s.book.opened(st.sku, r.order)
		r.sub = subJoin
	default:
		if !ok {
			r.order = ""
		}
		return false
	}
	if errc == outcome.ErrRefused {
		return false
	}
	r.status, r.code, r.db, r.chained = 0, "", false, true
	s.admit(id, now)
	return true
}

// syncStock reads the units left per SKU from the book after its due expiries: cancels and
// expired reservations give units back.
func (s *requestSim) syncStock(now time.Duration) {
	if s.book == nil {
		return
	}
	s.book.expire(now)
	for i := range s.stock {
		s.stock[i], _ = s.book.counts(i)
	}
}
