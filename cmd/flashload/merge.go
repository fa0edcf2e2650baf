package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
)

func init() { register(newMergeCmd) }

// mergeOptions holds the flags and streams of `flashload merge`.
type mergeOptions struct {
	Out        io.Writer
	OutDir     string
	Thresholds []string
}

func newMergeCmd() *cobra.Command {
	opts := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge DIR... --out DIR",
		Short: "Merge the results of segment runs exactly (HDR histograms add, counters sum)",
		Long: "Merge runs of the segments of one scenario (flashload run --segment I/N on N generators) into\n" +
			"the run one generator would have recorded: histograms add exactly, counters sum, timelines\n" +
			"align by window, and the gates are re-evaluated on the merged result (exit 3 if one fails).\n" +
			"Writes summary.json, histograms.hlog and report.html to --out.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out = c.OutOrStdout()
			return mergeRun(opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.OutDir, "out", "o", "", "directory for the merged run (required)")
	cmd.Flags().StringArrayVarP(&opts.Thresholds, "threshold", "t", nil, "an extra gate to evaluate on the merged run (repeatable)")
	return cmd
}

func mergeRun(opts *mergeOptions, dirs []string) error {
	if opts.OutDir == "" {
		return usageErr(errors.New("--out DIR is required"))
	}
	runs := make([]*result.Run, len(dirs))
	for i, d := range dirs {
		r, err := result.ReadRun(d)
		if err != nil {
			return usageErr(err)
		}
		runs[i] = r
	}
	merged, err := result.Merge(runs...)
	if err != nil {
		return usageErr(err)
	}
	if len(opts.Thresholds) > 0 {
		exprs := append(result.GateExprs(merged.Summary.Gates), opts.Thresholds...)
		if _, err := merged.Complete(result.Completion{Gates: exprs}); err != nil {
			return usageErr(err)
		}
	}
	if err := render.WriteAll(opts.OutDir, merged); err != nil {
		return err
	}
	if err := render.Text(opts.Out, merged.Summary, nil); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nmerged %d runs into %s\n", len(runs), opts.OutDir)
	if failed := render.FailedGates(merged.Summary.Gates); len(failed) > 0 {
		return gateErr(fmt.Errorf("%d of %d gates failed on the merged run", len(failed), len(merged.Summary.Gates)))
	}
	return nil
}
