package dashboard

import (
	"io"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/flashload/flashload/result"
)

// liveSnapshot is a compressed live run half-way through its opening rush: the achieved rate
// falls behind the target, latency parts from service time, some arrivals are dropped.
func liveSnapshot() result.Snapshot {
	var tl []result.TimelinePoint
	for i := 0; i < 40; i++ {
		t := float64(i) * 60 // one window is a scenario minute
		target := 2000 + 150*float64(i)
		achieved := target
		if i > 25 {
			achieved = 5750 - 20*float64(i-25)
		}
		tl = append(tl, result.TimelinePoint{
			T: t, Wall: float64(i), TargetRPS: target, AchievedRPS: achieved,
			P50Ms: 2 + float64(i)/10, P99Ms: 8 + float64(i*i)/8, StockLeft: 20000 - int64(i*300),
		})
	}
	return result.Snapshot{
		Name: "double-eleven", Mode: "live", Target: "http://127.0.0.1:8080", Strategy: "redis-lua", Segment: "1/4",
		Wall: 40 * time.Second, ScenarioT: 40 * time.Minute, ScenarioDuration: 24 * time.Hour,
		Compress: 60, Progress: 40.0 / 1440,
		NextStage: "stage 3/3 double-eleven-day peak 6000/s in 1m20s",
		Last: result.WindowStats{
			Requests: 5100, Errors: 12, Dropped: 750, Shed: 40, AchievedRPS: 5070, TargetRPS: 7850,
			Latency: result.Percentiles{Mean: 40, P50: 6.5, P90: 80, P99: 203.4, P999: 410, Max: 512},
			Service: result.Percentiles{Mean: 9, P50: 4.2, P90: 12, P99: 31.5, P999: 60, Max: 88},
		},
		Total: result.WindowStats{
			Requests: 171234, Errors: 40, Dropped: 2210, Shed: 310, AchievedRPS: 4281, TargetRPS: 4926,
			Latency: result.Percentiles{Mean: 12, P50: 3.1, P90: 14, P99: 96, P999: 300, Max: 512},
			Service: result.Percentiles{Mean: 6, P50: 2.9, P90: 9.5, P99: 24, P999: 51, Max: 88},
		},
		ByCode:  map[string]int64{"RESERVED": 11800, "SOLD_OUT": 150000, "LIMIT_EXCEEDED": 321, "SHED": 310, "RATE_LIMITED": 77, "NOT_STARTED": 5, "BAD_REQUEST": 2, "X_CUSTOM": 3},
		ByError: map[string]int64{"timeout": 31, "reset": 9},
		Retries: 402, Timeline: tl,
		Stock: 20000200, StockLeft: 19988400, Sold: 11800, Paid: 10950, Released: 120, Oversold: 0,
		SKUs: []result.SKUStats{ // two SKUs, the flash one sold out
			{SKU: "phone-x", Flash: true, Stock: 200, Left: 0, Sold: 200, Paid: 190, SoldOutAtS: ptr(1872.0)},
			{SKU: "catalogue", Stock: 20000000, Left: 19988400, Sold: 11600, Paid: 10760, Released: 120},
		},
		Warnings: []string{"generator saturated: 64/64 workers busy"},
	}
}

// faultSnapshot is liveSnapshot with three faults: a failover applied late, a latency that
// lasted and ended, and a kill that failed.
func faultSnapshot() result.Snapshot {
	s := liveSnapshot()
	s.Faults = []result.Fault{
		{AtS: 840, Kind: "redis:failover", AppliedAtS: 900, OK: true},
		{AtS: 1500, Kind: "network:store", Detail: "latency 200ms, for 5m", AppliedAtS: 1500, OK: true, EndS: 1800, EndedAtS: 1800},
		{AtS: 2000, Kind: "postgres:kill", AppliedAtS: 2000, Error: "postgres faults need the postgres the rehearsal starts itself"},
	}
	return s
}

// simSnapshot is a simulation near its end, with an autoscaler and an oversell.
func simSnapshot() result.Snapshot {
	var tl []result.TimelinePoint
	for i := 0; i < 24; i++ {
		target := 20000.0
		if i >= 1 && i < 3 {
			target = 350000
		} else if i >= 3 {
			target = 60000 * (1 - float64(i-3)/30)
		}
		tl = append(tl, result.TimelinePoint{
			T: float64(i) * 3600, Wall: float64(i) * 3600, TargetRPS: target, AchievedRPS: target * 0.93,
			P99Ms: 40 + float64(i%5)*30, Replicas: 20 + i,
		})
	}
	return result.Snapshot{
		Name: "double-eleven", Mode: "sim",
		Wall: 23 * time.Hour, ScenarioT: 23 * time.Hour, ScenarioDuration: 24 * time.Hour, Compress: 1, Progress: 23.0 / 24,
		Last: result.WindowStats{
			Requests: 150_000_000, Errors: 0, Shed: 1_200_000, AchievedRPS: 41850, TargetRPS: 45000,
			Latency: result.Percentiles{P50: 8.1, P90: 22, P99: 61.5, P999: 140},
			Service: result.Percentiles{P50: 8.0, P90: 21.7, P99: 60.9, P999: 139},
		},
		Total: result.WindowStats{
			Requests: 4_100_000_000, Shed: 38_000_000, AchievedRPS: 47400, TargetRPS: 51000,
			Latency: result.Percentiles{P50: 9, P90: 35, P99: 480, P999: 1900},
			Service: result.Percentiles{P50: 8.8, P90: 30, P99: 210, P999: 800},
		},
		ByCode:   map[string]int64{"RESERVED": 20003, "SOLD_OUT": 4_000_000_000, "SHED": 38_000_000},
		Timeline: tl,
		Stock:    20000, StockLeft: 0, Sold: 20003, Paid: 19001, Released: 1002, Oversold: 3,
		Replicas: 43, DesiredReplicas: 48, Autoscaler: "scale up 43→48: utilization 0.82 > 0.70",
	}
}

// testModel is a model with a fixed snapshot and size, drawing without colours.
func testModel(s result.Snapshot, w, h int) model {
	m := newModel(func() result.Snapshot { return s }, func() {}, time.Millisecond, lipgloss.NewRenderer(io.Discard))
	m.snap, m.have = s, true
	m.width, m.height = w, h
	return m
}

func ptr[T any](v T) *T { return &v }
