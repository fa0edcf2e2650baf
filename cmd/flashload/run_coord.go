package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/flashload/flashload/coord"
	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// runCoordination wires a run's abort gates and, with --coordinate, its generator of a
// coordinated run into the engine's options. stop ends the run (its context).
type runCoordination struct {
	gen *coord.Generator
	mu  sync.Mutex
	why string // what aborted the run, "" when nothing did
}

// coordinate sets eo.Ready and eo.Sealed as the run needs them: abort gates are evaluated on
// every sealed window (result.Live); a coordinated generator registers, starts at the shared
// instant, publishes its windows and follows the run's aborts.
func coordinate(ctx context.Context, o *runOptions, s *scenario.Scenario, seg scenario.Segment, eo *engine.Options, stop func()) (*runCoordination, error) {
	rc := &runCoordination{}
	if o.Coordinate != "" {
		if o.RunID == "" {
			return nil, usageErr(errors.New("--coordinate needs --run-id ID (the same on every generator and on watch)"))
		}
		var startAt time.Time
		if o.StartAt != "" {
			t, err := time.Parse(time.RFC3339Nano, o.StartAt)
			if err != nil {
				return nil, usageErr(fmt.Errorf("--start-at: %w", err))
			}
			startAt = t
		}
		gen, err := coord.Join(ctx, coord.Options{URL: o.Coordinate, RunID: o.RunID, Segment: seg, StartAt: startAt,
			Name: s.Name, Gates: s.Gates, AbortGates: s.AbortGates,
			OnAbort: func(a coord.Abort) { rc.abort(a.Reason(), stop) }})
		if err != nil {
			if seg.N < 1 || seg.Whole() {
				return nil, usageErr(err)
			}
			return nil, err
		}
		rc.gen = gen
		eo.Ready = gen.Ready
		// One idempotency-key prefix for the whole run: each generator's audit then tells the
		// others' orders from unexpected ones.
		eo.RunID = o.RunID
	}
	if rc.gen == nil && len(s.AbortGates) == 0 {
		return rc, nil
	}
	live := result.NewLive()
	eo.Sealed = func(sl result.Sealed) {
		if rc.gen != nil {
			rc.gen.Publish(sl)
		}
		if len(s.AbortGates) == 0 || rc.reason() != "" {
			return
		}
		if err := live.Add("", &sl); err != nil {
			return
		}
		if g, failed := live.Abort(s.AbortGates); failed {
			if rc.gen != nil {
				// Through the coordinator, so every generator stops; this one stops at once too.
				_ = rc.gen.Abort(ctx, g, strconv.FormatFloat(g.Value, 'g', 6, 64))
			}
			rc.abort(g.Expr, stop)
		}
	}
	return rc, nil
}

func (rc *runCoordination) abort(why string, stop func()) {
	rc.mu.Lock()
	if rc.why == "" {
		rc.why = why
	}
	rc.mu.Unlock()
	stop()
}

func (rc *runCoordination) reason() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.why
}

// finish marks an aborted run's summary before it is written.
func (rc *runCoordination) mark(res *result.Run) {
	if why := rc.reason(); why != "" && res != nil {
		res.Summary.Aborted = why
		res.Summary.Partial = true
	}
}

// done publishes the generator's final segment run (the directory as written) and turns an
// abort into exit 3 naming what aborted the run.
func (rc *runCoordination) done(ctx context.Context, dir string, runErr error) error {
	if rc.gen != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := rc.gen.Finish(fctx, dir, runErr); err != nil && runErr == nil {
			runErr = fmt.Errorf("publish the final run: %w", err)
		}
		cancel()
		rc.gen.Close()
	}
	if why := rc.reason(); why != "" {
		var ce *codeError
		if runErr == nil || (errors.As(runErr, &ce) && ce.code == exitGate) {
			return gateErr(fmt.Errorf("run aborted: %s", abortWords(why)))
		}
	}
	return runErr
}

func abortWords(why string) string {
	if why == "watch" {
		return "stopped from watch"
	}
	return fmt.Sprintf("abort gate %q failed", why)
}
