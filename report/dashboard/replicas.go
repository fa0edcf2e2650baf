package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/flashload/flashload/result"
)

// replicaShares is each replica's share of the last window's answers, in ID order, over the
// replicas that answered and those ready: a ready replica with no answer is idle (the layer-4
// trap: a new replica no connection reaches). Nil when no answer named a replica.
func replicaShares(s result.Snapshot) (ids []string, shares []float64, idle int) {
	if len(s.ByReplica) == 0 && len(s.ReplicasReady) == 0 {
		return nil, nil, 0
	}
	set := map[string]bool{}
	for id := range s.ByReplica {
		set[id] = true
	}
	for _, id := range s.ReplicasReady {
		set[id] = true
	}
	ids = slices.Collect(maps.Keys(set))
	result.SortReplicaIDs(ids)
	var total int64
	for _, n := range s.ByReplica {
		total += n
	}
	for _, id := range ids {
		v := 0.0
		if total > 0 {
			v = float64(s.ByReplica[id]) / float64(total)
		}
		if s.ByReplica[id] == 0 && slices.Contains(s.ReplicasReady, id) {
			idle++
		}
		shares = append(shares, v)
	}
	return ids, shares, idle
}

// replicaLine is the dashboard's load per replica in width w: "load  replica-0 34% · replica-1
// 33% · replica-2 idle", "" with fewer than two replicas.
func (m model) replicaLine(w int) string {
	ids, shares, _ := replicaShares(m.snap)
	if len(ids) < 2 {
		return "" // one replica takes all: no spread to show
	}
	st := m.st
	parts := make([]string, len(ids))
	for i, id := range ids {
		v := pct(shares[i])
		if shares[i] == 0 && slices.Contains(m.snap.ReplicasReady, id) {
			v = st.warn.Render("idle")
		}
		parts[i] = printable(id) + " " + v
	}
	line := st.dim.Render("load ") + strings.Join(parts, " · ")
	return "\n" + ansi.Truncate(line, w, "…")
}

// replicaProgress is the plain progress line's part on the replicas' load: the least and most
// loaded replicas' shares of the last window and how many ready ones were idle.
func replicaProgress(s result.Snapshot) string {
	ids, shares, idle := replicaShares(s)
	if len(ids) < 2 {
		return ""
	}
	out := fmt.Sprintf(" · load per replica %s..%s", pct(slices.Min(shares)), pct(slices.Max(shares)))
	if idle > 0 {
		out += fmt.Sprintf(" (%d idle)", idle)
	}
	return out
}
