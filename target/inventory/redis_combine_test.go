package inventory

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// pipelineCounter counts the pipelines of INCRBY a client runs and the INCRBY in them (the
// client's own pipelines, such as a new connection's handshake, are not counted).
type pipelineCounter struct{ pipes, cmds atomic.Int64 }

func (p *pipelineCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (p *pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (p *pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n := 0
		for _, c := range cmds {
			if c.Name() == "incrby" {
				n++
			}
		}
		if n > 0 {
			p.pipes.Add(1)
			p.cmds.Add(int64(n))
		}
		return next(ctx, cmds)
	}
}

// TestCombinerSharesPipelines: 64 goroutines each increment their own key 50 times through one
// combiner. Every caller must get its own answer (1, 2, ... in its order), every command must
// run once, and concurrent commands must share pipelines (far fewer pipelines than commands).
func TestCombinerSharesPipelines(t *testing.T) {
	ctx := context.Background()
	rs := newStrategy(t, "redis-lua").(*redisStrategy)
	var count pipelineCounter
	rdb := redis.NewClient(&redis.Options{Addr: rs.addr.Addrs[0]})
	defer rdb.Close()
	rdb.AddHook(&count)
	c := newCombiner(rdb)
	const callers, each = 64, 50
	prefix := rs.prefix + ":comb:"
	errs := make(chan string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			key := prefix + strconv.Itoa(i)
			for j := 1; j <= each; j++ {
				cmd := redis.NewIntCmd(ctx, "incrby", key, 1)
				if err := c.Process(ctx, cmd); err != nil {
					errs <- err.Error()
					return
				}
				if cmd.Val() != int64(j) {
					errs <- key + ": answer " + strconv.FormatInt(cmd.Val(), 10) + ", want " + strconv.Itoa(j)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i := range callers {
		if v, err := rdb.Get(ctx, prefix+strconv.Itoa(i)).Int(); err != nil || v != each {
			t.Errorf("key %d: %d (%v), want %d", i, v, err, each)
		}
	}
	if n := count.cmds.Load(); n != callers*each {
		t.Errorf("%d commands ran in pipelines, want %d", n, callers*each)
	}
	if p := count.pipes.Load(); p > callers*each/2 {
		t.Errorf("%d pipelines for %d commands: concurrent commands do not share them", p, callers*each)
	}
}

// TestCombinerLeadsOneAtATime: a batch runs only after the one before it returned (the next
// leader is woken by the last), so commands of one caller keep their order, and a caller
// whose command waits in the queue is still answered when no other caller comes after it.
func TestCombinerLeadsOneAtATime(t *testing.T) {
	ctx := context.Background()
	rs := newStrategy(t, "redis-lua").(*redisStrategy)
	c := newCombiner(rs.rdb)
	key := rs.prefix + ":comb:slow"
	// A slow command holds the lead while others queue behind it.
	slow := redis.NewCmd(ctx, "eval", "local t = redis.call('TIME') local e = t[1]*1e6 + t[2] + 30000 "+
		"repeat t = redis.call('TIME') until t[1]*1e6 + t[2] >= e return redis.call('INCR', KEYS[1])", 1, key)
	done := make(chan error, 1)
	go func() { done <- c.Process(ctx, slow) }()
	time.Sleep(10 * time.Millisecond)
	var wg sync.WaitGroup
	got := make([]int64, 8)
	for i := range got {
		wg.Go(func() {
			cmd := redis.NewIntCmd(ctx, "incr", key)
			if err := c.Process(ctx, cmd); err != nil {
				t.Error(err)
			}
			got[i] = cmd.Val()
		})
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, _ := slow.Int64(); v != 1 {
		t.Errorf("the slow command answered %d, want 1 (it ran first)", v)
	}
	for i, v := range got {
		if v < 2 || v > int64(len(got))+1 {
			t.Errorf("caller %d: %d, want 2..%d", i, v, len(got)+1)
		}
	}
}

// TestReserveAfterScriptFlush: a Redis that lost its scripts (a restart, SCRIPT FLUSH) still
// takes purchases: the combined EVALSHA falls back to EVAL.
func TestReserveAfterScriptFlush(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(t, name)
			rs := s.(*redisStrategy)
			if err := s.Configure(ctx, SKU{SKU: "f", Stock: 10}); err != nil {
				t.Fatal(err)
			}
			if err := rs.rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			o, replay, err := s.Reserve(ctx, Request{SKU: "f", User: "u1", Qty: 2, UnitPrice: 10, Now: time.Now(), TTL: time.Hour})
			if err != nil || replay || o.Qty != 2 {
				t.Fatalf("after SCRIPT FLUSH: %+v %v %v", o, replay, err)
			}
			c, err := s.Counts(ctx, "f")
			if err != nil || c.Available != 8 {
				t.Fatalf("counts %+v %v, want 8 available", c, err)
			}
		})
	}
}
