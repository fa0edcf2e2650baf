package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flashload/flashload/scenario"
)

// ModelBlock writes the capacity fields of a calibrated model as a scenario `model:` block,
// each note as a comment above it: what `flashload calibrate` prints, to paste into a scenario.
func ModelBlock(w io.Writer, notes []string, m *scenario.Model) error {
	var b strings.Builder
	for _, n := range notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	b.WriteString("model:\n")
	if m.Replicas > 0 {
		fmt.Fprintf(&b, "  replicas: %d\n", m.Replicas)
	}
	if m.WorkersPerReplica > 0 {
		fmt.Fprintf(&b, "  workers_per_replica: %d\n", m.WorkersPerReplica)
	}
	st := m.ServiceTime
	d := func(v scenario.Duration) string { return v.D().Round(time.Microsecond).String() }
	switch st.Dist {
	case "lognormal":
		fmt.Fprintf(&b, "  service_time: {dist: lognormal, p50: %s, p99: %s}\n", d(st.P50), d(st.P99))
	case "":
	default:
		fmt.Fprintf(&b, "  service_time: {dist: %s, mean: %s}\n", st.Dist, d(st.Mean))
	}
	if c := m.Cache; c != nil && c.HitTime > 0 {
		fmt.Fprintf(&b, "  cache: {hit_ratio: %g, hit_time: %s}\n", c.HitRatio, d(c.HitTime))
	}
	if m.RoundTrip > 0 {
		fmt.Fprintf(&b, "  round_trip: %s\n", d(m.RoundTrip))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
