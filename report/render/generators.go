package render

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/flashload/flashload/result"
)

// Generators writes the table of a coordinated run's generators: state, windows received, lag,
// dropped arrivals and CPU.
func Generators(w io.Writer, gens []result.GeneratorState) error {
	if len(gens) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "generator\tstate\twindows\tlag\tdropped\tcpu\t")
	for _, g := range gens {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2fs\t%d\t%.2f\t\n", g.Segment, g.State, g.Windows, g.LagS, g.Dropped, g.CPU)
	}
	return tw.Flush()
}
