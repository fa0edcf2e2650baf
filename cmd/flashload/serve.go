package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/internal/dist"
	"github.com/flashload/flashload/target"
	"github.com/flashload/flashload/target/inventory"
)

func init() { register(newServeCmd) }

// serveOptions are `flashload serve`'s flags and streams.
type serveOptions struct {
	target.Options
	SKUs         []string // NAME:STOCK[:PRICE[:LIMIT]] created at start
	WorkDist     string   // --work DIST, parsed into Options.Work
	OrdersOut    string   // after the drain, every order as NDJSON to this file
	DrainTimeout time.Duration
	Out, Err     io.Writer
	// ready, when set, receives the listening address (tests).
	ready func(addr string)
}

// DefaultDrainTimeout bounds the graceful shutdown of `serve`.
const DefaultDrainTimeout = 10 * time.Second

func newServeCmd() *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference flash-sale target (fasthttp) with a chosen inventory strategy",
		Long: `serve runs flashload's reference flash-sale service: SKUs with ladder and first-N pricing,
purchases with idempotency keys and per-user limits, orders (reserved → paid, or released on
cancel or expiry), group-buy, live stock feeds pushed on change (WebSocket and server-sent
events, across replicas through the store), admin routes behind a bearer token, an audit
endpoint and Prometheus /metrics. The inventory strategy decides how stock is deducted:

  naive          read, check, write back: oversells under concurrency (on purpose) [one process]
  memory         one lock per SKU (atomic)                                         [one process]
  sharded        N in-process buckets with stealing                                [one process]
  redis-decr     DECRBY, INCRBY back when negative                                 [replicas]
  redis-lua      one preloaded Lua script: every check and the decrement, atomic   [replicas]
  redis-sharded  N Redis keys with distinct hash tags, probing when one is dry    [replicas]
  redis-lock     SET NX PX lock per SKU around read-check-write (--lock-ttl)     [replicas]
                 a holder stalled past the TTL lets a second one in: the audit shows it
  redis-mq       Lua gate XADDs the order to a Redis Stream; consumers persist it [replicas]
                 to PostgreSQL (--postgres), the book of record (--consumers)
  pg-row         PostgreSQL: conditional UPDATE of the stock row + order INSERT    [replicas]
  pg-occ         PostgreSQL: versioned read, write WHERE version, bounded retries  [replicas]
  tcc            PostgreSQL: Seata TCC Try/Confirm/Cancel with a fence table       [replicas]

naive, memory and sharded keep everything in this process: run one of them. The redis-*
strategies keep all state in Redis (SKU rules, stock, orders, reservations and their expiry,
idempotency keys, per-user counts, groups, coupons): any number of serve processes with the same
--redis and --redis-prefix are one service, and a restarted one serves at once. The pg-* and
tcc strategies do the same in PostgreSQL (--postgres postgres://USER@HOST:PORT/DB; one
database per service); redis-mq needs both, Redis for the catalogue and the purchase gate,
PostgreSQL for the orders.
--redis takes redis://HOST:PORT/DB, redis+cluster://H:P,H:P,... (Redis Cluster) or
redis+sentinel://H:P,H:P/MASTER[/DB] (a Sentinel-managed primary).

--workers N --work DIST gives the service a known capacity: every business request (views,
purchases, orders, groups; not health, metrics, admin or event streams) holds one of N slots for
a time drawn from DIST, its real work running inside, and waits first come, first served for a
free slot: an M/G/N queue whatever the machine's cores, which a scenario's model can describe
exactly (utilisation = flashload_target_work_busy / flashload_target_work_slots in /metrics).
DIST: exp:5ms (exponential, mean), const:5ms, lognormal:p50=4ms,p99=30ms.

Every answer names its replica in the ` + target.ReplicaHeader + ` header (--replica-id, default the
host name): run and rehearse count each replica's answers from it (summary requests.by_replica).

SIGTERM or Ctrl-C stops accepting, drains in-flight requests and prints the audit.`,
		Example: `  flashload serve --strategy memory --sku phone-x:1000:3999:1
  curl -s -XPOST -H 'X-User-Id: u1' localhost:8080/v1/skus/phone-x/purchase`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out, opts.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return serveRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", target.DefaultAddr, "listen address (host:port; port 0 picks a free one)")
	f.StringVar(&opts.Strategy, "strategy", target.DefaultStrategy, "inventory strategy: "+strings.Join(inventory.Names, "|"))
	f.StringVar(&opts.RedisURL, "redis", target.DefaultRedisURL, "Redis address of the redis-* strategies: redis://HOST:PORT/DB, redis+cluster://H:P,H:P,... or redis+sentinel://H:P,H:P/MASTER")
	f.StringVar(&opts.RedisPrefix, "redis-prefix", target.DefaultRedisPrefix, "prefix of every Redis key")
	f.IntVar(&opts.RedisWait, "redis-wait", 0, "redis-decr, redis-lua, redis-sharded: WAIT for N replicas after each purchase's writes; fewer within "+inventory.RedisWaitTimeout.String()+" answer 503 STORE_UNAVAILABLE (0: no WAIT)")
	f.StringVar(&opts.PostgresURL, "postgres", "", "PostgreSQL URL for pg-row, pg-occ, tcc and redis-mq (postgres://USER@HOST:PORT/DB)")
	f.DurationVar(&opts.LockTTL, "lock-ttl", inventory.DefaultLockTTL, "redis-lock: the lock's TTL (SET NX PX)")
	f.DurationVar(&opts.LockHold, "lock-hold", 0, "redis-lock: hold every lock this long inside the critical section (tests of the TTL pitfall)")
	f.IntVar(&opts.Consumers, "consumers", inventory.DefaultConsumers, "redis-mq: stream consumers in this replica")
	f.DurationVar(&opts.ClaimIdle, "claim-idle", inventory.DefaultClaimIdle, "redis-mq: idle time after which a dead consumer's pending messages are claimed (XAUTOCLAIM)")
	f.StringVar(&opts.AdminToken, "admin-token", "", "bearer token of the admin routes (default $FLASHLOAD_ADMIN_TOKEN, else generated and printed)")
	f.DurationVar(&opts.ReservationTTL, "reservation-ttl", target.DefaultReservationTTL, "how long a reservation waits for payment before its units are released")
	f.IntVar(&opts.MaxInflight, "max-inflight", target.DefaultMaxInflight, "in-flight requests above which purchases get 503 SHED (views at half); 0 = no limit")
	f.Float64Var(&opts.MaxRPS, "max-rps", target.DefaultMaxRPS, "requests per second above which answers are 429 RATE_LIMITED (views first); 0 = no limit")
	f.IntVar(&opts.Shards, "shards", target.DefaultShards, "buckets of the sharded strategies")
	f.DurationVar(&opts.EventInterval, "event-interval", target.DefaultEventInterval, "SSE feeds: a keep-alive comment this often, so gone subscribers are noticed")
	f.DurationVar(&opts.PushInterval, "push-interval", target.DefaultPushInterval, "least time between two messages of a SKU's feed (/ws and /events push on change); 0: signal no changes (no publishes through the store: the cost baseline)")
	f.StringArrayVar(&opts.SKUs, "sku", nil, "create a SKU at start: NAME:STOCK[:PRICE[:LIMIT]] (repeatable)")
	f.StringVar(&opts.OrdersOut, "orders-out", "", "after the drain, write every order (NDJSON, as GET /admin/orders) to this file")
	f.DurationVar(&opts.DrainTimeout, "drain-timeout", DefaultDrainTimeout, "how long SIGTERM waits for in-flight requests")
	f.IntVar(&opts.Workers, "workers", 0, "work slots: each business request holds one for a --work time, waiting FIFO (0: no slots)")
	f.StringVar(&opts.WorkDist, "work", "", "time a request holds its slot: exp:5ms, const:5ms or lognormal:p50=4ms,p99=30ms (with --workers)")
	f.StringVar(&opts.ReplicaID, "replica-id", "", "the name every answer gives in "+target.ReplicaHeader+", so clients count each replica's load (default: the host name, a pod's name on Kubernetes)")
	return cmd
}

// parseSKUFlag reads NAME:STOCK[:PRICE[:LIMIT]].
func parseSKUFlag(v string) (target.SKUConfig, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 4 {
		return target.SKUConfig{}, fmt.Errorf("--sku %q: want NAME:STOCK[:PRICE[:LIMIT]]", v)
	}
	c := target.SKUConfig{SKU: parts[0], Price: 100}
	var err error
	if c.Stock, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return c, fmt.Errorf("--sku %q: stock: %w", v, err)
	}
	if len(parts) > 2 {
		if c.Price, err = strconv.ParseFloat(parts[2], 64); err != nil {
			return c, fmt.Errorf("--sku %q: price: %w", v, err)
		}
	}
	if len(parts) > 3 {
		if c.LimitPerUser, err = strconv.ParseInt(parts[3], 10, 64); err != nil {
			return c, fmt.Errorf("--sku %q: limit: %w", v, err)
		}
	}
	return c, nil
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	if !slices.Contains(inventory.Names, opts.Strategy) {
		return usageErr(fmt.Errorf("unknown --strategy %q (want one of %s)", opts.Strategy, strings.Join(inventory.Names, ", ")))
	}
	if opts.WorkDist != "" {
		w, err := dist.Parse(opts.WorkDist)
		if err != nil {
			return usageErr(fmt.Errorf("--work: %w", err))
		}
		opts.Work = w
	}
	if opts.PushInterval < 0 {
		return usageErr(errors.New("--push-interval must be ≥ 0"))
	}
	opts.PushOff = opts.PushInterval == 0
	if opts.Workers < 0 || (opts.Workers > 0) != !opts.Work.IsZero() {
		return usageErr(errors.New("--workers N and --work DIST go together (N ≥ 1)"))
	}
	if err := target.CheckReplicaID(opts.ReplicaID); err != nil {
		return usageErr(fmt.Errorf("--replica-id: %w", err))
	}
	var skus []target.SKUConfig
	for _, v := range opts.SKUs {
		c, err := parseSKUFlag(v)
		if err != nil {
			return usageErr(err)
		}
		skus = append(skus, c)
	}
	generated := false
	if opts.AdminToken == "" {
		opts.AdminToken = os.Getenv("FLASHLOAD_ADMIN_TOKEN")
		generated = opts.AdminToken == ""
	}
	srv, err := target.New(ctx, opts.Options)
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, c := range skus {
		if err := srv.ConfigureSKU(ctx, c); err != nil {
			return usageErr(err)
		}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	fmt.Fprintf(opts.Err, "flashload serve: listening on http://%s (strategy %s)\n", addr, srv.Strategy())
	if generated {
		fmt.Fprintf(opts.Err, "flashload serve: admin token %s (set --admin-token or FLASHLOAD_ADMIN_TOKEN to choose it)\n", srv.AdminToken())
	}
	if opts.ready != nil {
		opts.ready(addr)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintf(opts.Err, "flashload serve: draining (up to %s)\n", opts.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), opts.DrainTimeout)
	defer cancel()
	shutErr := srv.Shutdown(dctx)
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		shutErr = errors.Join(shutErr, err)
	}
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	for _, name := range srv.SKUs() {
		a, err := srv.Audit(actx, name)
		if err != nil {
			fmt.Fprintf(opts.Err, "flashload serve: audit %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(opts.Out, "audit %s: stock=%d available=%d reserved=%d paid=%d released=%d sold=%d oversold=%d orders=%d duplicates=%d\n",
			name, a.Stock, a.Available, a.Reserved, a.Paid, a.Released, a.Sold, a.Oversold, a.Orders, a.Duplicates)
	}
	if opts.OrdersOut != "" {
		if err := writeOrdersFile(actx, srv, opts.OrdersOut); err != nil {
			shutErr = errors.Join(shutErr, err)
		} else {
			fmt.Fprintf(opts.Err, "flashload serve: orders written to %s\n", opts.OrdersOut)
		}
	}
	return shutErr
}

func writeOrdersFile(ctx context.Context, srv *target.Server, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := srv.WriteOrders(ctx, w); err != nil {
		f.Close()
		return fmt.Errorf("writing orders to %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
