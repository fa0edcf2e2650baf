// Package target is flashload's reference flash-sale service: a fasthttp server with the HTTP
// API (SKUs, purchase, orders, group-buy, server-sent events, admin, audit,
// Prometheus metrics) over an interchangeable inventory strategy (target/inventory).
//
// Requests enter through Serve(ln); stock and orders live in the strategy, so the audit
// endpoint reads the same place purchases write. Pricing rules are pure functions
// (pricing.go). Overload protection sheds non-core routes (views, events) before purchases.
// Shutdown stops accepting, drains in-flight requests and keeps every acknowledged order.
package target

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/flashload/flashload/internal/codes"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/dist"
	"github.com/flashload/flashload/target/inventory"
)

// Defaults used by New for zero Options fields and by `flashload serve`'s flags.
var (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultStrategy       = "memory"
	DefaultRedisURL       = "redis://127.0.0.1:6379/0"
	DefaultRedisPrefix    = inventory.DefaultRedisPrefix
	DefaultReservationTTL = inventory.DefaultTTL
	DefaultShards         = inventory.DefaultShards
	DefaultEventInterval  = 15 * time.Second
	DefaultMaxInflight    = 0 // 0: no limit
	DefaultMaxRPS         = 0.0
)

// Limits on client input.
const (
	MaxBodyBytes = 64 << 10
	MaxIDBytes   = 128 // X-User-Id, Idempotency-Key, group ids and coupons
)

// Options configure a Server. Zero values take the Default* values.
type Options struct {
	Addr           string // only read by `serve`; Serve takes a listener
	Strategy       string // an inventory.Names entry
	RedisURL       string // redis-* strategies
	RedisPrefix    string // key prefix in Redis
	PostgresURL    string // pg-row, pg-occ, tcc
	AdminToken     string // "" generates one (AdminToken returns it)
	ReservationTTL time.Duration
	MaxInflight    int     // in-flight requests above which purchases get 503 SHED; views shed at half
	MaxRPS         float64 // token bucket: 429 RATE_LIMITED; views need the bucket half full
	Shards         int     // sharded, redis-sharded
	// EventInterval is the SSE feed's keep-alive: a comment line after this long without a
	// message, so a subscriber that went away is noticed (a write fails).
	EventInterval time.Duration
	// PushInterval is the least time between two messages of a SKU's feed (push.go); PushOff
	// signals no change at all (no publishes through the store), which leaves feeds with the
	// state at connect, the opening and the end: the baseline of what pushing costs.
	PushInterval time.Duration
	PushOff      bool
	// Workers > 0 gives the service a known capacity: every business request holds one of
	// Workers slots for a time drawn from Work, waiting first come, first served (work.go).
	Workers int
	Work    dist.Spec

	// redis-lock: the lock's TTL, and a hold inside its critical section (tests of the TTL
	// pitfall; 0 in production). A stall fault also holds the section.
	LockTTL  time.Duration
	LockHold time.Duration
	// redis-mq: consumers per replica and the idle time after which a dead consumer's
	// messages are claimed (0: the inventory defaults).
	Consumers int
	ClaimIdle time.Duration
	// RedisWait: redis-decr, redis-lua and redis-sharded WAIT for this many replicas after each
	// purchase's writes (inventory.Config.RedisWait); 0: no WAIT.
	RedisWait int
	// ReplicaID names this replica on every answer (ReplicaHeader), so a client can count the
	// load each replica of a service took; "": DefaultReplicaID (the host name, which is the
	// pod's name on Kubernetes).
	ReplicaID string
}

// ReplicaHeader is the header in which every answer names the replica that gave it.
const ReplicaHeader = codes.ReplicaHeader

// DefaultReplicaID is the replica's name when Options.ReplicaID is empty: the host name (a
// pod's name on Kubernetes), or "flashload" when the system has none. Processes that share a
// host (a local fleet) are told apart with --replica-id.
func DefaultReplicaID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "flashload"
}

func (o *Options) defaults() {
	if o.Strategy == "" {
		o.Strategy = DefaultStrategy
	}
	if o.RedisURL == "" {
		o.RedisURL = DefaultRedisURL
	}
	if o.RedisPrefix == "" {
		o.RedisPrefix = DefaultRedisPrefix
	}
	if o.ReservationTTL <= 0 {
		o.ReservationTTL = DefaultReservationTTL
	}
	if o.Shards <= 0 {
		o.Shards = DefaultShards
	}
	if o.EventInterval <= 0 {
		o.EventInterval = DefaultEventInterval
	}
	if o.ReplicaID == "" {
		o.ReplicaID = DefaultReplicaID()
	}
	if o.PushInterval <= 0 {
		o.PushInterval = DefaultPushInterval
	}
}

// Server is the flash-sale service.
type Server struct {
	opts    Options
	inv     inventory.Strategy
	token   []byte
	hs      *fasthttp.Server
	metrics *metrics
	limiter *limiter
	faults  atomic.Pointer[faultState]
	// consumerFault numbers POST /admin/faults, so a consumer kill's timed restart only fires
	// while it is still the current fault.
	consumerFault atomic.Int64
	guard         keyGuard

	skuMu  sync.Mutex
	skus   atomic.Pointer[map[string]*sku] // the catalog's rules, decoded (catalog.go)
	catVer atomic.Int64                    // catalog version skus was loaded at

	inflight   atomic.Int64
	replicaID  []byte     // Options.ReplicaID, as every answer's ReplicaHeader carries it
	work       *workSlots // nil without Options.Workers
	push       *pusher
	cacheViews bool
	ctx        context.Context // strategy calls and the reaper; cancelled by Close
	cancel     context.CancelFunc
	done       chan struct{} // closed by Shutdown: event streams end
	doneOnce   sync.Once
	reaper     sync.WaitGroup
}

// New builds a server and its inventory strategy (connecting to Redis for redis-* ones).
func New(ctx context.Context, opts Options) (*Server, error) {
	opts.defaults()
	if opts.Workers < 0 || opts.Workers > 0 && opts.Work.IsZero() || opts.Workers == 0 && !opts.Work.IsZero() {
		return nil, fmt.Errorf("workers %d with work %q: give both, or neither", opts.Workers, opts.Work)
	}
	s := &Server{done: make(chan struct{})}
	inv, err := inventory.New(ctx, inventory.Config{Name: opts.Strategy, RedisURL: opts.RedisURL,
		RedisPrefix: opts.RedisPrefix, PostgresURL: opts.PostgresURL, Shards: opts.Shards,
		LockTTL: opts.LockTTL, LockHold: opts.LockHold, Pause: s.stallPause,
		Consumers: opts.Consumers, ClaimIdle: opts.ClaimIdle, RedisWait: opts.RedisWait})
	if err != nil {
		return nil, err
	}
	if opts.AdminToken == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			inv.Close()
			return nil, fmt.Errorf("generating an admin token: %w", err)
		}
		opts.AdminToken = hex.EncodeToString(b[:])
	}
	if err := CheckReplicaID(opts.ReplicaID); err != nil {
		inv.Close()
		return nil, err
	}
	s.opts, s.inv, s.token = opts, inv, []byte("Bearer "+opts.AdminToken)
	s.replicaID = []byte(opts.ReplicaID)
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.cacheViews = inventory.Shared(opts.Strategy) // a store round trip per count: cache the views
	s.catVer.Store(-1)
	s.guard.init()
	if opts.MaxRPS > 0 {
		s.limiter = newLimiter(opts.MaxRPS, time.Now())
	}
	s.metrics = newMetrics(s)
	s.push = newPusher(s)
	s.metrics.reg.MustRegister(s.push.collectors()...)
	if opts.Workers > 0 {
		s.work = newWorkSlots(opts.Workers, opts.Work)
		s.metrics.reg.MustRegister(s.work.collectors()...)
	}
	s.hs = &fasthttp.Server{
		Handler:                       s.handle,
		ErrorHandler:                  s.errorHandler,
		Name:                          "flashload",
		MaxRequestBodySize:            MaxBodyBytes,
		IdleTimeout:                   60 * time.Second,
		ReadTimeout:                   60 * time.Second,
		NoDefaultContentType:          true,
		CloseOnShutdown:               true,
		KeepHijackedConns:             true,          // WebSocket feeds close their connections themselves (push_ws.go)
		Logger:                        quietLogger{}, // bad requests are answered (errorHandler), not logged
		DisableHeaderNamesNormalizing: false,
	}
	s.reaper.Add(2)
	go s.reap()
	go s.pollCatalog()
	s.push.start()
	return s, nil
}

// CheckReplicaID refuses a replica ID that cannot be a header value or a histogram tag: at
// most MaxIDBytes of printable ASCII without spaces, commas or '='.
func CheckReplicaID(id string) error {
	if len(id) > MaxIDBytes {
		return fmt.Errorf("replica id %q: at most %d bytes", id, MaxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == ',' || c == '=' {
			return fmt.Errorf("replica id %q: printable ASCII without spaces, commas or '='", id)
		}
	}
	return nil
}

// ReplicaID is the name every answer gives in ReplicaHeader.
func (s *Server) ReplicaID() string { return s.opts.ReplicaID }

// Serve answers requests on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error { return s.hs.Serve(ln) }

// AdminToken is the bearer token of the admin routes.
func (s *Server) AdminToken() string { return s.opts.AdminToken }

// Strategy names the inventory strategy in use.
func (s *Server) Strategy() string { return s.inv.Name() }

// Shutdown stops accepting, ends event streams, and waits for in-flight requests (each
// acknowledged order is already stored when its answer is written) until ctx is done.
// The inventory stays readable until Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.doneOnce.Do(func() { close(s.done) })
	err := s.hs.ShutdownWithContext(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: requests still in flight: %w", err)
	}
	return err
}

// Close stops everything at once: the listener, the expiry reaper and the strategy.
func (s *Server) Close() error {
	s.doneOnce.Do(func() { close(s.done) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = s.hs.ShutdownWithContext(ctx)
	s.cancel()
	s.reaper.Wait()
	return s.inv.Close()
}

// reap releases expired reservations.
func (s *Server) reap() {
	defer s.reaper.Done()
	t := time.NewTicker(inventory.SweepEvery(s.opts.ReservationTTL))
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			if n, err := s.inv.Expire(ctx, now); err == nil {
				s.metrics.reaped()
				if n > 0 {
					s.push.changedAll()
				}
			}
			cancel()
		}
	}
}

// sku is a SKU's rules as the server applies them (the stock lives in the strategy).
type sku struct {
	name      string
	list      float64
	cost      float64
	stock     int64
	limit     int64
	starts    time.Time
	ends      time.Time
	created   time.Time
	ladder    *Ladder
	firstN    int64
	startsStr string
	endsStr   string
	def       []byte // as stored in the catalog

	topic atomic.Pointer[topic] // its push feeds' topic, cached (push.go)

	// The views' cache of the stock figures (Redis strategies only, see viewCounts).
	cached     atomic.Pointer[cachedCounts]
	refreshing atomic.Bool
}

type cachedCounts struct {
	c  inventory.Counts
	at time.Time
}

// ViewCacheTTL is how stale the stock shown by views and events may be on the Redis
// strategies: at most one Counts round trip per SKU per TTL, whatever the view rate (the
// cache in front of the inventory that flash-sale designs put before the stock). In-process strategies read live counts, which
// costs less than the cache.
const ViewCacheTTL = 100 * time.Millisecond

// viewCounts answers the stock figures for views and events.
func (s *Server) viewCounts(k *sku, now time.Time) (inventory.Counts, error) {
	if !s.cacheViews {
		return s.inv.Counts(s.ctx, k.name)
	}
	cc := k.cached.Load()
	if cc != nil && now.Sub(cc.at) < ViewCacheTTL {
		return cc.c, nil
	}
	// One request refreshes; the others serve the stale figures meanwhile.
	if cc != nil && !k.refreshing.CompareAndSwap(false, true) {
		return cc.c, nil
	}
	c, err := s.inv.Counts(s.ctx, k.name)
	if cc != nil {
		k.refreshing.Store(false)
	}
	if err != nil {
		return c, err
	}
	k.cached.Store(&cachedCounts{c: c, at: now})
	return c, nil
}

func (s *Server) sku(name []byte) *sku {
	m := s.skus.Load()
	if m == nil {
		return nil
	}
	return (*m)[string(name)]
}

func (s *Server) putSKU(k *sku) *sku {
	s.skuMu.Lock()
	defer s.skuMu.Unlock()
	n := map[string]*sku{}
	if old := s.skus.Load(); old != nil {
		for name, v := range *old {
			n[name] = v
		}
	}
	n[k.name] = k
	s.skus.Store(&n)
	return k
}

func (s *Server) skuList() []*sku {
	m := s.skus.Load()
	if m == nil {
		return nil
	}
	out := make([]*sku, 0, len(*m))
	for _, v := range *m {
		out = append(out, v)
	}
	return out
}

// status of the sale at now.
func (k *sku) status(now time.Time, available int64) string {
	switch {
	case !k.starts.IsZero() && now.Before(k.starts):
		return "upcoming"
	case !k.ends.IsZero() && !now.Before(k.ends):
		return "ended"
	case available <= 0:
		return "sold_out"
	}
	return "on_sale"
}

// elapsed is the time on sale, for the ladder.
func (k *sku) elapsed(now time.Time) time.Duration {
	from := k.created
	if !k.starts.IsZero() {
		from = k.starts
	}
	return now.Sub(from)
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
