package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
)

func init() { register(newCompareCmd) }

// compareOptions holds the flags and streams of `flashload compare`.
type compareOptions struct {
	Out           io.Writer
	MaxRegression string
	Alpha         float64
	Labels        []string
	Format        string
}

func newCompareCmd() *cobra.Command {
	opts := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare BASE NEW [MORE...]",
		Short: "Compare runs side by side, with significance (architecture A/B, CI regression gates)",
		Long: "Compare stored runs (directories or summary.json files) against the first: p50/p90/p99/p99.9,\n" +
			"rates, errors, shed, dropped and the audit, with the change in percent and whether it is\n" +
			"significant (Mann-Whitney U over per-window samples). Several runs give one table.\n" +
			"--max-regression 10% exits 3 when a significant regression exceeds 10%; an increase of\n" +
			"oversold, lost or duplicates is always a regression.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out = c.OutOrStdout()
			return compareRun(opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.MaxRegression, "max-regression", "", "exit 3 when a significant regression exceeds this (10% or 0.1)")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", result.DefaultAlpha, "significance level")
	cmd.Flags().StringSliceVar(&opts.Labels, "label", nil, "column labels, one per run (default: strategy or name)")
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "text|markdown")
	return cmd
}

// parseFraction reads "10%" or "0.1".
func parseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(t, "%") {
		t, div = strings.TrimSuffix(t, "%"), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q: want a percentage like 10%% or a fraction like 0.1", s)
	}
	return v / div, nil
}

func compareRun(opts *compareOptions, paths []string) error {
	var maxReg float64
	if opts.MaxRegression != "" {
		v, err := parseFraction(opts.MaxRegression)
		if err != nil {
			return usageErr(fmt.Errorf("--max-regression %w", err))
		}
		maxReg = v
	}
	if opts.Format != "text" && opts.Format != "markdown" {
		return usageErr(fmt.Errorf("--format %q: want text or markdown", opts.Format))
	}
	if len(opts.Labels) > 0 && len(opts.Labels) != len(paths) {
		return usageErr(fmt.Errorf("--label: %d labels for %d runs", len(opts.Labels), len(paths)))
	}
	runs := make([]*result.Run, len(paths))
	for i, p := range paths {
		r, err := result.ReadRun(p)
		if err != nil {
			return usageErr(err)
		}
		runs[i] = r
	}
	c, err := result.Compare(runs, result.CompareOptions{Alpha: opts.Alpha, MaxRegression: maxReg, Labels: opts.Labels})
	if err != nil {
		return usageErr(err)
	}
	write := render.CompareText
	if opts.Format == "markdown" {
		write = render.CompareMarkdown
	}
	if err := write(opts.Out, c); err != nil {
		return err
	}
	if regs := c.Regressions(); len(regs) > 0 {
		parts := make([]string, len(regs))
		for i, r := range regs {
			parts[i] = r.String()
		}
		return gateErr(fmt.Errorf("regression: %s", strings.Join(parts, "; ")))
	}
	return nil
}
