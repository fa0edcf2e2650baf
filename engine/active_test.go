package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
)

// TestActiveMovesLoad: a run over three replicas with a changing active set (Options.Active)
// sends only to the replicas of the set, over every transport. Replica 0 alone first: the
// others answer nothing. Then {1, 2}: both take load, and replica 0 answers at most what was
// on the wire at the switch. Then {0, 2}: replica 0, back in the set, answers again (the
// pool's connections to it are dialled afresh, so they do not fail). The phases wait on the
// replicas' counts, not on time.
func TestActiveMovesLoad(t *testing.T) {
	bases := make([]string, 3)
	for i := range bases {
		_, bases[i] = startTarget(t, "memory", nil)
	}
	const open = "{arrivals: uniform, start_rps: 300, stages: [{duration: 4s, rps: 300}]}"
	const closed = "{model: closed, vus: 4}"
	for _, c := range []struct {
		name, traffic string
		opts          Options
	}{
		{"own connections", closed, Options{}},
		// MaxWorkers holds the pool at 64 sessions (it grows on demand otherwise, on a loaded
		// machine beyond the 64 requests the switch check below allows).
		{"pool", open, Options{Workers: 64, MaxWorkers: 64, MaxConns: 6}},
		{"fasthttp slots", open, Options{Workers: 64, MaxWorkers: 64, MaxConns: 6, FastHTTPOnly: true}},
		{"fasthttp own", closed, Options{FastHTTPOnly: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, `
name: active
duration: 4s
skus: [{sku: mug-1, stock: 1000000, price: 20}]
traffic: `+c.traffic+`
journeys:
  - {name: buyer, steps: [{view: {sku: mug-1}}, {purchase: {sku: mug-1}}]}
`)
			for _, base := range bases {
				if err := SetupSKUs(context.Background(), base, "test-token", s.SKUs); err != nil {
					t.Fatal(err)
				}
			}
			counts := func() ([3]int64, error) {
				var n [3]int64
				for i, b := range bases {
					var err error
					if n[i], err = answeredBy(b); err != nil {
						return n, err
					}
				}
				return n, nil
			}
			base, err := counts()
			if err != nil {
				t.Fatal(err)
			}
			since := func() [3]int64 {
				n, err := counts()
				if err != nil {
					return [3]int64{-1, -1, -1}
				}
				for i := range n {
					n[i] -= base[i]
				}
				return n
			}
			active, err := NewActive(3, 0)
			if err != nil {
				t.Fatal(err)
			}
			// waitFor polls until ok or the run ends; false when it ended first.
			waitFor := func(ctx context.Context, ok func([3]int64) bool) ([3]int64, bool) {
				for {
					n := since()
					if ok(n) {
						return n, true
					}
					select {
					case <-ctx.Done():
						return n, false
					case <-time.After(10 * time.Millisecond):
					}
				}
			}
			phases := make(chan error, 1)
			opts := c.opts
			opts.Target = bases[0] + "," + bases[1] + "," + bases[2]
			opts.NoPreflight, opts.NoAudit, opts.Active = true, true, active
			opts.Observe = func(ctx context.Context, _ *result.Recorder, _ func() result.Snapshot) {
				phases <- func() error {
					n, ok := waitFor(ctx, func(n [3]int64) bool { return n[0] >= 40 })
					if !ok {
						return fmt.Errorf("phase 1: replica 0 answered %d", n[0])
					}
					if n[1] != 0 || n[2] != 0 {
						return fmt.Errorf("phase 1 ({0}): replicas 1 and 2 answered %d and %d, want none", n[1], n[2])
					}
					if err := active.Set(1, 2); err != nil {
						return err
					}
					at := since()
					n, ok = waitFor(ctx, func(n [3]int64) bool { return n[1]-at[1] >= 40 && n[2]-at[2] >= 40 })
					if !ok {
						return fmt.Errorf("phase 2 ({1, 2}): replicas answered %v since the switch at %v", n, at)
					}
					// At most what was bound for it at the switch: one request per session (on
					// the wire or waiting for one of its connections), and at most 64 sessions.
					if more := n[0] - at[0]; more > 64 {
						return fmt.Errorf("phase 2 ({1, 2}): replica 0 answered %d more after it left the set", more)
					}
					if err := active.Set(0, 2); err != nil {
						return err
					}
					at = since()
					n, ok = waitFor(ctx, func(n [3]int64) bool { return n[0]-at[0] >= 40 })
					if !ok {
						return fmt.Errorf("phase 3 ({0, 2}): replica 0 answered %d after it came back", n[0]-at[0])
					}
					return nil
				}()
			}
			res, err := Run(context.Background(), s, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-phases; err != nil {
				t.Fatal(err)
			}
			req := res.Summary.Requests
			t.Logf("%d requests, errors %v; per replica %v", req.Total, req.ByError, since())
			if req.Errors > 0 {
				t.Errorf("%d errors (%v): moving between replicas must not fail requests", req.Errors, req.ByError)
			}
		})
	}
}

// TestActiveSetRejects: an empty set, or a replica outside the list, is refused and leaves
// the set as it was.
func TestActiveSetRejects(t *testing.T) {
	a, err := NewActive(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Set() == nil || a.Set(2) == nil || a.Set(-1) == nil {
		t.Fatal("an empty set or an unknown replica was accepted")
	}
	if got := a.List(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("the set is %v after refused changes, want [1]", got)
	}
	if _, err := NewActive(0); err == nil {
		t.Fatal("a set over no replicas was accepted")
	}
}
