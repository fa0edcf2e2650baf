package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
)

func init() { register(newGateCmd) }

// gateOptions holds the flags and streams of `flashload gate`.
type gateOptions struct {
	Out        io.Writer
	Thresholds []string
	JUnit      string
}

func newGateCmd() *cobra.Command {
	opts := &gateOptions{}
	cmd := &cobra.Command{
		Use:   "gate DIR|summary.json [--threshold EXPR ...]",
		Short: "Evaluate gates (thresholds) on a stored run: exit 3 when one fails",
		Long: "Evaluate thresholds on a stored run and print every gate with its measured value.\n" +
			"Without --threshold the run's own gates are re-evaluated. Exit codes: 0 all passed,\n" +
			"3 a gate failed, 2 a bad expression or an unreadable summary. Grammar: docs/gates.md,\n" +
			"for example: p(99) < 500ms, rate(pay_success) > 99.5%, oversold == 0,\n" +
			"error_rate < 1%, achieved_rate >= 95% of target, availability >= 99.95%.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out = c.OutOrStdout()
			return gateRun(opts, args[0])
		},
	}
	cmd.Flags().StringArrayVarP(&opts.Thresholds, "threshold", "t", nil, "a gate expression (repeatable)")
	cmd.Flags().StringVar(&opts.JUnit, "junit", "", "also write the gates as JUnit XML to this file")
	return cmd
}

func gateRun(opts *gateOptions, path string) error {
	run, err := result.ReadRunSummary(path)
	if err != nil {
		return usageErr(err)
	}
	s := run.Summary
	exprs := opts.Thresholds
	if len(exprs) == 0 {
		exprs = result.GateExprs(s.Gates)
	}
	if len(exprs) == 0 {
		return usageErr(errors.New("no gates: the run has none; pass --threshold EXPR"))
	}
	gates, allPass, err := result.EvaluateGates(s, exprs)
	s.Gates = gates
	if err != nil {
		return usageErr(err)
	}
	if err := render.Gates(opts.Out, "", s.Gates); err != nil {
		return err
	}
	if opts.JUnit != "" {
		f, err := os.Create(opts.JUnit)
		if err != nil {
			return err
		}
		if err := render.JUnit(f, s); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !allPass {
		return gateErr(fmt.Errorf("%d of %d gates failed", len(render.FailedGates(s.Gates)), len(s.Gates)))
	}
	return nil
}
