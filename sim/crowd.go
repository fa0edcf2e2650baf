package sim

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// The countdown crowd and push subscriptions in the request mode. A watcher's connection costs
// the purchase path nothing while it waits (the push tier is planned by PlanWatchers); what the
// request mode adds is the herd: at the opening each watcher starts the crowd's journey (as
// arrival scenario.HerdSeq(i)) once the opening message reaches it, a fan-out delay uniform over
// [0, D] after the opening, D = the watchers on a replica × model.push's fan-out cost / its cores.
// A subscribe step (and wait_until_open, which the live engine plays on the target's push feed)
// records its connect as one answer and resumes the journey when its condition holds in the
// model: open at the SKU's opening, sold_out when the book's stock reaches 0 (looked at every
// scenario.WaitOpenPoll), and a message of another service's feed at once (the model has no
// such feed).

// streamHerd draws a watcher's place in the opening's fan-out.
const streamHerd uint64 = 7

// crowdSim is the request mode's herd.
type crowdSim struct {
	plan    *scenario.CrowdPlan
	journey int
	fanout  time.Duration // D: the time to write the opening to one replica's watchers
	push    WatchersPlan  // the push tier holding the crowd on the model's replicas
	opened  time.Duration // the opening on the run clock, -1 before it
	lat     *hdrhistogram.Histogram
	first   int64 // herd purchases due within 1 s of the opening's first receipt
	n       int64 // all herd purchases
}

// newCrowdSim plans the crowd of a play on svc's replicas; nil without a crowd.
func newCrowdSim(p *scenario.Play, prog *scenario.Program, m *scenario.Model, replicas int) *crowdSim {
	plan := p.CrowdPlan()
	if plan == nil || prog == nil {
		return nil
	}
	j := prog.JourneyIndex(plan.Journey)
	if j < 0 {
		return nil
	}
	wp, err := PlanWatchers(m, WatchersOptions{Watchers: int64(plan.Watchers), Replicas: max(replicas, 1), Arrive: plan.From.D()})
	if err != nil {
		return nil
	}
	return &crowdSim{plan: plan, journey: j, opened: -1, lat: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		fanout: wp.Fanout, push: wp}
}

// pushSummary is the push tier as the model holds the crowd: every watcher connected at the
// opening, the opening's fan-out (uniform over [0, D]: p50 D/2, p99 the 99th watcher's, max D).
func (c *crowdSim) pushSummary() *result.Push {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	p := &result.Push{ConnectionsPeak: int64(c.plan.Watchers), FanoutSpreadMs: ms(c.push.Fanout)}
	p.LatencyMs = result.PushLatency{P50: ms(c.push.Fanout / 2), P90: ms(c.push.Fanout * 9 / 10), P99: ms(c.push.FanoutP99), Max: ms(c.push.Fanout)}
	return p
}

// warning says when the model's replicas cannot hold the crowd; "" when they can.
func (c *crowdSim) warning() string {
	p := c.push
	if p.Needed <= p.Replicas {
		return ""
	}
	return fmt.Sprintf("the push tier needs %d replicas to hold %d watchers (connections %d, fan-out %d, connects %d); the model has %d",
		p.Needed, p.Watchers, p.ByConns, p.ByFanout, p.ByConnects, p.Replicas)
}

// scheduleHerd places every watcher's receipt of the opening on the kernel.
func (s *requestSim) scheduleHerd() {
	c := s.crowd
	if c == nil {
		return
	}
	for i := 0; i < c.plan.Watchers; i++ {
		u := scenario.Unit(scenario.Mix(s.seed, scenario.HerdSeq(i), streamHerd))
		s.k.Schedule(Event{At: c.plan.Open + time.Duration(u*float64(c.fanout)), Kind: evHerd, ID: int32(i)})
	}
}

// herdArrives starts watcher i's herd session.
func (s *requestSim) herdArrives(i int32, now time.Duration) {
	c := s.crowd
	if c.opened < 0 || now < c.opened {
		c.opened = now
	}
	s.startSessionAs(c.journey, scenario.HerdSeq(int(i)), now)
}

// herdAnswer counts an answer of a herd session's purchase.
func (s *requestSim) herdAnswer(seq int64, st *jstep, intended, done time.Duration) {
	c := s.crowd
	if c == nil || !scenario.IsHerd(seq) || st.in == nil || !st.in.Audited {
		return
	}
	c.n++
	if c.opened >= 0 && intended-c.opened < time.Second {
		c.first++
	}
	_ = c.lat.RecordValue(max(1, int64((done-intended)/time.Microsecond)))
}

// summary is the herd as the model played it.
func (c *crowdSim) summary(watchers int) *result.Herd {
	if c == nil {
		return nil
	}
	h := &result.Herd{Watchers: int64(watchers), PurchasesFirst: c.first, Purchases: c.n}
	if c.opened >= 0 {
		h.OpenedAtS = c.opened.Seconds()
	}
	if c.lat.TotalCount() > 0 {
		h.LatencyMs.P50 = float64(c.lat.ValueAtQuantile(50)) / 1000
		h.LatencyMs.P99 = float64(c.lat.ValueAtQuantile(99)) / 1000
	}
	return h
}

// subscribed plays a subscribe or wait_until_open step of session id: its connect is one
// answer (status 101, a WebSocket's switch), then the session waits in the model until the
// condition holds. It reports whether the session waits (an event resumes it).
func (s *requestSim) subscribed(id int32, ss *session, st *jstep, now time.Duration) bool {
	c := st.in.Cond
	if c == nil {
		c = &waitOpenCond
	}
	if !ss.held {
		ss.held = true
		status := 101
		if c.Via == "sse" {
			status = 200
		}
		s.res = result.Result{Intended: now, Sent: now, Done: now, Journey: s.js[ss.j].name, Step: st.name,
			Status: status, First: st.first}
		s.out.RecordN(&s.res, 1)
	}
	at := now
	switch {
	case st.sku < 0 || st.sku >= len(s.win):
	case c.Until == scenario.UntilOpen:
		at = max(now, s.win[st.sku].open)
	case c.Until == scenario.UntilSoldOut:
		if s.book != nil {
			if left, _ := s.book.counts(st.sku); left > 0 {
				at = now + scenario.WaitOpenPoll
			}
		}
	}
	if at <= now {
		ss.held = false
		ss.step++
		return false
	}
	if at > s.end {
		ss.held = false
		s.freeSess = append(s.freeSess, id) // the run ends before the condition holds
		return true
	}
	s.k.Schedule(Event{At: at, Kind: evResume, ID: id})
	return true
}

// waitOpenCond is wait_until_open on the target's push feed.
var waitOpenCond = scenario.Cond{Until: scenario.UntilOpen, Via: "ws"}
