package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/scenario"
)

func init() { register(newScenariosCmd) }

// scenariosOptions holds the flags and streams of `flashload scenarios`.
type scenariosOptions struct {
	Out       io.Writer
	Wall      time.Duration
	RateScale float64
	Width     int
}

func newScenariosCmd() *cobra.Command {
	opts := &scenariosOptions{}
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "List, show and validate scenario files",
		Long:  "Scenario files describe the sale (SKUs and rules), the traffic curve, the journeys, the capacity\nmodel and the gates. SCENARIO is a path or the name of a bundled scenario.",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the bundled scenarios",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Out = c.OutOrStdout()
			return scenariosListRun(opts)
		},
	}
	show := &cobra.Command{
		Use:   "show NAME|PATH",
		Short: "Show a resolved scenario, a plot of its curve, its total and peak arrivals",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out = c.OutOrStdout()
			return scenariosShowRun(opts, args[0])
		},
	}
	show.Flags().DurationVar(&opts.Wall, "wall", 0, "play the whole scenario in this wall time (rescales every stage's compression)")
	show.Flags().Float64Var(&opts.RateScale, "rate-scale", 0, "share of the amplitude played live (default: the file's rate_scale)")
	show.Flags().IntVar(&opts.Width, "width", 72, "plot width in columns")
	validate := &cobra.Command{
		Use:   "validate NAME|PATH...",
		Short: "Validate scenario files; every problem is printed as file:line:col (exit 2 if any)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out = c.OutOrStdout()
			return scenariosValidateRun(opts, args)
		},
	}
	cmd.AddCommand(list, show, validate)
	return cmd
}

func scenariosListRun(opts *scenariosOptions) error {
	tw := tabwriter.NewWriter(opts.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDURATION\tPEAK RPS\tDESCRIPTION")
	for _, in := range scenario.Bundled() {
		def := ""
		if in.Name == scenario.DefaultScenario {
			def = " (default)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", in.Name, def, render.ShortDuration(in.Duration), render.Rate(in.Peak), in.Description)
	}
	return tw.Flush()
}

func scenariosValidateRun(opts *scenariosOptions, args []string) error {
	var errs []error
	for _, a := range args {
		s, err := scenario.Load(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.Play(scenario.PlayOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.File, err))
			continue
		}
		fmt.Fprintf(opts.Out, "ok  %s (%s)\n", a, s.Name)
	}
	if len(errs) > 0 {
		n := 0
		for _, e := range errs {
			if j, ok := e.(interface{ Unwrap() []error }); ok {
				n += len(j.Unwrap())
			} else {
				n++
			}
		}
		return usageErr(fmt.Errorf("%d problem(s):\n%w", n, errors.Join(errs...)))
	}
	return nil
}

func scenariosShowRun(opts *scenariosOptions, arg string) error {
	s, err := scenario.Load(arg)
	if err != nil {
		return usageErr(err)
	}
	if opts.Wall < 0 || opts.RateScale < 0 {
		return usageErr(errors.New("--wall and --rate-scale must be ≥ 0"))
	}
	curve, err := s.Curve()
	if err != nil {
		return usageErr(err)
	}
	live, err := s.Play(scenario.PlayOptions{Wall: opts.Wall, RateScale: opts.RateScale})
	if err != nil {
		return usageErr(err)
	}
	return render.Scenario(opts.Out, s, live, curve, opts.Width)
}
