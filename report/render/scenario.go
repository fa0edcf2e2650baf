package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flashload/flashload/scenario"
)

// Scenario describes a scenario file (flashload scenarios show): its stages at full scale and
// as played live, its curves, SKUs, journeys, model and gates. live is the play of the live
// run, curve the full-scale curve, width the curves' width in columns.
func Scenario(w io.Writer, s *scenario.Scenario, live *scenario.Play, curve *scenario.Curve, width int) error {
	scenarioStages(w, s, live, curve)
	if err := scenarioCurves(w, s, live, curve, width); err != nil {
		return err
	}
	scenarioSKUs(w, s, live)
	scenarioJourneys(w, s)
	return nil
}

func scenarioStages(w io.Writer, s *scenario.Scenario, live *scenario.Play, curve *scenario.Curve) {
	fmt.Fprintf(w, "%s — %s\n", s.Name, s.Description)
	fmt.Fprintf(w, "file %s · seed %d · %s model · %s arrivals · %d users (%s ids)\n",
		s.File, s.Seed, s.Traffic.Model, s.Traffic.Arrivals, s.Users.Count, s.Users.IDs)
	fmt.Fprintf(w, "scenario %s, played live in %s (rate scale %g); the simulator plays it uncompressed at full scale\n\n",
		ShortDuration(s.Duration.D()), live.WallDuration().Round(time.Millisecond), live.RateScale())

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
			ShortDuration(stageStart(s, i)), ShortDuration(end), (live.WallAt(end) - start).Round(time.Millisecond),
			live.CompressAt(start), Rate(peak), Count(full), Count(liveN))
		if end >= s.Duration.D() {
			break
		}
	}
	tw.Flush()

}

func scenarioCurves(w io.Writer, s *scenario.Scenario, live *scenario.Play, curve *scenario.Curve, width int) error {

	fmt.Fprintf(w, "\ncurve (arrivals per scenario second, full scale) over scenario time:\n")
	if err := Curve(w, width, 10, s.Duration.D(), curve.Peak(), curve.Rate); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nas played live (arrivals per wall second, rate scale %g) over wall time:\n", live.RateScale())
	if err := Curve(w, width, 8, live.WallDuration(), live.PeakRate(), live.WallRate); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntotal arrivals: %s at full scale (peak %s/s); live %s (peak %s/s)\n",
		Count(curve.Total()), Rate(curve.Peak()), Count(live.Total()), Rate(live.PeakRate()))

	return nil
}

func scenarioSKUs(w io.Writer, s *scenario.Scenario, live *scenario.Play) {

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
				fmt.Fprintf(w, ", ladder %g× −%g every %s (floor %g× cost)", l.Start, l.Step, ShortDuration(l.Every.D()), l.FloorOverCost)
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
}

func scenarioJourneys(w io.Writer, s *scenario.Scenario) {

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

// CrowdPlan writes the push tier's plan for a countdown crowd (sim.PlanWatchers' answer).
func CrowdPlan(w io.Writer, sku string, plan fmt.Stringer) error {
	_, err := fmt.Fprintf(w, "crowd on %s: %s\n", sku, plan)
	return err
}
