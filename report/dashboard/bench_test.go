package dashboard

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// BenchmarkView is one redraw of the big layout within a window (the chart is cached); the
// TUI redraws 4 times a second by default.
func BenchmarkView(b *testing.B) {
	m := testModel(liveSnapshot(), 140, 45)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkUpdateSnapshot is the work done per poll besides drawing.
func BenchmarkUpdateSnapshot(b *testing.B) {
	m := testModel(liveSnapshot(), 140, 45)
	msg := snapMsg(liveSnapshot())
	b.ReportAllocs()
	var next tea.Model = m
	for b.Loop() {
		next, _ = next.Update(msg)
	}
}

// BenchmarkProgressLine is one plain progress line.
func BenchmarkProgressLine(b *testing.B) {
	s := liveSnapshot()
	b.ReportAllocs()
	for b.Loop() {
		_ = ProgressLine(s)
	}
}

// BenchmarkViewNewWindow is a redraw when a new window arrived (the chart is drawn again).
func BenchmarkViewNewWindow(b *testing.B) {
	m := testModel(liveSnapshot(), 140, 45)
	m.charts = nil
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}
