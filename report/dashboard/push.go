package dashboard

import "fmt"

// pushView is one line on the run's push feeds: connections held now and at most, messages,
// push latency and fan-out spread; "" when the run subscribes to none.
func (m model) pushView() string {
	p := m.snap.Push
	if p == nil {
		return ""
	}
	line := fmt.Sprintf("push  %d held (peak %d) · %d failed · %d closed · %d messages · latency p50 %.1fms p99 %.1fms · spread %.1fms",
		p.Connections, p.ConnectionsPeak, p.ConnectFailures, p.ServerCloses, p.Messages, p.LatencyMs.P50, p.LatencyMs.P99, p.FanoutSpreadMs)
	return m.st.dim.Render(line)
}
