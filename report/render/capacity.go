package render

import (
	"io"

	"github.com/flashload/flashload/result"
)

// CapacityText writes a capacity search: each step in the order played, and the answer.
func CapacityText(w io.Writer, name string, c *result.Capacity) error {
	ew := &errWriter{w: w}
	ew.printf("capacity search: %s (%d steps)\n", name, len(c.Steps))
	ew.printf("  %10s  %-4s  %10s  %8s\n", "rate/s", "", "p99", "errors")
	for _, st := range c.Steps {
		ew.printf("  %10.1f  %-4s  %10s  %7.2f%%\n", st.Rate, Verdict(st.Pass), result.FormatMs(st.P99Ms), st.ErrorRate*100)
	}
	if c.MaxRate > 0 {
		ew.printf("max rate: %.1f/s (the highest rate at which every gate held)\n", c.MaxRate)
	} else {
		ew.printf("max rate: none (no step passed)\n")
	}
	return ew.err
}

// CapacityMarkdown writes the same as a Markdown section.
func CapacityMarkdown(w io.Writer, c *result.Capacity) error {
	ew := &errWriter{w: w}
	ew.printf("## Capacity search\n\nmax rate: **%.1f/s**\n\n| step | rate/s | gates | p99 | errors |\n|---:|---:|---|---:|---:|\n", c.MaxRate)
	for i, st := range c.Steps {
		ew.printf("| %d | %.1f | %s | %s | %.2f%% |\n", i+1, st.Rate, Verdict(st.Pass), result.FormatMs(st.P99Ms), st.ErrorRate*100)
	}
	return ew.err
}
