package dashboard_test

import (
	"fmt"
	"time"

	"github.com/flashload/flashload/report"
	"github.com/flashload/flashload/report/dashboard"
)

// The plain progress line printed once per second when there is no terminal (CI, --no-tui).
func ExampleProgressLine() {
	s := report.Snapshot{
		Name: "constant-2k", Mode: "live",
		Wall: 2 * time.Second, ScenarioT: 2 * time.Second, ScenarioDuration: 5 * time.Second, Progress: 0.4,
		Last:  report.WindowStats{AchievedRPS: 1998.2, TargetRPS: 2000, Latency: report.Percentiles{P99: 3.1}},
		Total: report.WindowStats{Errors: 0, Dropped: 0},
		Stock: 1000000, StockLeft: 996004,
	}
	fmt.Println(dashboard.ProgressLine(s))
	// Output:
	// [0:00:02] constant-2k scenario 0:00:02/0:00:05 (40.0%) · rate 1,998/2,000 req/s · p99 3.10 ms · errors 0 · dropped 0 · stock left 996,004/1,000,000
}
