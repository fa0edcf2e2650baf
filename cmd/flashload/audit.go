package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/audit/store"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

func init() { register(newAuditCmd) }

// auditOptions are `flashload audit`'s flags and streams.
type auditOptions struct {
	Dir      string
	Scenario string
	Orders   string
	Stdout   io.Writer
}

func newAuditCmd() *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit RUN_DIR [--scenario FILE] [--orders FILE]",
		Short: "Audit a finished run again against the service's store (its orders, the units left)",
		Long: `audit joins a finished run's purchase attempts (RUN_DIR/attempts.ndjson.gz, which run keeps)
with what the service stored, as the run's own audit does: from the scenario's audit: block
(the scenario the run played, or --scenario FILE) or from an export (--orders FILE). It updates
RUN_DIR/summary.json (and report.html) with the new audit and evaluates the scenario's gates
again.

Exit 0 when the audit is clean and every gate passes, 3 when the audit found a violation or a
gate failed, 1 when the store could not be read (the summary then says "not checked" and why),
2 for bad input (no attempts in RUN_DIR, nothing to audit against).`,
		Example: `  SHOP_PG=postgres://shop@127.0.0.1:5432/shop flashload audit runs/shop-20261111-000000
  flashload audit runs/shop-20261111-000000 --orders orders.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			opts.Stdout = cmd.OutOrStdout()
			return auditRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Scenario, "scenario", "", "the scenario whose audit: block and gates apply (default the one the run played)")
	f.StringVar(&opts.Orders, "orders", "", "an export of the service's orders (NDJSON or CSV: user,sku,qty[,status,key,id]); replaces the audit: block's orders")
	return cmd
}

// auditStore is the store a run audits another service against: the scenario's audit: block,
// with --orders FILE in place of its orders; nil when there is neither.
func auditStore(s *scenario.Scenario, target, orders string) (audit.Store, error) {
	if s.Audit == nil && orders == "" {
		return nil, nil
	}
	skus := make([]string, len(s.SKUs))
	for i, k := range s.SKUs {
		skus[i] = k.SKU
	}
	st, err := store.New(s.Audit, store.Options{Target: target, OrdersFile: orders, SKUs: skus})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.File, err)
	}
	return st, nil
}

// auditRun is `flashload audit` with its flags parsed: tests call it directly.
func auditRun(ctx context.Context, o *auditOptions) error {
	f, err := os.Open(filepath.Join(o.Dir, audit.AttemptsFile))
	if err != nil {
		return usageErr(fmt.Errorf("%s: %w (runs keep their purchase attempts there; a run without purchases, or of an older flashload, has none)", o.Dir, err))
	}
	h, attempts, err := audit.ReadAttempts(f)
	f.Close()
	if err != nil {
		return usageErr(fmt.Errorf("%s: %w", o.Dir, err))
	}
	run, err := result.ReadRun(o.Dir)
	if err != nil {
		return usageErr(err)
	}
	path := o.Scenario
	if path == "" {
		path = h.Scenario
	}
	s, err := scenario.Load(strings.TrimPrefix(path, "bundled:"))
	if err != nil {
		return usageErr(err)
	}
	st, err := auditStore(s, h.Target, o.Orders)
	if err != nil {
		return usageErr(err)
	}
	if st == nil {
		return usageErr(fmt.Errorf("%s has no audit: block and --orders is not given: nothing to audit the run against", s.File))
	}
	in := audit.Input{Run: h.Run, SKUs: h.ScenarioSKUs(), Attempts: attempts}
	if h.Segment != "" {
		if in.Segment, err = scenario.ParseSegment(h.Segment); err != nil {
			return usageErr(fmt.Errorf("%s: segment: %w", o.Dir, err))
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	truth, rerr := st.Read(rctx)
	cancel()
	sum := run.Summary
	if rerr != nil {
		sum.Audit = result.Audit{Error: rerr.Error(), Violations: []string{}}
	} else {
		in.Orders, in.Left = truth.Orders, truth.Left
		rep := audit.Check(in)
		sum.Audit = rep.Audit
		result.ApplySKUAudit(sum, rep.SKUs)
		if a := sum.Audit; a.Stock > 0 {
			if sum.Rates == nil {
				sum.Rates = map[string]result.Ratio{}
			}
			sum.Rates["sell_through"] = result.Ratio{Num: min(a.Sold, a.Stock), Den: a.Stock, Value: float64(min(a.Sold, a.Stock)) / float64(a.Stock)}
		}
	}
	pass, gerr := run.Complete(result.Completion{Gates: s.Gates})
	if err := render.WriteAll(o.Dir, run); err != nil {
		return fmt.Errorf("write %s: %w", o.Dir, err)
	}
	fmt.Fprintf(o.Stdout, "%s: %d purchase attempts of run %s\n", o.Dir, len(attempts), h.Run)
	if err := render.Outcome(o.Stdout, sum); err != nil {
		return err
	}
	switch {
	case rerr != nil:
		return fmt.Errorf("audit not checked: %w", rerr)
	case gerr != nil:
		return gerr
	case len(sum.Audit.Violations) > 0:
		return gateErr(errors.New("the audit found violations"))
	case !pass:
		return gateErr(fmt.Errorf("gates failed: %s", strings.Join(render.FailedGates(sum.Gates), ", ")))
	}
	return nil
}
