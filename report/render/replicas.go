package render

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/flashload/flashload/result"
)

// ReplicaRow is one replica of the load-per-replica table (summary requests.by_replica).
type ReplicaRow struct {
	ID                          string
	Count, Failed               int64
	Share, Fair, P50, P99, From string
	Reach                       string // how long after joining it took 80% of its fair share, or "never"
}

// ReplicaRows lists s's replicas in ID order (replica-2 before replica-10).
func ReplicaRows(s *result.Summary) []ReplicaRow {
	var rows []ReplicaRow
	total := s.Requests.Total
	for _, id := range result.ReplicaIDs(s) {
		rs := s.Requests.ByReplica[id]
		r := ReplicaRow{ID: id, Count: rs.Count, Failed: rs.Failed, Fair: strconv.FormatFloat(rs.Fair, 'f', 2, 64),
			P50: ms(rs.P50Ms), P99: ms(rs.P99Ms), From: "-", Reach: "never"}
		if total > 0 {
			r.Share = pct(float64(rs.Count) / float64(total))
		}
		if len(rs.Ready) > 0 {
			r.From = dur(rs.Ready[0].FromS)
		}
		if rs.ReachS != nil {
			r.Reach = dur(*rs.ReachS)
		}
		rows = append(rows, r)
	}
	return rows
}

// ReplicaTable writes the load per replica, aligned, each line prefixed by indent, then the
// spread: each replica's answers, their share of the run's, its fair share (1: as many as an
// even spread over the replicas ready with it gives), when it became ready and how long it then
// took to reach 80% of its fair share.
func ReplicaTable(w io.Writer, indent string, s *result.Summary) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%sreplica\tanswers\tshare\tfair\tfailed\tp50\tp99\tready at\t80%% of fair after\t\n", indent)
	for _, r := range ReplicaRows(s) {
		fmt.Fprintf(tw, "%s%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", indent, r.ID, r.Count, r.Share, r.Fair, r.Failed, r.P50, r.P99, r.From, r.Reach)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s%s\n", indent, SpreadLine(s))
	return err
}

// SpreadLine says how evenly the load spread: replica_spread and the least-loaded replica.
func SpreadLine(s *result.Summary) string {
	v, err := result.ReplicaSpread(s)
	if err != nil {
		return "replica_spread: " + err.Error()
	}
	least, low := "", 0.0
	for _, r := range ReplicaRows(s) {
		if f := s.Requests.ByReplica[r.ID].Fair; least == "" || f < low {
			least, low = r.ID, f
		}
	}
	return fmt.Sprintf("replica_spread %s (the least-loaded ready replica, %s, took %s of its fair share; 100%% is an even spread)",
		pct(v), least, pct(low))
}

// replicaMarkdown writes the load per replica in Markdown.
func replicaMarkdown(ew *errWriter, s *result.Summary) {
	ew.printf("| replica | answers | share | fair | failed | p50 | p99 | ready at | 80%% of fair after |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range ReplicaRows(s) {
		ew.printf("| %s | %d | %s | %s | %d | %s | %s | %s | %s |\n", mdEscape(r.ID), r.Count, r.Share, r.Fair, r.Failed, r.P50, r.P99, r.From, r.Reach)
	}
	ew.printf("\n%s\n\n", mdEscape(SpreadLine(s)))
}

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " ms" }
