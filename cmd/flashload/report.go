package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/result"
)

func init() { register(newReportCmd) }

// reportOptions holds the flags and streams of `flashload report`.
type reportOptions struct {
	Out       io.Writer
	Format    string
	OutFile   string
	Predicted string
}

func newReportCmd() *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report DIR|summary.json",
		Short: "Render a run: text, json, markdown (PR comment), junit, csv (timeline) or html",
		Long: "Render a stored run (a directory with summary.json and histograms.hlog, or the summary.json itself).\n" +
			"A predicted.json next to the summary (the simulator's run of the same scenario) is shown beside it.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out = c.OutOrStdout()
			return reportRun(opts, args[0])
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: "+strings.Join(render.Formats, "|"))
	cmd.Flags().StringVarP(&opts.OutFile, "out", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&opts.Predicted, "predicted", "", "a simulated run (DIR or summary.json) to show beside this one")
	return cmd
}

func reportRun(opts *reportOptions, path string) error {
	if !slices.Contains(render.Formats, opts.Format) {
		return usageErr(fmt.Errorf("--format %q: want one of %s", opts.Format, strings.Join(render.Formats, ", ")))
	}
	var run *result.Run
	var err error
	if opts.Format == "html" {
		run, err = result.ReadRun(path) // the spectrum chart reads the histograms
	} else {
		run, err = result.ReadRunSummary(path) // the other formats only need summary.json
	}
	if err != nil {
		return usageErr(err)
	}
	pred := run.Predicted
	if opts.Predicted != "" {
		p, err := result.ReadRun(opts.Predicted)
		if err != nil {
			return usageErr(fmt.Errorf("--predicted: %w", err))
		}
		pred = p.Summary
	}
	w := opts.Out
	if opts.OutFile != "" {
		f, err := os.Create(opts.OutFile)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := render.Format(w, opts.Format, run, pred); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && opts.OutFile != "" {
		return f.Close()
	}
	return nil
}
