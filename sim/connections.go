package sim

import (
	"strconv"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// The request mode's model of a layer-4 front (model.load_balancer: l4, a Kubernetes Service):
// the load generator holds a pool of connections; a request takes the free connection that
// has waited longest (waiting first come, first served when none is free, as the live engine's
// pool does, and failing as a timeout after the pool's wait); a connection is given a ready
// replica, round robin over the ready ones, when it opens, and keeps it until it closes. It
// closes between requests by the live engine's recycling rules (max_age, max_requests) and
// when its replica leaves (a terminating pod closes its connections), and the next request on
// it opens it again. So replicas that become ready while the connections are open get no load
// until connections reopen: the idle-new-replica effect, and what recycling buys.

// connPool is the generator's connections.
type connPool struct {
	conns   []simConn
	free    fifo // connections not carrying a request
	waiting fifo // requests waiting for a connection
	rr      int  // the front's round robin: the replica slot the last connection was given
	maxAge  time.Duration
	maxReq  int32
	wait    time.Duration
}

// simConn is one connection: its replica (-1: closed), when it opened, and the requests it
// carried since.
type simConn struct {
	rep  int32
	born time.Duration
	n    int32
}

// fifo is a queue of ids: requests waiting for a connection or a replica's worker, free
// connections.
type fifo struct {
	q []int32
	h int
}

func (f *fifo) len() int      { return len(f.q) - f.h }
func (f *fifo) push(id int32) { f.q = append(f.q, id) }
func (f *fifo) pushFront(id int32) {
	if f.h > 0 {
		f.h--
		f.q[f.h] = id
		return
	}
	f.q = append([]int32{id}, f.q...)
}

func (f *fifo) pop() int32 {
	id := f.q[f.h]
	f.h++
	if f.h == len(f.q) {
		f.q, f.h = f.q[:0], 0
	} else if f.h > 1024 && f.h*2 > len(f.q) {
		n := copy(f.q, f.q[f.h:])
		f.q, f.h = f.q[:n], 0
	}
	return id
}

// newConnPool is the pool of model m for a play whose peak is peak arrivals per second of the
// run clock; nil unless the model's load balancer is l4.
func newConnPool(m *scenario.Model, peak float64) *connPool {
	if m == nil || m.LoadBalancer != "l4" {
		return nil
	}
	c := scenario.Connections{}
	if m.Connections != nil {
		c = *m.Connections
	}
	n := c.Count
	if n <= 0 {
		n = scenario.DefaultConns(peak)
	}
	p := &connPool{conns: make([]simConn, n), rr: -1, maxAge: c.MaxAge.D(), maxReq: int32(c.MaxRequests), wait: c.Wait.D()}
	if p.wait <= 0 {
		p.wait = scenario.DefaultConnWait
	}
	for i := range p.conns {
		p.conns[i].rep = -1
		p.free.push(int32(i))
	}
	return p
}

// aged says whether a connection born at born is too old to carry a request at now.
func (p *connPool) aged(c *simConn, now time.Duration) bool {
	return p.maxAge > 0 && now-c.born >= p.maxAge
}

// Results of connAcquire besides a replica.
const (
	connWaiting = -2 // the request waits for a connection (connDone hands it one)
	connNoReady = -1 // no replica is ready: the front refuses it
)

// connAcquire gives request id a connection at now and returns the replica it reaches, or
// connWaiting when every connection is busy (the request queues for one), or connNoReady.
func (s *requestSim) connAcquire(id int32, now time.Duration) int {
	p := s.conns
	if p.free.len() == 0 {
		p.waiting.push(id)
		return connWaiting
	}
	c := p.free.pop()
	rep := s.connUse(id, c, now)
	if rep < 0 {
		p.free.pushFront(c) // not opened: the next request tries it again
	}
	return rep
}

// connUse sends request id over connection c: the connection (re)opens to the next ready
// replica when it is closed, its replica left, or it aged while idle.
func (s *requestSim) connUse(id, c int32, now time.Duration) int {
	p := s.conns
	cn := &p.conns[c]
	if cn.rep < 0 || !s.reps[cn.rep].active || p.aged(cn, now) {
		rep := s.frontPick()
		if rep < 0 {
			cn.rep = -1
			return connNoReady
		}
		cn.rep, cn.born, cn.n = int32(rep), now, 0
	}
	s.reqs[id].conn = c
	return int(cn.rep)
}

// frontPick is the ready replica a new connection goes to: the front's round robin.
func (s *requestSim) frontPick() int { return s.nextActive(&s.conns.rr) }

// takeConn is request r's connection, which its answer gives back (-1: none).
func (s *requestSim) takeConn(r *request) int32 {
	c := r.conn
	r.conn = -1
	return c
}

// connDone gives connection c back once its request's answer is recorded and its session moved
// on (deferred by answer, so no pointer into the request table is live): the connection counts
// the request and closes when recycling says so; the request waiting longest gets it, after
// those that waited past the pool's wait have failed as timeouts.
func (s *requestSim) connDone(c int32) {
	if c < 0 {
		return
	}
	p := s.conns
	now := s.k.Now()
	cn := &p.conns[c]
	cn.n++
	if p.maxReq > 0 && cn.n >= p.maxReq || p.aged(cn, now) {
		cn.rep = -1
	}
	for p.waiting.len() > 0 {
		id := p.waiting.pop()
		r := &s.reqs[id]
		if now-r.intended > p.wait {
			// No connection came in time: the live engine's ErrNoFreeConns, a timeout.
			s.answer(id, r.intended+p.wait, 0, "", outcome.ErrTimeout)
			continue
		}
		rep := s.connUse(id, c, now)
		s.place(id, rep, now) // no ready replica: refused, and the next waiter tries
		if rep >= 0 {
			return
		}
	}
	p.free.push(c)
}

// replicaName is the ID a replica slot answers as: the live fleet's replica-N.
func (s *requestSim) replicaName(rep int32) string {
	if rep < 0 {
		return ""
	}
	for int(rep) >= len(s.repNames) {
		s.repNames = append(s.repNames, "replica-"+strconv.Itoa(len(s.repNames)))
	}
	return s.repNames[rep]
}

// replicaReady tells the run which replica slots are ready, for requests.by_replica's ready
// spans and the replica_spread gate.
func (s *requestSim) replicaReady(rep int, now time.Duration, on bool) {
	if s.onReady != nil {
		s.onReady(s.replicaName(int32(rep)), now, on)
	}
}
