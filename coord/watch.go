package coord

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashload/flashload/result"
)

// WatchOptions configure a watcher.
type WatchOptions struct {
	URL       string
	RunID     string
	LostAfter time.Duration // no heartbeat for this long: lost; 0: DefaultLostAfter
	// OnAbort, when set, is called once with the abort that stopped the run (any sender's).
	OnAbort func(Abort)
}

// Watcher follows a coordinated run: it merges the generators' windows live, evaluates the gates
// across all of them (sending an abort when an abort gate fails), marks generators lost after
// missed heartbeats, and at the end merges their final segment runs.
type Watcher struct {
	c    *redis.Client
	k    keys
	o    WatchOptions
	live *result.Live

	mu      sync.Mutex
	regs    map[int]Registration
	gens    map[int]*genView
	start   time.Time
	aborted *Abort
	sent    bool // this watcher sent an abort
}

// genView is what the watcher knows of one generator.
type genView struct {
	result.GeneratorState
	i       int
	hbSeq   int64
	hbAt    time.Time // local time the heartbeat last changed
	final   *Final
	run     *result.Run
	lastWin time.Time
}

// Outcome is a finished watch: the merged run of every generator that finished (nil when none
// did), and what stopped the run, if something did.
type Outcome struct {
	Merged     *result.Run
	Generators []result.GeneratorState
	Aborted    *Abort
	Lost       []string // segments
}

// NewWatcher connects to the coordinator.
func NewWatcher(ctx context.Context, o WatchOptions) (*Watcher, error) {
	if o.LostAfter <= 0 {
		o.LostAfter = DefaultLostAfter
	}
	c, err := connect(ctx, o.URL, o.RunID)
	if err != nil {
		return nil, err
	}
	return &Watcher{c: c, k: keysOf(o.RunID), o: o, live: result.NewLive(), regs: map[int]Registration{}, gens: map[int]*genView{}}, nil
}

// Close closes the connection.
func (w *Watcher) Close() error { return w.c.Close() }

// Live is the merged live view (for tests and the dashboard).
func (w *Watcher) Live() *result.Live { return w.live }

// Run follows the run until every registered generator (all N) has finished or is lost, or ctx
// ends, and returns the merged result.
func (w *Watcher) Run(ctx context.Context) (*Outcome, error) {
	last := map[string]string{w.k.data: "0-0", w.k.ctl: "0-0"}
	nextPoll := time.Time{}
	for {
		if ctx.Err() != nil {
			return w.outcome()
		}
		if now := time.Now(); !now.Before(nextPoll) {
			nextPoll = now.Add(pollEvery * 4)
			if err := w.poll(ctx); err != nil {
				return nil, err
			}
			if w.finished() {
				return w.outcome()
			}
		}
		es, err := read(ctx, w.c, 200*time.Millisecond, w.k.data, w.k.ctl, last[w.k.data], last[w.k.ctl])
		if err != nil {
			if ctx.Err() != nil {
				return w.outcome()
			}
			return nil, err
		}
		for _, e := range es {
			last[e.stream] = e.id
			if err := w.handle(ctx, e); err != nil {
				return nil, err
			}
		}
	}
}

// poll reads registrations, the start instant and heartbeats, and marks silent generators lost.
func (w *Watcher) poll(ctx context.Context) error {
	regs, err := registrations(ctx, w.c, w.k)
	if err != nil {
		return err
	}
	hbs, err := w.c.HGetAll(ctx, w.k.hb).Result()
	if err != nil {
		return err
	}
	var start time.Time
	if ms, err := w.c.Get(ctx, w.k.start).Int64(); err == nil {
		start = time.UnixMilli(ms)
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start = start
	for i, r := range regs {
		w.regs[i] = r
		g := w.gen(i)
		g.Host = r.Host
		if g.State == "" {
			g.State, g.hbAt = "waiting", now
		}
	}
	for k, v := range hbs {
		i, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		var hb Heartbeat
		if json.Unmarshal([]byte(v), &hb) != nil {
			continue
		}
		g := w.gen(i)
		if hb.Seq != g.hbSeq {
			g.hbSeq, g.hbAt, g.CPU = hb.Seq, now, hb.CPU
			if g.State == "lost" {
				g.State = "running"
			}
		}
		if g.final == nil && g.State != "lost" && hb.State == "running" && !start.IsZero() && now.After(start) {
			g.State = "running"
		}
	}
	for _, g := range w.gens {
		if g.final == nil && g.State != "lost" && !g.hbAt.IsZero() && now.Sub(g.hbAt) > w.o.LostAfter {
			g.State = "lost"
		}
	}
	return nil
}

func (w *Watcher) gen(i int) *genView {
	g := w.gens[i]
	if g == nil {
		g = &genView{i: i}
		if r, ok := w.regs[i]; ok {
			g.Segment = r.Segment
		}
		w.gens[i] = g
	}
	return g
}

// n is the run's generator count, 0 before any registered.
func (w *Watcher) n() int {
	for _, r := range w.regs {
		return r.N
	}
	return 0
}

// finished: all N registered and each has a final entry or is lost.
func (w *Watcher) finished() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.n()
	if n == 0 || len(w.regs) < n {
		return false
	}
	for i := 1; i <= n; i++ {
		g := w.gens[i]
		if g == nil || (g.final == nil && g.State != "lost") {
			return false
		}
	}
	return true
}

func (w *Watcher) handle(ctx context.Context, e entry) error {
	switch e.kind {
	case KindAbort:
		var a Abort
		if err := json.Unmarshal(e.body, &a); err != nil {
			return fmt.Errorf("abort entry %s: %w", e.id, err)
		}
		w.mu.Lock()
		first := w.aborted == nil
		if first {
			w.aborted = &a
		}
		w.mu.Unlock()
		if first && w.o.OnAbort != nil {
			w.o.OnAbort(a)
		}
	case KindWindow:
		var s result.Sealed
		if err := json.Unmarshal(e.body, &s); err != nil {
			return fmt.Errorf("window entry %s of %s: %w", e.id, e.seg, err)
		}
		if err := w.live.Add(e.seg, &s); err != nil {
			return err
		}
		w.mu.Lock()
		g := w.gen(segIndex(e.seg))
		g.Segment = e.seg
		if len(s.Windows) > 0 {
			g.Windows += int64(len(s.Windows))
			hi := s.Windows[len(s.Windows)-1].Index
			if !w.start.IsZero() {
				closed := w.start.Add(time.Duration(hi+1) * s.Window)
				g.LagS = max(0, time.Since(closed).Seconds())
			}
		}
		g.Dropped = s.Requests.Dropped
		gates := w.abortGates()
		w.mu.Unlock()
		if gr, failed := w.live.Abort(gates); failed {
			w.sendAbort(ctx, Abort{By: "watch", Gate: gr.Expr, Value: strconv.FormatFloat(gr.Value, 'g', 6, 64), At: time.Now()})
		}
	case KindFinal:
		var f Final
		if err := json.Unmarshal(e.body, &f); err != nil {
			return fmt.Errorf("final entry %s of %s: %w", e.id, e.seg, err)
		}
		var run *result.Run
		if f.Summary != nil {
			r, err := result.ParseRun(f.Summary, f.Histograms)
			if err != nil {
				return fmt.Errorf("final run of %s: %w", e.seg, err)
			}
			run = r
		}
		w.mu.Lock()
		g := w.gen(segIndex(e.seg))
		g.Segment, g.final, g.run, g.State, g.Error = e.seg, &f, run, f.State, f.Error
		w.mu.Unlock()
	}
	return nil
}

func (w *Watcher) abortGates() []string {
	for _, r := range w.regs {
		return r.AbortGates
	}
	return nil
}

// Gates are the run's gates (from the registrations).
func (w *Watcher) Gates() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.regs {
		return r.Gates
	}
	return nil
}

func (w *Watcher) sendAbort(ctx context.Context, a Abort) {
	w.mu.Lock()
	if w.sent || w.aborted != nil {
		w.mu.Unlock()
		return
	}
	w.sent = true
	w.mu.Unlock()
	_ = add(ctx, w.c, w.k.ctl, "watch", KindAbort, a)
}

// Stop sends an abort by the watcher (q on the dashboard).
func (w *Watcher) Stop(ctx context.Context) { w.sendAbort(ctx, Abort{By: "watch", At: time.Now()}) }

// Generators is each generator's state, by segment.
func (w *Watcher) Generators() []result.GeneratorState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states()
}

func (w *Watcher) states() []result.GeneratorState {
	idx := make([]int, 0, len(w.gens))
	for i := range w.gens {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]result.GeneratorState, 0, len(idx))
	for _, i := range idx {
		out = append(out, w.gens[i].GeneratorState)
	}
	return out
}

// Snapshot is the dashboard's view: the merged live run, the gates, the generators.
func (w *Watcher) Snapshot() result.Snapshot {
	snap := w.live.Snapshot(w.Gates())
	w.mu.Lock()
	defer w.mu.Unlock()
	snap.Generators = w.states()
	snap.Done = w.n() > 0 && len(w.regs) >= w.n()
	for _, g := range w.gens {
		snap.Done = snap.Done && (g.final != nil || g.State == "lost")
		if g.State == "lost" {
			snap.Partial = true
			snap.Warnings = append(snap.Warnings, fmt.Sprintf("generator %s lost: no heartbeat for %s", g.Segment, w.o.LostAfter))
		}
	}
	if a := w.aborted; a != nil {
		snap.Warnings = append(snap.Warnings, "run aborted: "+a.String())
	}
	return snap
}

// outcome merges the final runs (exactly, as flashload merge of the segments' directories) and
// marks the result partial when a generator was lost, failed or was cut short.
func (w *Watcher) outcome() (*Outcome, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o := &Outcome{Generators: w.states(), Aborted: w.aborted}
	var runs []*result.Run
	idx := make([]int, 0, len(w.gens))
	for i := range w.gens {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		g := w.gens[i]
		if g.run != nil {
			runs = append(runs, g.run)
		} else if g.Segment != "" {
			o.Lost = append(o.Lost, g.Segment)
		}
	}
	for i := 1; i <= w.n(); i++ {
		if w.gens[i] == nil {
			o.Lost = append(o.Lost, fmt.Sprintf("%d/%d", i, w.n()))
		}
	}
	if len(runs) == 0 {
		return o, nil
	}
	m, err := result.Merge(runs...)
	if err != nil {
		return nil, err
	}
	s := m.Summary
	s.Generators = o.Generators
	if len(o.Lost) > 0 {
		s.Partial = true
		s.Warnings = append(s.Warnings, fmt.Sprintf("generators %v sent no final run (lost or failed): the merged result covers the others only", o.Lost))
	}
	if o.Aborted != nil {
		s.Partial = true
		s.Aborted = o.Aborted.Reason()
	}
	o.Merged = m
	return o, nil
}

// segIndex reads I of "I/N" (0 when it is not one).
func segIndex(seg string) int {
	for i := 0; i < len(seg); i++ {
		if seg[i] == '/' {
			n, _ := strconv.Atoi(seg[:i])
			return n
		}
	}
	return 0
}

// Aborted returns the abort that stopped the run, if one did.
func (w *Watcher) Aborted() (Abort, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.aborted == nil {
		return Abort{}, false
	}
	return *w.aborted, true
}
