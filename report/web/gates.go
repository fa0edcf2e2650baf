package web

import (
	"context"
	"sync"

	"github.com/flashload/flashload/result"
)

// Gates evaluates a run's gates on what it has sealed so far, for the page's gates panel of a
// single generator (run, rehearse): hand Add to engine.Options.Sealed and set Snapshot.Gates
// from Eval. watch has its gates in its snapshots already (result.Live.Snapshot).
type Gates struct {
	exprs []string
	live  *result.Live
	mu    sync.Mutex
	err   bool
}

// NewGates is the gates exprs (a nil *Gates evaluates none) (the scenario's, already parsed once) over an empty run.
func NewGates(exprs []string) *Gates {
	return &Gates{exprs: exprs, live: result.NewLive()}
}

// Add merges what the run sealed (once per window).
func (g *Gates) Add(s result.Sealed) {
	if g == nil || len(g.exprs) == 0 {
		return
	}
	if err := g.live.Add("", &s); err != nil {
		g.mu.Lock()
		g.err = true // a batch that does not merge: the panel would be wrong, so it goes empty
		g.mu.Unlock()
	}
}

// Eval is every gate on the run so far: a gate it cannot measure yet (no audit reading, no such
// rate so far) fails with the reason, as at the end.
func (g *Gates) Eval() []result.GateResult {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	bad := g.err
	g.mu.Unlock()
	if len(g.exprs) == 0 || bad {
		return nil
	}
	gates, _, _ := result.EvaluateGates(g.live.Summary(), g.exprs)
	return gates
}

// Chain is a Sealed hook that calls a, then b; either may be nil.
func Chain(a, b func(result.Sealed)) func(result.Sealed) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(s result.Sealed) { a(s); b(s) }
}

// Beside runs the page's Watch of src (its snapshots carrying the gates on the run so far) in
// its own goroutine while show runs (the terminal dashboard), and returns when both have. With
// a nil srv it only runs show.
func Beside(ctx context.Context, srv *Server, src func() result.Snapshot, gates *Gates, stop func(), show func()) {
	var wg sync.WaitGroup
	if srv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Watch(ctx, func() result.Snapshot { sn := src(); sn.Gates = gates.Eval(); return sn }, stop)
		}()
	}
	show()
	wg.Wait()
}
