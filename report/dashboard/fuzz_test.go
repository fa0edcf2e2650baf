package dashboard

import (
	"math"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flashload/flashload/result"
)

// FuzzView draws snapshots with arbitrary figures at arbitrary terminal sizes: the view must
// never panic and must fit the terminal, whatever a producer sends (NaN, negative, huge).
func FuzzView(f *testing.F) {
	f.Add(80, 24, 2000.0, 1950.0, 12.5, 3.0, int64(100), int64(2), int64(20000), int64(0), 5, 0.5, "live")
	f.Add(140, 45, 350000.0, 0.0, math.NaN(), math.Inf(1), int64(-5), int64(1<<62), int64(0), int64(7), 0, 2.0, "sim")
	f.Add(1, 1, -1.0, -1.0, -1.0, -1.0, int64(0), int64(0), int64(-1), int64(-1), 1000, -3.0, "")
	f.Add(20, 8, 1e300, 1e-300, 1e9, 0.001, int64(math.MaxInt64), int64(math.MinInt64), int64(1), int64(1), 1, math.NaN(), "x")
	f.Fuzz(func(t *testing.T, w, h int, target, achieved, p99, svc float64, dropped, errs, stock, oversold int64, points int, progress float64, mode string) {
		if w < 1 || h < 1 || w > 400 || h > 200 || points < 0 || points > 2000 {
			t.Skip()
		}
		s := result.Snapshot{
			Name: "fuzz", Mode: mode, Wall: time.Duration(points) * time.Second, ScenarioT: time.Duration(points) * time.Minute,
			ScenarioDuration: time.Hour, Compress: target, Progress: progress,
			Last:    result.WindowStats{Dropped: dropped, Errors: errs, AchievedRPS: achieved, TargetRPS: target, Latency: result.Percentiles{P99: p99}, Service: result.Percentiles{P99: svc}},
			Total:   result.WindowStats{Requests: errs, Errors: errs, Dropped: dropped},
			ByCode:  map[string]int64{"RESERVED": stock, "WEIRD": oversold},
			ByError: map[string]int64{"refused": errs},
			Stock:   stock, StockLeft: stock - oversold, Sold: stock + oversold, Oversold: oversold,
			Replicas: points, DesiredReplicas: -points, Autoscaler: mode,
			Warnings: []string{mode, mode},
		}
		for i := 0; i < points; i++ {
			s.Timeline = append(s.Timeline, result.TimelinePoint{T: float64(i) * p99, TargetRPS: target * float64(i%7), AchievedRPS: achieved, P99Ms: p99 * float64(i%3)})
		}
		m := testModel(s, w, h)
		v := ansi.Strip(m.View())
		checkSize(t, v, w, h)
		_ = ProgressLine(s)
	})
}
