package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/result"
)

// audit joins this run's purchase attempts with what the service stored: its own store
// (Options.Store, the scenario's audit: block, read after audit.settle), else a flashload
// target's admin API when the token is known, else an orders export (Options.OrdersFile). The
// attempts go to Options.AttemptsFile first, so a store that cannot be read now can be audited
// again later. It returns nil when there is nothing to join with.
func (r *run) audit(ctx context.Context) (*audit.Report, error) {
	attempts, err := r.attempts()
	if err != nil {
		return nil, err
	}
	if r.opts.AttemptsFile != "" {
		if err := r.writeAttempts(attempts); err != nil {
			r.rec.Warn("audit: the attempts could not be kept for a later audit: " + err.Error())
		}
	}
	in := audit.Input{Run: r.runID, Segment: r.play.Segment(), SKUs: r.play.SKUs(), Attempts: attempts}
	switch {
	case r.opts.Store != nil:
		if a := r.s.Audit; a != nil && a.Settle > 0 {
			// Asynchronous writers (a queue's consumers) finish the orders of the last answers.
			if err := sleepFor(ctx, a.Settle.D()); err != nil {
				return nil, fmt.Errorf("settle: %w", err)
			}
		}
		t, err := r.opts.Store.Read(ctx)
		if err != nil {
			return nil, err
		}
		in.Orders, in.Left = t.Orders, t.Left
	case r.opts.AdminToken != "":
		a := newAdminClient(r.adminURL(), r.opts.AdminToken)
		srv, err := a.readAudit(ctx)
		if err != nil {
			return nil, err
		}
		orders, missing, err := a.readOrders(ctx, r.s.SKUs)
		if err != nil {
			return nil, err
		}
		in.Server, in.Orders, in.Forgotten = srv, orders, missing
	case r.opts.OrdersFile != "":
		f, err := os.Open(r.opts.OrdersFile)
		if err != nil {
			return nil, err
		}
		orders, err := audit.ReadOrders(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.opts.OrdersFile, err)
		}
		in.Orders = orders
	default:
		return nil, nil
	}
	a := audit.Check(in)
	return &a, nil
}

// writeAttempts keeps the run's purchase attempts in Options.AttemptsFile (written whole, then
// renamed, so a reader never sees half a file).
func (r *run) writeAttempts(attempts []Attempt) error {
	path := r.opts.AttemptsFile
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	h := audit.Header{Run: r.runID, Scenario: r.s.File, SKUs: audit.SKUInfos(r.play.SKUs())}
	if urls, _, err := splitTargets(r.opts.Target); err == nil {
		h.Target = urls[0]
	}
	if abs, err := filepath.Abs(r.s.File); err == nil && r.s.Dir != "" {
		h.Scenario = abs
	}
	if seg := r.play.Segment(); !seg.Whole() {
		h.Segment = seg.String()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".attempts-*")
	if err != nil {
		return err
	}
	err = audit.WriteAttempts(f, h, attempts)
	if err == nil {
		err = f.Chmod(0o644) // as the run directory's other files
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// notChecked is the audit of a run that could not audit: Checked false, and why.
func notChecked(reason string) result.Audit {
	return result.Audit{Error: reason, Violations: []string{}}
}

// attempts gathers every worker's purchase attempts, spilled and in memory.
func (r *run) attempts() ([]Attempt, error) {
	r.workersMu.Lock()
	defer r.workersMu.Unlock()
	n := 0
	for w := range r.workers {
		n += w.log.len()
	}
	for _, c := range r.retired {
		n += len(c)
	}
	if r.spill != nil {
		n += int(r.spill.n)
	}
	attempts := make([]Attempt, 0, n)
	add := func(a *Attempt) { attempts = append(attempts, *a) }
	if r.spill != nil {
		if err := r.spill.each(add); err != nil {
			return nil, fmt.Errorf("read back the attempts: %w", err)
		}
	}
	for w := range r.workers {
		w.log.each(add)
	}
	for _, c := range r.retired {
		for i := range c {
			add(&c[i])
		}
	}
	return attempts, nil
}

// sleepFor waits d or until ctx's end.
func sleepFor(ctx context.Context, d time.Duration) error {
	return sleepUntil(ctx, time.Now().Add(d))
}
