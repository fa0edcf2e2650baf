package dashboard_test

import (
	"fmt"
	"time"

	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/result"
)

// The plain progress line printed once per second when there is no terminal (CI, --no-tui).
func ExampleProgressLine() {
	s := result.Snapshot{
		Name: "constant-2k", Mode: "live",
		Wall: 2 * time.Second, ScenarioT: 2 * time.Second, ScenarioDuration: 5 * time.Second, Progress: 0.4,
		Last:  result.WindowStats{AchievedRPS: 1998.2, TargetRPS: 2000, Latency: result.Percentiles{P99: 3.1}},
		Total: result.WindowStats{Errors: 0, Dropped: 0},
		Stock: 1000000, StockLeft: 996004,
	}
	fmt.Println(dashboard.ProgressLine(s))
	// Output:
	// [0:00:02] constant-2k scenario 0:00:02/0:00:05 (40.0%) · rate 1,998/2,000 req/s · p99 3.10 ms · errors 0 · dropped 0 · stock left 996,004/1,000,000
}
