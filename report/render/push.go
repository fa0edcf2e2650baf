package render

import (
	"fmt"

	"github.com/flashload/flashload/result"
)

// PushLine is the push feeds of a run on one line, "" when the run subscribed to none.
func PushLine(s *result.Summary) string {
	p := s.Push
	if p == nil {
		return ""
	}
	l := p.LatencyMs
	return fmt.Sprintf("peak %d connections, %d connect failures, %d closed by the server, %d messages; latency p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms; fan-out spread %.1f ms",
		p.ConnectionsPeak, p.ConnectFailures, p.ServerCloses, p.Messages, l.P50, l.P90, l.P99, l.Max, p.FanoutSpreadMs)
}

// HerdLine is the countdown crowd's herd on one line, "" without a crowd.
func HerdLine(s *result.Summary) string {
	h := s.Herd
	if h == nil {
		return ""
	}
	if h.OpenedAtS == 0 {
		return fmt.Sprintf("%d watchers; the opening never reached them", h.Watchers)
	}
	return fmt.Sprintf("%d watchers; opening received at %.3fs; %d purchases in the first second (%d in all), latency p50 %.1f ms p99 %.1f ms",
		h.Watchers, h.OpenedAtS, h.PurchasesFirst, h.Purchases, h.LatencyMs.P50, h.LatencyMs.P99)
}
