package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/internal/feed"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// pushState is the run's push feeds: the meter every subscriber reports to, the feeds the
// server closed mid-wait, and whether the target serves a push feed (probed once, for
// wait_until_open).
type pushState struct {
	meter  *feed.Meter
	used   atomic.Bool  // a subscription was attempted: the summary gets a push block
	closes atomic.Int64 // feeds the server closed while a subscriber still waited
	probe  sync.Once
	has    bool // the target answered a feed subscription
}

// feedURL is the target's feed of sku on the replica the worker picks next.
func (w *worker) feedURL(sku string, via feed.Via) string { return skuFeed(w.next(), sku, via) }

// skuFeed is the feed of sku on target t.
func skuFeed(t *targetURL, sku string, via feed.Via) string {
	scheme := "http://"
	if t.TLS {
		scheme = "https://"
	}
	return feed.URL(scheme+t.Host+t.Prefix, sku, via)
}

// subscribe plays a subscribe step: it holds the feed until the step's condition holds. It
// returns false when the journey ends here (a failed connect, the timeout, a feed the server
// closed without reconnect: true, or the run stopping).
func (w *worker) subscribe(ctx context.Context, st *scenario.Instr, journey string, intended time.Duration) bool {
	ok, _ := w.holdFeed(ctx, st.Cond, st.SKU, st.Name, journey, intended)
	return ok
}

// holdFeed connects (recording the connect as the step's Result: its handshake is the request) and
// waits for the condition. held reports whether a connection was made at all.
func (w *worker) holdFeed(ctx context.Context, c *scenario.Cond, sku, step, journey string, intended time.Duration) (ok, held bool) {
	r := w.r
	r.push.used.Store(true)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(float64(c.Timeout)/r.compressNow()))
	defer cancel()
	via := feed.Via(c.Via)
	for {
		u := c.URL
		if u == "" {
			u = w.feedURL(sku, via)
		}
		res := result.Result{Intended: intended, Journey: journey, Step: step, First: w.first}
		w.first = false
		res.Sent = r.now()
		conn, err := feed.Dial(ctx, u, feed.Options{Via: via})
		res.Done = r.now()
		w.last = res.Done
		if err != nil {
			// A connect failure is the feed's: refused, reset, a failed handshake. A dial cut
			// short by the step's own timeout or the run's end is the step's timeout, which
			// its answer records; with reconnect the deadline often falls inside a redial.
			if ctx.Err() == nil {
				r.push.meter.Failed()
			}
			res.Err = dialErr(ctx, err)
			w.sh.Record(&res)
			return false, held
		}
		res.Status = 200
		if via == feed.WS {
			res.Status = 101
		}
		w.sh.Record(&res)
		held = true
		r.push.meter.Connected()
		met, err := wait(ctx, conn, c, r.push.meter)
		conn.Close()
		r.push.meter.Disconnected()
		w.last = r.now()
		if met {
			return true, held
		}
		if ctx.Err() != nil {
			return false, held // the step's timeout, or the run's end
		}
		// The server closed the feed (feed.ErrClosed) or the connection broke mid-wait.
		_ = err
		r.push.closes.Add(1)
		if !c.Reconnect || !sleepCtx(ctx, ReconnectPause) {
			return false, held
		}
		intended = r.now()
	}
}

// ReconnectPause is the run-clock pause before a subscription dials a feed the server closed
// again (reconnect: true): a browser's EventSource waits a few seconds; a tenth keeps a
// compressed run's subscribers close to the opening without hammering a failing feed.
const ReconnectPause = 100 * time.Millisecond

// dialErr classifies a failed subscription: the step's timeout or the run's end, else what
// the connect met.
func dialErr(ctx context.Context, err error) outcome.ErrorClass {
	if ctx.Err() != nil {
		return outcome.ErrTimeout
	}
	if e := classifyErr(err); e != outcome.ErrNone {
		return e
	}
	return outcome.ErrOther
}

// wait reads the feed until a message satisfies c (true), or the feed ends: its error then,
// feed.ErrClosed when the server closed it. The context's end closes the connection.
func wait(ctx context.Context, conn *feed.Conn, c *scenario.Cond, m *feed.Meter) (bool, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		rc, err := conn.Next()
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, err
		}
		m.Record(&rc)
		if c.Holds(rc.State, func(name string) (string, bool) { return field(&rc, name) }) {
			return true, nil
		}
	}
}

// field is a top-level field of a message, as text: a string's contents, a number's digits.
func field(rc *feed.Receipt, name string) (string, bool) {
	q := make([]byte, 0, len(name)+2)
	q = append(append(append(q, '"'), name...), '"')
	v, ok := scenario.JSONField(rc.Raw, q)
	return string(v), ok
}

// pushServed reports whether the target serves the push feed of sku, asked once per run: a
// wait_until_open then subscribes instead of polling.
func (w *worker) pushServed(ctx context.Context, sku string) bool {
	r := w.r
	r.push.probe.Do(func() {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		conn, err := feed.Dial(pctx, w.feedURL(sku, feed.WS), feed.Options{Via: feed.WS})
		if err == nil {
			r.push.has = true
			conn.Close()
		}
	})
	return r.push.has
}

// waitOpenCond is wait_until_open on a push feed: until the SKU's sale opens.
var waitOpenCond = scenario.Cond{Until: scenario.UntilOpen, Via: string(feed.WS), Timeout: 24 * time.Hour}

// pushSummary is the run's push block, nil when nothing subscribed.
func (r *run) pushSummary() *result.Push {
	if !r.push.used.Load() {
		return nil
	}
	s := r.push.meter.Stats()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	p := &result.Push{Connections: s.Connections, ConnectionsPeak: s.Peak, ConnectFailures: s.ConnectFailures, ServerCloses: r.push.closes.Load(),
		Messages: s.Messages, FanoutSpreadMs: ms(s.Spread)}
	p.LatencyMs = result.PushLatency{P50: ms(s.Latency.P50), P90: ms(s.Latency.P90), P99: ms(s.Latency.P99), Max: ms(s.Latency.Max)}
	return p
}
