package inventory

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// combiner sends the reserve scripts of concurrent purchases to Redis in shared pipelines with
// no goroutine of its own (flat combining): the caller that finds no batch running leads; it
// takes every command queued so far, runs them as one pipeline and wakes their callers; a
// command queued meanwhile waits, and the first of them leads the next batch. A purchase so
// costs one park and one wake-up of its own goroutine, and a batch one pipeline (a write and
// its reads) — go-redis's autopipeliner wakes its flusher goroutine on every command queued
// and waits for more behind timers, which costs the target more CPU per purchase than the
// pipeline itself. Batches run one at a time, so they grow with the load: everything that
// arrives during one round trip goes in the next.
//
// The leader's context runs the whole batch; the purchase path passes the server's.
type combiner struct {
	pipe redis.Pipeliner // used by the leader only

	mu    sync.Mutex
	q     []*combCall // waiting for the next batch
	spare []*combCall // the last batch's slice, reused
	busy  bool        // a leader is running a batch
}

type combCall struct {
	cmd  redis.Cmder
	wake chan bool // one value per call: true = lead the next batch, false = done
}

var combCalls = sync.Pool{New: func() any { return &combCall{wake: make(chan bool, 1)} }}

func newCombiner(rdb redis.UniversalClient) *combiner {
	return &combiner{pipe: rdb.Pipeline()}
}

// Process runs cmd in a shared pipeline and returns its error.
func (c *combiner) Process(ctx context.Context, cmd redis.Cmder) error {
	cl := combCalls.Get().(*combCall)
	cl.cmd = cmd
	c.mu.Lock()
	c.q = append(c.q, cl)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !lead {
		lead = <-cl.wake
	}
	if lead {
		c.lead(ctx, cl)
	}
	cl.cmd = nil
	combCalls.Put(cl)
	return cmd.Err()
}

// lead runs the queued commands (self's among them) as one pipeline, wakes their callers and
// hands the lead to the first command queued meanwhile.
func (c *combiner) lead(ctx context.Context, self *combCall) {
	c.mu.Lock()
	batch := c.q
	c.q = c.spare[:0]
	c.mu.Unlock()
	for _, b := range batch {
		_ = c.pipe.Process(ctx, b.cmd)
	}
	// Every command carries its own answer or error; Exec's is the first of them.
	_, _ = c.pipe.Exec(ctx)
	for _, b := range batch {
		if b != self {
			b.wake <- false
		}
	}
	clear(batch)
	c.mu.Lock()
	c.spare = batch[:0]
	var next *combCall
	if len(c.q) > 0 {
		next = c.q[0]
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	if next != nil {
		next.wake <- true
	}
}

// appendReserveArgv appends the reserve script's ARGV (see reserveLua) to dst. The numbers go
// as numbers: go-redis writes them as FormatUint and FormatFloat(f, 'f', -1, 64) would.
func appendReserveArgv(dst []any, r Request, a reserveArgs, mode, uk string, home int) []any {
	return append(dst, mode, r.User, r.Qty, uk, r.FP, r.Now.UnixMilli(), r.Now.Add(r.TTL).UnixMilli(),
		r.UnitPrice, r.Group, r.Coupon, a.idp, home, r.Key)
}

// reserveCombined runs the reserve script through the combiner: EVALSHA, and EVAL when the
// server lost its scripts (a restart), as Script.Run does.
func (s *redisStrategy) reserveCombined(ctx context.Context, r Request, a reserveArgs, mode, uk string, home int) ([]string, error) {
	args := make([]any, 0, 3+len(a.keys)+13)
	args = append(args, "evalsha", s.reserveSHA, len(a.keys))
	args = appendReserveArgv(append(args, a.keys...), r, a, mode, uk, home)
	cmd := redis.NewStringSliceCmd(ctx, args...)
	err := s.comb.Process(ctx, cmd)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return reserveScript.Eval(ctx, s.rdb, s.keys(r.SKU, a.bucket), appendReserveArgv(nil, r, a, mode, uk, home)...).StringSlice()
	}
	return cmd.Val(), err
}

// reserveArgs are the parts of a reserve call that are the same for every purchase of a SKU's
// bucket: its keys, already in interface values (go-redis takes arguments as []any, and boxing
// eight strings per purchase costs eight allocations), and the order id prefix.
type reserveArgs struct {
	keys   []any
	idp    string
	bucket int
}

// argCache holds reserveArgs by SKU, one per bucket; copied on write, as SKUs are few and
// read on every purchase.
type argCache struct {
	m atomic.Pointer[map[string][]reserveArgs]
}

// maxCachedSKUs bounds the cache; past it a SKU's arguments are built per call.
const maxCachedSKUs = 4096

func (a *argCache) get(s *redisStrategy, sku string, b int) reserveArgs {
	if m := a.m.Load(); m != nil {
		if v, ok := (*m)[sku]; ok {
			return v[b]
		}
	}
	v := make([]reserveArgs, s.n)
	for i := range v {
		ks := s.keys(sku, i)
		boxed := make([]any, len(ks))
		for j, k := range ks {
			boxed[j] = k
		}
		v[i] = reserveArgs{keys: boxed, idp: sku + "." + strconv.Itoa(i) + ".", bucket: i}
	}
	old := a.m.Load()
	if old == nil || len(*old) < maxCachedSKUs {
		var m map[string][]reserveArgs
		if old != nil {
			m = maps.Clone(*old)
		} else {
			m = map[string][]reserveArgs{}
		}
		m[sku] = v
		// A lost race drops another SKU's entry, which is built again on its next call.
		a.m.CompareAndSwap(old, &m)
	}
	return v[b]
}
