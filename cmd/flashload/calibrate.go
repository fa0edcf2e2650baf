package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/sim"
)

func init() { register(newCalibrateCmd) }

func newCalibrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "calibrate RUN_DIR|summary.json",
		Short: "Fit a capacity model to a live run and print it as a scenario model block",
		Long: "Fit the target's capacity to one live run: the concurrency per replica, from where the\n" +
			"service time starts rising with the requests in flight (the run's concurrency table),\n" +
			"and the service-time distribution (exponential, deterministic or lognormal, whichever\n" +
			"has the measured shape) at the mean of the requests that did not queue. Prints a\n" +
			"`model:` block to paste into the scenario (`flashload calibrate runs/x > model.yaml`);\n" +
			"sim, plan and rehearse calibrate with the same code.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return calibrateRun(c.OutOrStdout(), args[0])
		},
	}
}

func calibrateRun(w io.Writer, path string) error {
	cal, err := sim.CalibrateDir(path)
	if err != nil {
		return usageErr(err)
	}
	notes := append([]string{fmt.Sprintf("calibrated from %s: %d requests at %.0f/s", path, cal.Requests, cal.Rate)}, cal.Notes...)
	return render.ModelBlock(w, notes, cal.Apply(nil))
}
