package engine

import (
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// transport carries the workers' requests to the target. prepare chooses one for the run
// (newTransport), so the request path asks no question per request about how to send:
//   - rawConns: plain HTTP with a connection per worker (MaxConns ≥ Workers): each worker owns
//     a keep-alive rawConn (rawconn.go), dialled on its first request;
//   - rawPool: plain HTTP with fewer connections than workers (the open model's session pool):
//     MaxConns rawConns that a request borrows for its exchange;
//   - fastClient: fasthttp's HostClient, for https targets and Options.FastHTTPOnly, with
//     MaxConns connection slots when there are fewer connections than workers.
//
// With several target URLs (replicas) every connection goes to one of them, round robin. A
// worker that owns its connection (rawConns; fastClient without slots) keeps its replica; over
// shared connections (rawPool; fastClient's slots) each request of a worker takes the next one.
//
// Request steps whose URL names another host do not use it (run.other, a fasthttp.Client).
type transport interface {
	// renders reports whether preset steps may be rendered straight into the raw format (sendRaw).
	renders() bool
	// next chooses the replica of w's next request (an index in run.targets; w.tgt is the last).
	next(w *worker) int
	// do sends w's request to the target, w.out when rendered (sendRaw) else w.req, and fills
	// w.resp, whose body stays valid until w's next request. It waits at most ConnWaitTimeout
	// for a connection first (else fasthttp.ErrNoFreeConns); sent is when the request got one:
	// service time runs from there.
	do(w *worker, rendered bool) (sent time.Duration, err error)
	// close closes the idle connections when the run ends. A worker's own connection is closed
	// by the worker (retire, or the end of the closed loop).
	close()
}

// newTransport chooses the transport of a run to ts (the target or its replicas) with the
// resolved options (MaxConns ≥ len(ts)); cfg is what the raw connections share.
func newTransport(ts []targetURL, opts Options, sz clientSizing, cfg *rawConfig) transport {
	if opts.FastHTTPOnly || slices.ContainsFunc(ts, func(t targetURL) bool { return t.TLS }) {
		f := &fastClient{wait: opts.ConnWaitTimeout}
		for _, t := range ts {
			f.hcs = append(f.hcs, newHostClient(t, sz))
		}
		if opts.MaxConns < opts.Workers {
			f.slots = make(chan struct{}, opts.MaxConns)
			for i := 0; i < opts.MaxConns; i++ {
				f.slots <- struct{}{}
			}
		}
		return f
	}
	if opts.MaxConns >= opts.Workers {
		return &rawConns{cfg: cfg}
	}
	// Connection i goes to replica i mod N.
	n := len(ts)
	p := &rawPool{conns: make([]chan *rawConn, n), wait: opts.ConnWaitTimeout}
	conns := opts.MaxConns
	if a := opts.Active; a != nil {
		// A set that changes: every replica gets the share it has in the set's first
		// generation, so the replicas that take load have MaxConns between them from the start.
		conns = opts.MaxConns * n / len(a.List())
	}
	for k := range n {
		p.conns[k] = make(chan *rawConn, (conns-k+n-1)/n)
	}
	for i := 0; i < conns; i++ {
		p.conns[i%n] <- newRawConn(ts[i%n].Host, cfg)
	}
	return p
}

// rotate is the replica after w's last one.
func rotate(w *worker, n int) int {
	if n == 1 {
		return 0
	}
	return (w.tgt + 1) % n
}

// rawConns gives every worker its own keep-alive connection: a request never waits for one.
type rawConns struct {
	cfg  *rawConfig
	dial func(addr string) (net.Conn, error) // nil: TCP (tests replace it)
}

func (t *rawConns) renders() bool { return true }

func (t *rawConns) next(w *worker) int {
	if a := w.r.active; a != nil {
		if s := a.p.Load(); s.gen != w.gen {
			w.gen = s.gen
			if k := s.own(w.id); k != w.tgt {
				w.raw.close() // dialled again to k on the next exchange
				w.raw, w.tgt = nil, k
			}
		}
	}
	return w.tgt
}

func (t *rawConns) do(w *worker, rendered bool) (time.Duration, error) {
	r := w.r
	c := w.raw
	if c == nil {
		c = newRawConn(w.r.targets[w.tgt].Host, t.cfg)
		c.dial = t.dial
		w.raw = c
	}
	sent := r.now()
	r.inflight.Add(1)
	err := c.exchange(w, rendered, sent)
	r.inflight.Add(-1)
	return sent, err
}

func (t *rawConns) close() {}

// rawPool is MaxConns connections, dialled on first use, that requests borrow for one exchange.
// A connection that failed goes back closed and is dialled again by its next borrower.
// conns[k] holds the connections to replica k.
type rawPool struct {
	conns  []chan *rawConn
	wait   time.Duration
	closed atomic.Bool
}

func (p *rawPool) renders() bool { return true }

func (p *rawPool) next(w *worker) int {
	if a := w.r.active; a != nil {
		return a.p.Load().after(w.tgt)
	}
	return rotate(w, len(p.conns))
}

func (p *rawPool) do(w *worker, rendered bool) (time.Duration, error) {
	r := w.r
	conns := p.conns[w.tgt]
	c, ok := take(w, conns, p.wait)
	if !ok {
		return r.now(), fasthttp.ErrNoFreeConns
	}
	if a := r.active; a != nil {
		s := a.p.Load()
		if c.gen < s.since[w.tgt] {
			c.close() // kept from before its replica left the set: that process may be gone
		}
		c.gen = s.gen
	}
	sent := r.now()
	r.inflight.Add(1)
	err := c.exchange(w, rendered, sent)
	if err == nil {
		// The body is in the connection's buffers, which the next borrower reuses.
		w.answer = append(w.answer[:0], w.resp.Body()...)
		w.resp.SetBodyRaw(w.answer)
	}
	r.inflight.Add(-1)
	// On any error send closed the connection: the next borrower dials a fresh one.
	conns <- c
	if p.closed.Load() {
		p.close() // a session the drain cut: its connection came back after the run ended
	}
	return sent, err
}

// close closes the idle connections, and from then on those that come back.
func (p *rawPool) close() {
	p.closed.Store(true)
	for _, conns := range p.conns {
		for len(conns) > 0 {
			select {
			case c := <-conns:
				c.close()
			default:
			}
		}
	}
}

// fastClient sends through fasthttp's HostClients, one per replica. With fewer connections than
// workers a request holds one of MaxConns slots while it is on the wire (slots); otherwise slots
// is nil and every worker can hold a connection.
type fastClient struct {
	hcs   []*fasthttp.HostClient
	slots chan struct{}
	wait  time.Duration
}

func (f *fastClient) renders() bool { return false }

func (f *fastClient) next(w *worker) int {
	a := w.r.active
	if f.slots == nil {
		// A HostClient per replica would otherwise hold a connection per worker.
		if a != nil {
			if s := a.p.Load(); s.gen != w.gen {
				w.gen, w.tgt = s.gen, s.own(w.id)
			}
		}
		return w.tgt
	}
	if a != nil {
		return a.p.Load().after(w.tgt)
	}
	return rotate(w, len(f.hcs))
}

func (f *fastClient) do(w *worker, _ bool) (time.Duration, error) {
	r := w.r
	if f.slots != nil {
		if _, ok := take(w, f.slots, f.wait); !ok {
			return r.now(), fasthttp.ErrNoFreeConns
		}
	}
	r.closeN.mark(&w.req)
	sent := r.now()
	r.inflight.Add(1)
	err := f.hcs[w.tgt].Do(&w.req, &w.resp)
	r.inflight.Add(-1)
	if err == nil {
		w.hd.fromHeader(&w.resp.Header, r.replica, r.replicaL)
	}
	if f.slots != nil {
		f.slots <- struct{}{}
	}
	return sent, err
}

func (f *fastClient) close() {
	for _, hc := range f.hcs {
		hc.CloseIdleConnections()
	}
}

// exchange sends w's request over rc: the rendered bytes in w.out (swapped with rc's buffer, so
// neither is copied), else w.req.
func (rc *rawConn) exchange(w *worker, rendered bool, now time.Duration) error {
	rc.heads = w.heads
	var err error
	if rendered {
		rc.out.b, w.out = w.out, rc.out.b
		err = rc.send(w.head, &w.resp, now)
	} else {
		err = rc.do(&w.req, &w.resp, now)
	}
	if err == nil {
		g := &rc.got
		w.hd.set(g.serverTiming, g.retryAfter, g.replica)
	}
	return err
}

// take receives from ch, waiting at most d (on w's timer); false when nothing came in time.
func take[T any](w *worker, ch chan T, d time.Duration) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
	}
	w.timer.Reset(d)
	select {
	case v := <-ch:
		w.timer.Stop()
		return v, true
	case <-w.timer.C:
		var zero T
		return zero, false
	}
}

// next chooses the replica of w's next request to the target.
func (w *worker) next() *targetURL {
	w.tgt = w.r.tr.next(w)
	return &w.r.targets[w.tgt]
}
