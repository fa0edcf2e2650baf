package engine

import (
	"math"
	"runtime"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// ShardCount is how many Recorder shards a run with this many workers records into: a few
// workers share a shard (its mutex is then rarely contended) so the number of HDR histograms
// stays small, plus one shard for the pacer's drops.
func ShardCount(workers int) int {
	return max(1, min(workers, 4*runtime.GOMAXPROCS(0))) + 1
}

// NewRecorder makes the Recorder a run of s fills, for callers that want to watch it (pass it
// in Options.Recorder). opts must be the options given to Run.
func NewRecorder(s *scenario.Scenario, play *scenario.Play, opts Options, seed int64) *result.Recorder {
	workers := opts.Workers
	if workers <= 0 {
		workers = defaultWorkers(s, play)
	}
	seg := ""
	share := 1.0 // a segment's target is its share of the schedule, so merged targets add up
	if g := play.Segment(); !g.Whole() {
		seg = g.String()
		share = 1 / float64(g.N)
	}
	return result.NewRecorder(result.RecorderOptions{
		Name:             s.Name,
		Mode:             "live",
		Seed:             seed,
		StartedAt:        time.Now(),
		Target:           opts.Target,
		Segment:          seg,
		Publish:          opts.Sealed != nil,
		Duration:         play.WallDuration(),
		Workers:          ShardCount(workers),
		TargetRate:       func(w time.Duration) float64 { return play.WallRate(w) * share },
		TargetCount:      func(w time.Duration) float64 { return play.Expected(w) * share },
		ScenarioAt:       play.ScenarioAt,
		ScenarioDuration: play.ScenarioDuration(),
		CompressAt:       play.CompressAt,
		NextStage: func(wall time.Duration) string {
			_, _, next := play.StageAt(wall)
			return next
		},
	})
}

// DefaultMaxWorkers is the open model's pool bound for a planned pool of workers: four times
// the plan, at most 20000 (never below the plan).
func DefaultMaxWorkers(workers int) int { return max(workers, min(4*workers, 20000)) }

// grown is opts with the pool at its bound: the transport gives each worker its own connection
// only when there are connections for all the pool may grow to.
func grown(opts Options) Options {
	opts.Workers = max(opts.Workers, opts.MaxWorkers)
	return opts
}

// defaultWorkers sizes the session pool: closed model, the VUs; open model, enough sessions for
// a second of arrivals at the peak plus the journeys' think time, within [64, 20000].
func defaultWorkers(s *scenario.Scenario, play *scenario.Play) int {
	if s.Traffic.Model == "closed" {
		return max(s.Traffic.VUs, 1)
	}
	budget := 1.0 + thinkUpper(s)/math.Max(minCompress(play), 1e-9)
	return int(min(max(math.Ceil(play.PeakRate()*budget), 64), 20000))
}

// thinkUpper is the longest total think time (scenario time) of any journey, from each think
// step's upper bound: what a session may spend sleeping.
func thinkUpper(s *scenario.Scenario) float64 {
	worst := 0.0
	for _, j := range s.Journeys {
		t := 0.0
		for _, st := range j.Steps {
			switch {
			case st.Think != nil:
				th := st.Think
				t += max(th.Fixed.D(), th.Max.D(), th.P99.D(), 3*th.Mean.D()).Seconds()
			case st.Pay != nil:
				t += st.Pay.Delay.D().Seconds()
			}
		}
		worst = max(worst, t)
	}
	return worst
}

func minCompress(p *scenario.Play) float64 {
	c := math.Inf(1)
	d := p.WallDuration()
	for i := 0; i <= 100; i++ {
		c = min(c, p.CompressAt(d*time.Duration(i)/100))
	}
	if math.IsInf(c, 0) {
		return 1
	}
	return c
}
