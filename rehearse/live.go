package rehearse

import (
	"context"
	"fmt"

	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/report/web"
	"github.com/flashload/flashload/result"
)

// liveView is a live run's engine.Options.Progress: the terminal dashboard (or progress lines)
// and, with Options.Web, the live page, both reading the engine's snapshot completed by fill;
// the page's snapshots also carry the gates on the run so far. stop ends the run (q, or the
// page's stop button).
func liveView(o Options, stop func(), gates *web.Gates, fill func(*result.Snapshot)) func(context.Context, func() result.Snapshot) {
	return func(ctx context.Context, snap func() result.Snapshot) {
		src := func() result.Snapshot {
			sn := snap()
			fill(&sn)
			return sn
		}
		web.Beside(ctx, o.Web, src, gates, stop, func() {
			if err := dashboard.Watch(ctx, src, stop, dashboard.Options{TTY: o.TTY, Out: o.Stdout, Err: o.Stderr}); err != nil {
				fmt.Fprintf(o.Stderr, "flashload: dashboard: %v\n", err)
			}
		})
	}
}

// webGates are the live page's gates of a run, nil without a page.
func webGates(o Options, exprs []string) *web.Gates {
	if o.Web == nil {
		return nil
	}
	return web.NewGates(exprs)
}

// sealed is engine.Options.Sealed for g: nil without gates, so a run without a page seals no
// windows (sealing has a cost).
func sealed(g *web.Gates) func(result.Sealed) {
	if g == nil {
		return nil
	}
	return g.Add
}

// finishWeb shows a finished run on the live page.
func finishWeb(o Options, sum *result.Summary, report string) {
	if o.Web == nil {
		return
	}
	if err := o.Web.Finish(sum, report); err != nil {
		fmt.Fprintf(o.Stderr, "rehearse: web: %v\n", err)
	}
}
