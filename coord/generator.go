package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashload/flashload/internal/cputime"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Options configure a generator of a coordinated run.
type Options struct {
	URL     string // redis://HOST:PORT/DB
	RunID   string
	Segment scenario.Segment
	// StartAt, when set, is the shared start instant; otherwise the run starts DefaultStartDelay
	// after the last of the N generators registered.
	StartAt    time.Time
	Name       string   // the scenario's
	Gates      []string // the scenario's gates (for watch)
	AbortGates []string
	// OnAbort is called once, from the control reader, when an abort reaches this generator
	// (its own included): stop the run there.
	OnAbort func(Abort)

	Heartbeat  time.Duration // 0: DefaultHeartbeat
	StartDelay time.Duration // 0: DefaultStartDelay
}

// Generator is one load generator's side of a coordinated run.
type Generator struct {
	c    *redis.Client
	k    keys
	o    Options
	seg  string
	stop context.CancelFunc
	wg   sync.WaitGroup

	state     atomic.Value // string: waiting, running, draining
	abortOnce sync.Once
	aborted   atomic.Pointer[Abort]
	errs      atomic.Int64 // publications that failed
}

// Join connects to the coordinator and registers the segment; it fails when another generator
// registered the same segment, or a different N, under the run id. It starts the heartbeat and
// the control reader (aborts).
func Join(ctx context.Context, o Options) (*Generator, error) {
	if o.Segment.N < 1 || o.Segment.I < 1 || o.Segment.I > o.Segment.N {
		return nil, fmt.Errorf("--coordinate needs --segment I/N (or auto/N), not %q", o.Segment)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.StartDelay <= 0 {
		o.StartDelay = DefaultStartDelay
	}
	c, err := connect(ctx, o.URL, o.RunID)
	if err != nil {
		return nil, err
	}
	g := &Generator{c: c, k: keysOf(o.RunID), o: o, seg: o.Segment.String()}
	g.state.Store("waiting")
	if err := g.register(ctx); err != nil {
		c.Close()
		return nil, err
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	g.stop = stop
	g.wg.Add(2)
	go func() { defer g.wg.Done(); g.heartbeat(bg) }()
	go func() { defer g.wg.Done(); g.control(bg) }()
	return g, nil
}

func (g *Generator) register(ctx context.Context) error {
	regs, err := registrations(ctx, g.c, g.k)
	if err != nil {
		return err
	}
	for _, r := range regs {
		if r.N != g.o.Segment.N {
			return fmt.Errorf("run %s: segment %s registered with N=%d; this generator has %s", g.o.RunID, r.Segment, r.N, g.seg)
		}
	}
	host, _ := os.Hostname()
	reg := Registration{Segment: g.seg, I: g.o.Segment.I, N: g.o.Segment.N, Name: g.o.Name, Gates: g.o.Gates,
		AbortGates: g.o.AbortGates, Host: host, PID: os.Getpid(), At: time.Now()}
	b, _ := json.Marshal(reg)
	ok, err := g.c.HSetNX(ctx, g.k.reg, strconv.Itoa(reg.I), b).Result()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("run %s: segment %s is registered already (another generator, or a run id used before)", g.o.RunID, g.seg)
	}
	return g.c.Expire(ctx, g.k.reg, TTL).Err()
}

// Ready waits until the run can start and returns the shared start instant: StartAt, or
// StartDelay after all N generators registered (the first to see them all sets it, the others
// read it). It is engine.Options.Ready.
func (g *Generator) Ready(ctx context.Context) (time.Time, error) {
	if !g.o.StartAt.IsZero() {
		g.state.Store("running")
		return g.o.StartAt, nil
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if a := g.aborted.Load(); a != nil {
			return time.Time{}, fmt.Errorf("run %s aborted before its start: %s", g.o.RunID, a)
		}
		n, err := g.c.HLen(ctx, g.k.reg).Result()
		if err != nil {
			return time.Time{}, err
		}
		if n >= int64(g.o.Segment.N) {
			at := time.Now().Add(g.o.StartDelay).UnixMilli()
			if err := g.c.SetArgs(ctx, g.k.start, at, redis.SetArgs{Mode: "NX", TTL: TTL}).Err(); err != nil && !errors.Is(err, redis.Nil) {
				return time.Time{}, err
			}
			v, err := g.c.Get(ctx, g.k.start).Int64()
			if err != nil {
				return time.Time{}, err
			}
			g.state.Store("running")
			return time.UnixMilli(v), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-t.C:
		}
	}
}

// Publish sends a sealed batch of windows to the data stream. It is engine.Options.Sealed (with
// the caller's abort checks beside it); a failed publication is counted, not fatal: the run goes
// on and its final segment run is still exact.
func (g *Generator) Publish(s result.Sealed) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := add(ctx, g.c, g.k.data, g.seg, KindWindow, s); err != nil {
		g.errs.Add(1)
	}
	if s.Final {
		g.state.Store("draining")
	}
}

// PublishErrors is how many publications failed.
func (g *Generator) PublishErrors() int64 { return g.errs.Load() }

// Abort stops every generator of the run (this one too, through OnAbort).
func (g *Generator) Abort(ctx context.Context, gate result.GateResult, value string) error {
	a := Abort{By: g.seg, Gate: gate.Expr, Value: value, At: time.Now()}
	return add(ctx, g.c, g.k.ctl, g.seg, KindAbort, a)
}

// Aborted returns the abort that reached this generator, if one did.
func (g *Generator) Aborted() (Abort, bool) {
	if a := g.aborted.Load(); a != nil {
		return *a, true
	}
	return Abort{}, false
}

// Finish publishes the final entry: the run directory's summary.json and histograms.hlog as
// written, or runErr when the run failed. It stops the heartbeat.
func (g *Generator) Finish(ctx context.Context, dir string, runErr error) error {
	f := Final{State: "done"}
	if _, ok := g.Aborted(); ok {
		f.State = "aborted"
	}
	var err error
	if dir != "" {
		if f.Summary, err = os.ReadFile(filepath.Join(dir, result.SummaryFile)); err == nil {
			f.Histograms, err = os.ReadFile(filepath.Join(dir, result.HistogramsFile))
		}
	}
	if dir == "" || err != nil {
		f.State, f.Summary, f.Histograms = "failed", nil, nil
		f.Error = errors.Join(runErr, err).Error()
	}
	return add(ctx, g.c, g.k.data, g.seg, KindFinal, f)
}

// Close stops the heartbeat and the control reader and closes the connection.
func (g *Generator) Close() error {
	g.stop()
	g.wg.Wait()
	return g.c.Close()
}

// heartbeat rewrites this generator's heartbeat every interval, with its CPU use.
func (g *Generator) heartbeat(ctx context.Context) {
	t := time.NewTicker(g.o.Heartbeat)
	defer t.Stop()
	var seq int64
	lastCPU, lastAt := cputime.Process(), time.Now()
	for {
		seq++
		now, cpu := time.Now(), cputime.Process()
		hb := Heartbeat{Seq: seq, State: g.state.Load().(string)}
		if dt := now.Sub(lastAt); dt > 0 {
			hb.CPU = (cpu - lastCPU).Seconds() / dt.Seconds()
		}
		lastCPU, lastAt = cpu, now
		b, _ := json.Marshal(hb)
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _ = g.c.TxPipelined(wctx, func(p redis.Pipeliner) error {
			p.HSet(wctx, g.k.hb, strconv.Itoa(g.o.Segment.I), b)
			p.Expire(wctx, g.k.hb, TTL)
			return nil
		})
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// control follows the control stream from its beginning (an abort sent before this generator
// listened counts) and calls OnAbort once for the first abort.
func (g *Generator) control(ctx context.Context) {
	last := "0-0"
	for ctx.Err() == nil {
		es, err := read(ctx, g.c, time.Second, g.k.ctl, last)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		for _, e := range es {
			last = e.id
			if e.kind != KindAbort {
				continue
			}
			var a Abort
			if json.Unmarshal(e.body, &a) != nil {
				continue
			}
			g.abortOnce.Do(func() {
				g.aborted.Store(&a)
				if g.o.OnAbort != nil {
					g.o.OnAbort(a)
				}
			})
		}
	}
}
