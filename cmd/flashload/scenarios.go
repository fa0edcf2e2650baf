package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
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
	w := opts.Out
	fmt.Fprintf(w, "%s — %s\n", s.Name, s.Description)
	fmt.Fprintf(w, "file %s · seed %d · %s model · %s arrivals · %d users (%s ids)\n",
		s.File, s.Seed, s.Traffic.Model, s.Traffic.Arrivals, s.Users.Count, s.Users.IDs)
	fmt.Fprintf(w, "scenario %s, played live in %s (rate scale %g); the simulator plays it uncompressed at full scale\n\n",
		render.ShortDuration(s.Duration.D()), live.WallDuration().Round(time.Millisecond), live.RateScale())

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSHAPE\tSCENARIO\tLIVE WALL\tCOMPRESS\tPEAK RPS\tARRIVALS (FULL)\tARRIVALS (LIVE)")
	for i := 0; ; i++ {
		start := live.WallAt(stageStart(s, i))
		if i > 0 && start >= live.WallDuration() {
			break
		}
		k, st, _ := live.StageAt(start)
		if k != i {
			break
		}
		end := stageStart(s, i+1)
		shape := st.Shape
		if shape == "" {
			shape = scenario.ShapeRamp
		}
		if st.Name != "" {
			shape += " (" + st.Name + ")"
		}
		peak := curve.StagePeak(i)
		full := curve.Integral(end) - curve.Integral(stageStart(s, i))
		liveN := live.Expected(live.WallAt(end)) - live.Expected(start)
		fmt.Fprintf(tw, "%d\t%s\t%s–%s\t%s\t%g\t%s\t%s\t%s\n", i+1, shape,
			render.ShortDuration(stageStart(s, i)), render.ShortDuration(end), (live.WallAt(end) - start).Round(time.Millisecond),
			live.CompressAt(start), render.Rate(peak), render.Count(full), render.Count(liveN))
		if end >= s.Duration.D() {
			break
		}
	}
	tw.Flush()

	fmt.Fprintf(w, "\ncurve (arrivals per scenario second, full scale) over scenario time:\n")
	if err := render.Curve(w, opts.Width, 10, s.Duration.D(), curve.Peak(), curve.Rate); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nas played live (arrivals per wall second, rate scale %g) over wall time:\n", live.RateScale())
	if err := render.Curve(w, opts.Width, 8, live.WallDuration(), live.PeakRate(), live.WallRate); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntotal arrivals: %s at full scale (peak %s/s); live %s (peak %s/s)\n",
		render.Count(curve.Total()), render.Rate(curve.Peak()), render.Count(live.Total()), render.Rate(live.PeakRate()))

	fmt.Fprintln(w)
	for i, k := range s.SKUs {
		fmt.Fprintf(w, "sku %s: stock %d", k.SKU, k.Stock)
		if played := live.PlayedStock(&s.SKUs[i]); played != k.Stock {
			fmt.Fprintf(w, " (live %d)", played)
		}
		fmt.Fprintf(w, ", price %g", k.Price)
		if k.Cost > 0 {
			fmt.Fprintf(w, ", cost %g", k.Cost)
		}
		if k.LimitPerUser > 0 {
			fmt.Fprintf(w, ", %d per user", k.LimitPerUser)
		}
		if k.StartsAt != "" {
			fmt.Fprintf(w, ", on sale from %s", k.StartsAt)
		}
		if k.EndsAt != "" {
			fmt.Fprintf(w, ", until %s", k.EndsAt)
		}
		if p := k.Pricing; p != nil {
			if l := p.Ladder; l != nil {
				fmt.Fprintf(w, ", ladder %g× −%g every %s (floor %g× cost)", l.Start, l.Step, render.ShortDuration(l.Every.D()), l.FloorOverCost)
			}
			if p.FirstNHalf > 0 {
				fmt.Fprintf(w, ", first %d half price", p.FirstNHalf)
				if played := live.PlayedFirstNHalf(&s.SKUs[i]); played != p.FirstNHalf {
					fmt.Fprintf(w, " (live %d)", played)
				}
			}
		}
		fmt.Fprintln(w)
	}
	total := 0.0
	for _, j := range s.Journeys {
		total += j.Weight
	}
	for _, j := range s.Journeys {
		kinds := make([]string, len(j.Steps))
		for i := range j.Steps {
			kinds[i] = j.Steps[i].Kind()
		}
		fmt.Fprintf(w, "journey %s (%.0f%%): %s\n", j.Name, 100*j.Weight/total, strings.Join(kinds, " → "))
	}
	if s.Model != nil {
		fmt.Fprintf(w, "model: %d replicas × %d workers, service time %s", s.Model.Replicas, s.Model.WorkersPerReplica, s.Model.ServiceTime.Dist)
		if a := s.Model.Autoscaler; a != nil {
			fmt.Fprintf(w, ", autoscaler %s %d..%d", a.Type, a.Min, a.Max)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "model: none (sim uses its defaults)")
	}
	for _, g := range s.Gates {
		fmt.Fprintf(w, "gate %s\n", g)
	}
	return nil
}

// stageStart is the scenario time at which stage i starts (the duration past the last).
func stageStart(s *scenario.Scenario, i int) time.Duration {
	if s.Traffic.Replay != "" || len(s.Traffic.Stages) == 0 {
		if i == 0 {
			return 0
		}
		return s.Duration.D()
	}
	var t time.Duration
	for k := 0; k < i && k < len(s.Traffic.Stages); k++ {
		t += s.Traffic.Stages[k].Duration.D()
	}
	return t
}
