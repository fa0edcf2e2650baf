package result_test

import (
	"fmt"
	"time"

	"github.com/flashload/flashload/result"
)

// A generator records each answer into its worker's shard; Finish gives the summary, which the
// gates then read.
func ExampleNewRecorder() {
	rec := result.NewRecorder(result.RecorderOptions{Name: "constant-2k", Mode: "live", Workers: 2,
		Window: time.Second, TargetRate: func(time.Duration) float64 { return 100 }})
	for i := range 200 {
		intended := time.Duration(i) * 10 * time.Millisecond
		res := result.Result{Intended: intended, Sent: intended + time.Millisecond, Done: intended + 5*time.Millisecond,
			Step: "purchase", Status: 201, Code: "RESERVED", First: true}
		if i%50 == 0 {
			res.Status, res.Code = 503, "SHED"
		}
		rec.Shard(i % 2).Record(&res)
	}
	rec.Shard(0).Drop(1500 * time.Millisecond)
	run := rec.Finish(2 * time.Second)
	s := run.Summary
	pass, _ := run.Complete(result.Completion{Gates: []string{"p(99) < 10ms", "shed_rate < 1%", "achieved_rate >= 95% of target"}})
	fmt.Println(s.Requests.Total, s.Requests.Shed, s.Requests.Dropped, s.LatencyMs.P99, s.Rate.AchievedAvg)
	for _, g := range s.Gates {
		fmt.Println(g.Pass, g.Expr, result.FormatGateValue(g))
	}
	fmt.Println(pass)
	// Output:
	// 200 4 1 5.003 100
	// true p(99) < 10ms 5.0ms
	// false shed_rate < 1% 2.00%
	// true achieved_rate >= 95% of target 100.00%
	// false
}
