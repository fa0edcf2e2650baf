package render

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/flashload/flashload/gate"
	"github.com/flashload/flashload/result"
)

// WriteAll writes a finished run (result.Run.Complete) into dir: summary.json and
// histograms.hlog (run.Write), and report.html, which draws run.Predicted, the simulator's run
// of the same scenario, beside the measurement when there is one.
func WriteAll(dir string, run *result.Run) error {
	pred := run.Predicted
	if err := run.Write(dir); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, HTMLFile))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := HTML(bw, run, pred); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", HTMLFile, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CompareText writes a comparison as one table: a column per run, the change against the base
// (the first run) with "~" when it is not significant, and a regression mark.
func CompareText(w io.Writer, c *result.Comparison) error {
	ew := &errWriter{w: w}
	width := 14
	for _, l := range c.Labels {
		width = max(width, len(l)+2)
	}
	ew.printf("%-16s", "")
	for i, l := range c.Labels {
		if i == 0 {
			ew.printf("%*s", width, l+" (base)")
			continue
		}
		ew.printf("%*s%12s", width, l, "change")
	}
	ew.printf("\n")
	for _, row := range c.Rows {
		ew.printf("%-16s", row.Metric)
		for i, v := range row.Values {
			ew.printf("%*s", width, formatValue(row.Kind, v))
			if i == 0 {
				continue
			}
			ew.printf("%12s", cellText(row.Cells[i-1]))
		}
		ew.printf("\n")
	}
	ew.printf("\nchange: against the base; \"~\" = not significant (Mann-Whitney U over per-window samples, alpha %g)", c.Alpha)
	if c.MaxRegression > 0 {
		ew.printf("; ! = regression beyond %s", result.FormatChange(c.MaxRegression))
	}
	ew.printf("\n")
	return ew.err
}

// CompareMarkdown writes the comparison as a Markdown table.
func CompareMarkdown(w io.Writer, c *result.Comparison) error {
	ew := &errWriter{w: w}
	head := []string{"metric", c.Labels[0] + " (base)"}
	for _, l := range c.Labels[1:] {
		head = append(head, l, "change")
	}
	ew.printf("| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range c.Rows {
		cells := []string{row.Metric}
		for i, v := range row.Values {
			cells = append(cells, formatValue(row.Kind, v))
			if i > 0 {
				cells = append(cells, cellText(row.Cells[i-1]))
			}
		}
		ew.printf("| %s |\n", strings.Join(cells, " | "))
	}
	return ew.err
}

func cellText(c result.CompareCell) string {
	txt := result.FormatChange(c.Change)
	if !c.Significant {
		txt = "~"
		if c.Change != 0 && !math.IsNaN(c.P) {
			txt = "~ " + result.FormatChange(c.Change)
		}
	}
	if c.Regression {
		txt += " !"
	}
	return txt
}

func formatValue(k gate.Kind, v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch k {
	case gate.KindLatency:
		return result.FormatMs(v)
	case gate.KindRatio:
		return pct(v)
	case gate.KindRate:
		return rps(v)
	}
	return fmt.Sprintf("%.0f", v)
}
