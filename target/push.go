package target

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/target/inventory"
)

// Push feeds: GET /v1/skus/{sku}/ws (WebSocket, push_ws.go) and GET /v1/skus/{sku}/events
// (server-sent events, push_sse.go) send a SKU's state when it changes:
//
//	{"sku":"phone-x","state":"waiting|open|sold_out|ended","available":17,"seq":52,"sent_at_ns":...}
//
// One hub per SKU per process (while it has subscribers) builds each message once, encodes it
// once (the JSON, the SSE frame and the WebSocket frame) and wakes every subscriber; each
// subscriber's own goroutine writes the latest message, so a slow one skips states (it gets the
// latest when it is ready) and never holds the others up. A hub sends at most one message per
// push interval: the first change after a quiet interval goes out at once, later ones wait for
// the interval's end and go out as one message holding the state read then (the last state is
// always sent). Timers at the sale's start and end send the opening and the end.
//
// Changes travel through the store for the strategies replicas share (inventory.Notifier:
// Redis pub/sub, PostgreSQL LISTEN/NOTIFY): a replica's purchases, cancels, expiries and
// resets mark the SKU, and one goroutine publishes the marked SKUs, at most once per push
// interval, off the requests' path; every replica's hub hears the change, reads the counts
// from the store and sends. The in-process strategies wake their hub directly.
//
// seq is 3 × the SKU's change number (counted in the store, so every replica numbers a change
// alike) + the phase of the sale window (0 before starts_at, 1 during, 2 after ends_at): it
// never decreases, and replicas send the same seq for the same change and phase, which lets a
// client measure one message's fan-out spread across replicas.

// DefaultPushInterval is the least time between two messages of one SKU's feed.
var DefaultPushInterval = 10 * time.Millisecond

// pushWriteTimeout cuts a subscriber that cannot take one message in this long.
const pushWriteTimeout = 10 * time.Second

// feedState is a SKU's state as its feed names it.
type feedState uint8

const (
	stWaiting feedState = iota
	stOpen
	stSoldOut
	stEnded
)

var feedStateNames = [...]string{"waiting", "open", "sold_out", "ended"}

func (s feedState) String() string { return feedStateNames[s] }

// phase of the sale window at now: 0 before starts_at, 1 during, 2 from ends_at on.
func (k *sku) phase(now time.Time) int64 {
	switch {
	case !k.starts.IsZero() && now.Before(k.starts):
		return 0
	case !k.ends.IsZero() && !now.Before(k.ends):
		return 2
	}
	return 1
}

// boundary is the next instant the phase changes after now (zero: none).
func (k *sku) boundary(now time.Time) time.Time {
	switch k.phase(now) {
	case 0:
		return k.starts
	case 1:
		return k.ends
	}
	return time.Time{}
}

// pushMsg is one message of a feed, encoded once for every subscriber.
type pushMsg struct {
	seq       int64
	state     feedState
	available int64
	json      []byte
	sse       []byte                     // id, event and data lines
	ws        *websocket.PreparedMessage // nil for a welcome (written as a plain message)
}

// encodePush renders a message; ws prepares the WebSocket frame once for every connection.
func encodePush(name string, seq int64, st feedState, available int64, now time.Time, ws bool) *pushMsg {
	b := make([]byte, 0, 96+len(name))
	b = append(b, '{')
	b = fStr(b, "sku", name)
	b = fStr(b, "state", st.String())
	b = fInt(b, "available", available)
	b = fInt(b, "seq", seq)
	b = fInt(b, "sent_at_ns", now.UnixNano())
	b = append(b, '}')
	sse := make([]byte, 0, len(b)+48)
	sse = strconv.AppendInt(append(sse, "id: "...), seq, 10)
	sse = append(append(append(sse, "\nevent: stock\ndata: "...), b...), "\n\n"...)
	m := &pushMsg{seq: seq, state: st, available: available, json: b, sse: sse}
	if ws {
		m.ws, _ = websocket.NewPreparedMessage(websocket.TextMessage, b) // fails only for bad types
	}
	return m
}

// topic is what a process knows of one SKU's changes; it outlives the SKU's hubs.
type topic struct {
	name    string
	changes atomic.Int64 // the SKU's change number: the store's (max heard), or counted here
	dirty   atomic.Bool  // a local change not yet published (store strategies)
	hub     atomic.Pointer[hub]
}

// raise sets the change number to n if that is higher.
func (t *topic) raise(n int64) {
	for {
		c := t.changes.Load()
		if n <= c || t.changes.CompareAndSwap(c, n) {
			return
		}
	}
}

// subscriber is one feed connection. wake holds at most one signal: the latest message is
// in the hub, so a subscriber that has not caught up misses nothing but stale states.
type subscriber struct {
	wake chan struct{}
	idx  int // in hub.subs, under hub.mu
}

func poke(c chan struct{}) bool {
	select {
	case c <- struct{}{}:
		return true
	default:
		return false
	}
}

// hub builds and fans out one SKU's messages in this process.
type hub struct {
	p      *pusher
	t      *topic
	wake   chan struct{} // something may have changed
	latest atomic.Pointer[pushMsg]
	cancel context.CancelFunc

	mu   sync.Mutex
	subs []*subscriber
}

// pusher owns a server's topics, hubs and the store's notifications.
type pusher struct {
	s        *Server
	interval time.Duration
	off      bool               // Options.PushOff: no change is signalled
	notifier inventory.Notifier // nil: the in-process strategies
	upgrader websocket.FastHTTPUpgrader
	pubWake  chan struct{}

	mu     sync.Mutex
	topics map[string]*topic

	subsWS, subsSSE     atomic.Int64
	messages, skipped   atomic.Int64
	publishes, pubFails atomic.Int64
}

func newPusher(s *Server) *pusher {
	p := &pusher{s: s, interval: s.opts.PushInterval, off: s.opts.PushOff,
		pubWake: make(chan struct{}, 1), topics: map[string]*topic{}}
	p.upgrader = websocket.FastHTTPUpgrader{
		ReadBufferSize:  256, // subscribers send nothing but control frames
		WriteBufferPool: &sync.Pool{},
		// The feed is public data: pages of any origin may subscribe.
		CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
	}
	if n, ok := s.inv.(inventory.Notifier); ok && !p.off {
		p.notifier = n
	}
	return p
}

// start runs the publisher and the listener of the store's notifications (store strategies).
func (p *pusher) start() {
	if p.notifier == nil {
		return
	}
	p.s.reaper.Add(2)
	go func() {
		defer p.s.reaper.Done()
		p.publish(p.s.ctx)
	}()
	go func() {
		defer p.s.reaper.Done()
		_ = p.notifier.Listen(p.s.ctx, p.heard)
	}()
}

// topicOf returns the topic of a SKU, creating it.
func (p *pusher) topicOf(name string) *topic {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.topicLocked(name)
}

func (p *pusher) topicLocked(name string) *topic {
	t := p.topics[name]
	if t == nil {
		t = &topic{name: name}
		p.topics[name] = t
	}
	return t
}

// changed signals a change of k made by this process (a purchase, a cancel, an expiry, a
// reset). On the purchase path it costs a load of the SKU's topic and at most one CAS.
func (p *pusher) changed(k *sku) {
	if p.off {
		return
	}
	t := k.topic.Load()
	if t == nil {
		t = p.topicOf(k.name)
		k.topic.Store(t)
	}
	if p.notifier == nil {
		t.changes.Add(1)
		if h := t.hub.Load(); h != nil {
			poke(h.wake)
		}
		return
	}
	if !t.dirty.Load() && t.dirty.CompareAndSwap(false, true) {
		poke(p.pubWake)
	}
}

// changedName is changed for a SKU known by name.
func (p *pusher) changedName(name string) {
	if k := p.s.sku([]byte(name)); k != nil {
		p.changed(k)
	}
}

// changedAll signals a change of every SKU (an expiry sweep released some units).
func (p *pusher) changedAll() {
	for _, k := range p.s.skuList() {
		p.changed(k)
	}
}

// refreshed wakes the hubs of SKUs whose rules this process just reloaded (a reset made on
// another replica moves the sale window: the phase timers follow).
func (p *pusher) refreshed(names []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range names {
		if t := p.topics[n]; t != nil {
			if h := t.hub.Load(); h != nil {
				poke(h.wake)
			}
		}
	}
}

// publish sends the marked SKUs' changes through the store, at most once per interval.
func (p *pusher) publish(ctx context.Context) {
	var last time.Time
	backoff := p.interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.pubWake:
		}
		if !sleepUntil(ctx, last.Add(p.interval)) {
			return
		}
		var names []string
		p.mu.Lock()
		for name, t := range p.topics {
			if t.dirty.Swap(false) {
				names = append(names, name)
			}
		}
		p.mu.Unlock()
		if len(names) == 0 {
			continue
		}
		last = time.Now()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := p.notifier.Notify(cctx, names)
		cancel()
		if err != nil {
			// The store is down: mark them again and retry, backing off up to a second.
			p.pubFails.Add(1)
			for _, n := range names {
				p.topicOf(n).dirty.Store(true)
			}
			last = last.Add(backoff)
			backoff = min(2*backoff, time.Second)
			poke(p.pubWake)
			continue
		}
		backoff = p.interval
		p.publishes.Add(int64(len(names)))
	}
}

// heard is the listener's callback: a change published by any replica (this one included).
func (p *pusher) heard(name string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if name == "" { // (re)subscribed: changes may have been missed; each message reads the number
		for _, t := range p.topics {
			if h := t.hub.Load(); h != nil {
				poke(h.wake)
			}
		}
		return
	}
	t := p.topics[name]
	if t == nil {
		return // no subscriber here ever: a hub reads the number when it starts
	}
	t.raise(n)
	if h := t.hub.Load(); h != nil {
		poke(h.wake)
	}
}

// subscribe adds a subscriber to the SKU's hub, starting the hub if it has none.
func (p *pusher) subscribe(name string, ws bool) (*hub, *subscriber) {
	sub := &subscriber{wake: make(chan struct{}, 1)}
	p.mu.Lock()
	t := p.topicLocked(name)
	h := t.hub.Load()
	if h == nil {
		ctx, cancel := context.WithCancel(p.s.ctx)
		h = &hub{p: p, t: t, wake: make(chan struct{}, 1), cancel: cancel}
		t.hub.Store(h)
		poke(h.wake)
		go h.run(ctx)
	}
	h.mu.Lock()
	sub.idx = len(h.subs)
	h.subs = append(h.subs, sub)
	h.mu.Unlock()
	p.mu.Unlock()
	if ws {
		p.subsWS.Add(1)
	} else {
		p.subsSSE.Add(1)
	}
	if h.latest.Load() != nil {
		poke(sub.wake)
	}
	return h, sub
}

// unsubscribe removes a subscriber; the last one stops the hub.
func (p *pusher) unsubscribe(h *hub, sub *subscriber, ws bool) {
	if ws {
		p.subsWS.Add(-1)
	} else {
		p.subsSSE.Add(-1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h.mu.Lock()
	last := len(h.subs) - 1
	moved := h.subs[last]
	h.subs[sub.idx], moved.idx = moved, sub.idx
	h.subs[last] = nil
	h.subs = h.subs[:last]
	empty := last == 0
	h.mu.Unlock()
	if empty {
		h.t.hub.CompareAndSwap(h, nil)
		h.cancel()
	}
}

// feed runs one subscriber until write fails, stop closes or the server shuts down: first the
// current state, stamped with its own send time, then the latest state whenever a new
// message is out. ping, when set, runs every keepalive.
func (p *pusher) feed(h *hub, sub *subscriber, stop <-chan struct{}, keepalive time.Duration,
	write func(*pushMsg) error, ping func() error) {
	var tick <-chan time.Time
	if ping != nil && keepalive > 0 {
		t := time.NewTicker(keepalive)
		defer t.Stop()
		tick = t.C
	}
	var last *pushMsg
	for {
		select {
		case <-sub.wake:
			m := h.latest.Load()
			if m == nil || m == last {
				continue
			}
			out := m
			if last == nil {
				out = encodePush(h.t.name, m.seq, m.state, m.available, time.Now(), false)
			}
			if err := write(out); err != nil {
				return
			}
			last = m
		case <-tick:
			if err := ping(); err != nil {
				return
			}
		case <-stop:
			return
		case <-p.s.done:
			return
		}
	}
}

// run is the hub's loop: wait for a change or a phase boundary, keep to the interval, read
// the state, and fan the message out when it differs from the last one sent.
func (h *hub) run(ctx context.Context) {
	var last time.Time
	var sent *pushMsg
	backoff := h.p.interval
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var due <-chan time.Time
		if k := h.p.s.sku([]byte(h.t.name)); k != nil {
			if b := k.boundary(time.Now()); !b.IsZero() {
				timer.Reset(time.Until(b))
				due = timer.C
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-due:
		}
		timer.Stop()
		if !sleepUntil(ctx, last.Add(h.p.interval)) {
			return
		}
		m, err := h.build(ctx)
		if err != nil { // the store is down: try again, backing off up to a second
			last = time.Now().Add(backoff)
			backoff = min(2*backoff, time.Second)
			poke(h.wake)
			continue
		}
		backoff = h.p.interval
		if sent != nil && m.seq == sent.seq && m.state == sent.state && m.available == sent.available {
			continue
		}
		h.broadcast(m)
		sent, last = m, time.Now()
	}
}

// build reads the SKU's state and encodes its message.
func (h *hub) build(ctx context.Context) (*pushMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	k, err := h.p.s.lookup([]byte(h.t.name))
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, inventory.ErrUnknownSKU
	}
	// The store's change number first, then the counts: a change committed in between shows
	// its counts under the older number, and its own notification brings the next message
	// with the newer number. Reading the number every time (not only the notifications')
	// keeps replicas numbering alike after a notification missed while a replica started or
	// lost its subscription.
	if h.p.notifier != nil {
		n, err := h.p.notifier.Changes(ctx, h.t.name)
		if err != nil {
			return nil, err
		}
		h.t.raise(n)
	}
	changes := h.t.changes.Load()
	c, err := h.p.s.inv.Counts(ctx, h.t.name)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ph := k.phase(now)
	st := stOpen
	switch {
	case ph == 0:
		st = stWaiting
	case ph == 2:
		st = stEnded
	case c.Available <= 0:
		st = stSoldOut
	}
	return encodePush(h.t.name, 3*changes+ph, st, c.Available, now, true), nil
}

// broadcast makes m the latest message and wakes every subscriber.
func (h *hub) broadcast(m *pushMsg) {
	h.latest.Store(m)
	var skipped int64
	h.mu.Lock()
	for _, s := range h.subs {
		if !poke(s.wake) {
			skipped++ // still busy with an earlier message: it will write m, not the one between
		}
	}
	h.mu.Unlock()
	h.p.messages.Add(1)
	h.p.skipped.Add(skipped)
}

// sleepUntil waits until t (at once when it is past); false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// collectors are the feeds' Prometheus metrics.
func (p *pusher) collectors() []prometheus.Collector {
	subs := prometheus.NewDesc("flashload_target_push_subscribers", "Feed connections open now, by transport.", []string{"via"}, nil)
	return []prometheus.Collector{
		pushSubs{desc: subs, ws: &p.subsWS, sse: &p.subsSSE},
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "flashload_target_push_messages_total",
			Help: "Feed messages fanned out (one per SKU change sent, whatever the subscribers)."},
			func() float64 { return float64(p.messages.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "flashload_target_push_skipped_total",
			Help: "Messages a subscriber skipped because it was still writing an earlier one (it got a later state)."},
			func() float64 { return float64(p.skipped.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "flashload_target_push_publishes_total",
			Help: "SKU changes this replica published through the store."},
			func() float64 { return float64(p.publishes.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "flashload_target_push_publish_failures_total",
			Help: "Publishes through the store that failed (retried)."},
			func() float64 { return float64(p.pubFails.Load()) }),
	}
}

// pushSubs reports the subscriber gauges at scrape time.
type pushSubs struct {
	desc    *prometheus.Desc
	ws, sse *atomic.Int64
}

func (c pushSubs) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c pushSubs) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.ws.Load()), "ws")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.sse.Load()), "sse")
}
