package render

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/flashload/flashload/result"
)

// NamedRow is one row of the per-step or per-journey table.
type NamedRow struct {
	Name                      string
	Count, OK, Failed         int64
	P50, P90, P99, Max, Share string
}

// NamedRows lists a Summary.Steps or Summary.Journeys map as table rows, by name.
func NamedRows(m map[string]result.NamedStats) []NamedRow {
	rows := make([]NamedRow, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		st := m[k]
		share := "-"
		if st.Count > 0 {
			share = pct(float64(st.Failed) / float64(st.Count))
		}
		p := st.LatencyMs
		rows = append(rows, NamedRow{Name: k, Count: st.Count, OK: st.OK, Failed: st.Failed, Share: share,
			P50: result.FormatMs(p.P50), P90: result.FormatMs(p.P90), P99: result.FormatMs(p.P99), Max: result.FormatMs(p.Max)})
	}
	return rows
}

// NamedTable writes the per-step (kind "step") or per-journey table, aligned, each line
// prefixed by indent.
func NamedTable(w io.Writer, indent, kind string, m map[string]result.NamedStats) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s%s\tcount\tok\tfailed\tfailed %%\tp50\tp90\tp99\tmax\t\n", indent, kind)
	for _, r := range NamedRows(m) {
		fmt.Fprintf(tw, "%s%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", indent, r.Name, r.Count, r.OK, r.Failed, r.Share, r.P50, r.P90, r.P99, r.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Journeys that ended at a step for want of a value (a capture not found): not errors of
	// the service, so apart from the table's failures.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		st := m[k]
		if st.Skipped == 0 {
			continue
		}
		fmt.Fprintf(w, "%sskipped at %s: %d", indent, k, st.Skipped)
		for _, why := range slices.Sorted(maps.Keys(st.SkippedReasons)) {
			fmt.Fprintf(w, "; %s: %d", why, st.SkippedReasons[why])
		}
		fmt.Fprintln(w)
	}
	return nil
}

// SKURow is one SKU of the sale table: the run's figures and, when a full-scale simulation is
// known, its sell-out moment beside the run's.
type SKURow struct {
	SKU, Kind                                         string
	Stock, Left, Sold, Paid, Released, Oversold, Lost int64
	SoldOut, FullSoldOut, Apart                       string
}

// SKURows lists s.SKUs (flash first) with the sell-out moments of s and of full (nil: none).
func SKURows(s, full *result.Summary) []SKURow {
	rows := make([]SKURow, 0, len(s.SKUs))
	for _, k := range s.SKUs {
		r := SKURow{SKU: k.SKU, Kind: "catalogue", Stock: k.Stock, Left: k.Left, Sold: k.Sold, Paid: k.Paid,
			Released: k.Released, Oversold: k.Oversold, Lost: k.Lost, SoldOut: soldOutAt(k.SoldOutAtS), FullSoldOut: "-", Apart: "-"}
		if k.Flash {
			r.Kind = "flash"
		}
		if full != nil {
			for _, f := range full.SKUs {
				if f.SKU != k.SKU {
					continue
				}
				r.FullSoldOut = soldOutAt(f.SoldOutAtS)
				if k.SoldOutAtS != nil && f.SoldOutAtS != nil {
					r.Apart = apart(*f.SoldOutAtS, *k.SoldOutAtS)
				}
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// soldOutAt prints a sell-out moment in scenario time ("1h0m12s"), or "-" when none.
func soldOutAt(at *float64) string {
	if at == nil {
		return "-"
	}
	return dur(*at)
}

// SKUTable writes the sale per SKU, aligned; with full, the full-scale simulation's sell-out
// moment and how far the run's is from it (in percent of the simulated moment's scenario time).
func SKUTable(w io.Writer, indent string, s, full *result.Summary) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	head := indent + "sku\t\tstock\tleft\tsold\tpaid\treleased\toversold\tlost\tsold out at\t"
	if full != nil {
		head += "simulated (full scale)\tapart\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range SKURows(s, full) {
		line := indent + r.SKU + "\t" + r.Kind + "\t" + strconv.FormatInt(r.Stock, 10) + "\t" + strconv.FormatInt(r.Left, 10) + "\t" +
			strconv.FormatInt(r.Sold, 10) + "\t" + strconv.FormatInt(r.Paid, 10) + "\t" + strconv.FormatInt(r.Released, 10) + "\t" +
			strconv.FormatInt(r.Oversold, 10) + "\t" + strconv.FormatInt(r.Lost, 10) + "\t" + r.SoldOut + "\t"
		if full != nil {
			line += r.FullSoldOut + "\t" + r.Apart + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// namedMarkdown writes the per-step or per-journey table in Markdown.
func namedMarkdown(ew *errWriter, kind string, m map[string]result.NamedStats) {
	ew.printf("| %s | count | ok | failed | failed %% | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", kind)
	for _, r := range NamedRows(m) {
		ew.printf("| %s | %d | %d | %d | %s | %s | %s | %s | %s |\n", mdEscape(r.Name), r.Count, r.OK, r.Failed, r.Share, r.P50, r.P90, r.P99, r.Max)
	}
	ew.printf("\n")
}

// skuMarkdown writes the sale per SKU in Markdown.
func skuMarkdown(ew *errWriter, s, full *result.Summary) {
	ew.printf("| sku | | stock | left | sold | paid | released | oversold | lost | sold out at |")
	sep := "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	if full != nil {
		ew.printf(" simulated (full scale) | apart |")
		sep += "---:|---:|"
	}
	ew.printf("\n%s\n", sep)
	for _, r := range SKURows(s, full) {
		ew.printf("| %s | %s | %d | %d | %d | %d | %d | %d | %d | %s |", mdEscape(r.SKU), r.Kind, r.Stock, r.Left, r.Sold, r.Paid, r.Released, r.Oversold, r.Lost, r.SoldOut)
		if full != nil {
			ew.printf(" %s | %s |", r.FullSoldOut, r.Apart)
		}
		ew.printf("\n")
	}
	ew.printf("\n")
}
