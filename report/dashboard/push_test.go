package dashboard

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flashload/flashload/result"
)

// TestPushLine: a run with push feeds shows them on one line; one without shows none.
func TestPushLine(t *testing.T) {
	s := liveSnapshot()
	s.Push = &result.Push{Connections: 2950, ConnectionsPeak: 3000, Messages: 6200, LatencyMs: result.PushLatency{P50: 1.7, P99: 233}, FanoutSpreadMs: 128.6}
	for _, size := range [][2]int{{120, 42}, {140, 45}} {
		v := ansi.Strip(testModel(s, size[0], size[1]).View())
		if !strings.Contains(v, "push  2950 held (peak 3000)") || !strings.Contains(v, "p99 233.0ms") {
			t.Errorf("%dx%d: no push line:\n%s", size[0], size[1], v)
		}
	}
	if v := ansi.Strip(testModel(liveSnapshot(), 120, 42).View()); strings.Contains(v, "held (peak") {
		t.Error("a run without feeds shows a push line")
	}
}
