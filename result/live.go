package result

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// GeneratorState is one load generator of a coordinated run, as the watcher saw it (the
// summary's generators[] and the dashboard's generator lines).
type GeneratorState struct {
	Segment string `json:"segment"` // I/N
	// State: waiting (registered, not started), running, done, aborted (stopped by an abort),
	// lost (no heartbeat for too long: its windows so far are in the live view, not in the merge).
	State   string  `json:"state"`
	Host    string  `json:"host,omitempty"`
	Windows int64   `json:"windows"`         // windows received
	LagS    float64 `json:"lag_s"`           // how late its last window arrived after the window closed
	Dropped int64   `json:"dropped"`         // its dropped arrivals so far
	CPU     float64 `json:"cpu"`             // its process CPU, cores (1 = one core busy), last heartbeat
	Error   string  `json:"error,omitempty"` // why it failed, when it said so
}

// Live merges the Sealed windows of one or more generators as they arrive: the live view of a
// run (flashload watch over many generators, and a single generator's abort gates). Histograms
// add exactly, so once every generator's last Sealed is in, each window equals the merged run's.
// Its methods are safe for concurrent use.
type Live struct {
	mu      sync.Mutex
	name    string
	win     time.Duration
	dur     time.Duration
	windows map[int64]*window
	target  map[int64]float64
	total   *window
	sources map[string]*Sealed // the last counters of each generator
	next    map[string]int64   // per generator: windows before this index are complete
}

// NewLive makes an empty live view.
func NewLive() *Live {
	return &Live{windows: map[int64]*window{}, target: map[int64]float64{}, total: newWindow(-1),
		sources: map[string]*Sealed{}, next: map[string]int64{}}
}

// Add merges what generator source sealed. Every generator must use the same window.
func (l *Live) Add(source string, s *Sealed) error {
	if s.Window <= 0 {
		return errors.New("live: a sealed batch without a window length")
	}
	ws := make([]*window, 0, len(s.Windows))
	for i := range s.Windows {
		w, err := s.Windows[i].decode()
		if err != nil {
			return fmt.Errorf("live: %s: %w", source, err)
		}
		ws = append(ws, w)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.win == 0 {
		l.win = s.Window
	} else if l.win != s.Window {
		return fmt.Errorf("live: %s has %s windows, others %s", source, s.Window, l.win)
	}
	if s.Name != "" {
		l.name = s.Name
	}
	l.dur = max(l.dur, s.Duration)
	for i, w := range ws {
		if g := l.windows[w.idx]; g != nil {
			g.merge(w)
		} else {
			l.windows[w.idx] = w
		}
		l.total.merge(w)
		l.target[w.idx] += s.Windows[i].Target
	}
	c := *s
	c.Windows = nil
	l.sources[source] = &c
	n := int64(s.Wall / s.Window)
	if s.Final {
		n = math.MaxInt64
	}
	l.next[source] = max(l.next[source], n)
	return nil
}

// Summary is the run so far as one summary: counters summed over the generators, latency from
// the merged histograms, the timeline of the windows received, and the audit's figures from the
// target's last reading (audit.checked when there is one). Gates are not evaluated.
func (l *Live) Summary() *Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.summary()
}

func (l *Live) summary() *Summary {
	s := &Summary{Schema: SummarySchema, Name: l.name, Mode: "live", WindowS: l.win.Seconds(),
		Gates: []GateResult{}, Timeline: []TimelinePoint{}, Audit: Audit{Violations: []string{}}}
	s.Requests = Requests{ByStatus: map[string]int64{}, ByCode: map[string]int64{}}
	var wall time.Duration
	for _, src := range slices.Sorted(maps.Keys(l.sources)) {
		c := l.sources[src]
		wall = max(wall, c.Wall)
		addRequests(&s.Requests, &c.Requests)
		for k, q := range c.Rates {
			if s.Rates == nil {
				s.Rates = map[string]Ratio{}
			}
			m := s.Rates[k]
			s.Rates[k] = NewRatio(m.Num+q.Num, m.Den+q.Den)
		}
		if g := c.Gauges; g != nil {
			a := &s.Audit
			a.Checked = true
			a.Stock, a.Sold, a.Paid = max(a.Stock, g.Stock), max(a.Sold, g.Sold), max(a.Paid, g.Paid)
			a.Released, a.Oversold = max(a.Released, g.Released), max(a.Oversold, g.Oversold)
			if g.Replicas > 0 {
				s.Replicas.Min = min(nonZero(s.Replicas.Min, g.Replicas), g.Replicas)
				s.Replicas.Max = max(s.Replicas.Max, g.Replicas)
			}
		}
	}
	s.DurationS = wall.Seconds()
	s.LatencyMs, s.ServiceTimeMs = percentiles(l.total.lat), percentiles(l.total.svc)
	s.ServerTimeMs = serverPercentiles(l.total.srv)
	var targetSum float64
	last := int64(-1)
	for idx := range l.windows {
		last = max(last, idx)
	}
	for idx := range l.target {
		last = max(last, idx)
	}
	marks := s.Requests.Arrivals > 0
	for idx := int64(0); idx <= last; idx++ {
		start := time.Duration(idx) * l.win
		secs := l.win.Seconds()
		if wall > start && wall < start+l.win {
			secs = (wall - start).Seconds()
		}
		p := TimelinePoint{T: start.Seconds(), Wall: start.Seconds(), TargetRPS: l.target[idx] / secs}
		if start < wall {
			targetSum += l.target[idx]
		}
		if w := l.windows[idx]; w != nil {
			p.Requests, p.Arrivals = w.n, w.arrivals
			p.AchievedRPS = float64(achieved(w.n, w.arrivals, marks)) / secs
			p.Errors, p.Shed, p.Dropped = w.errs, w.shed, w.drops
			if w.lat.TotalCount() > 0 {
				p.P50Ms, p.P99Ms = usToMs(w.lat.ValueAtPercentile(50)), usToMs(w.lat.ValueAtPercentile(99))
			}
		}
		s.Timeline = append(s.Timeline, p)
	}
	finishRates(s, targetSum)
	return s
}

func nonZero(a, b int) int {
	if a == 0 {
		return b
	}
	return a
}

// complete is the index before which every generator has sealed its windows (-1 before any).
func (l *Live) complete() int64 {
	if len(l.next) == 0 {
		return 0
	}
	n := int64(math.MaxInt64)
	for _, v := range l.next {
		n = min(n, v)
	}
	return n
}

// Snapshot is the live view for the dashboard: the last window every generator has sealed, the
// run so far, the timeline, and the gates evaluated on the run so far.
func (l *Live) Snapshot(gates []string) Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.summary()
	snap := Snapshot{Name: s.Name, Mode: "live", Segment: fmt.Sprintf("%d generators", len(l.sources)),
		Wall: time.Duration(s.DurationS * float64(time.Second)), Compress: 1, ByCode: s.Requests.ByCode,
		ByError: s.Requests.ByError, Retries: s.Requests.Retries}
	snap.ScenarioT = snap.Wall
	if l.dur > 0 {
		snap.ScenarioDuration = l.dur
		snap.Progress = min(1, max(0, snap.Wall.Seconds()/l.dur.Seconds()))
	}
	marks := s.Requests.Arrivals > 0
	snap.Total = windowStats(l.total, s.DurationS, s.Rate.TargetAvg, marks)
	snap.Total.Requests, snap.Total.Errors, snap.Total.Shed, snap.Total.Dropped = s.Requests.Total, s.Requests.Errors, s.Requests.Shed, s.Requests.Dropped
	if c := l.complete(); c > 0 && c < math.MaxInt64 {
		if w := l.windows[c-1]; w != nil {
			var target float64
			if int(c-1) < len(s.Timeline) {
				target = s.Timeline[c-1].TargetRPS
			}
			snap.Last = windowStats(w, l.win.Seconds(), target, marks)
		}
	}
	from := max(0, len(s.Timeline)-DefaultSnapshotWindows)
	snap.Timeline = s.Timeline[from:]
	a := s.Audit
	snap.Stock, snap.Sold, snap.Paid, snap.Released, snap.Oversold = a.Stock, a.Sold, a.Paid, a.Released, a.Oversold
	snap.StockLeft = max(0, a.Stock-a.Sold)
	snap.Replicas = s.Replicas.Max
	s.Gates, _, _ = EvaluateGates(s, gates)
	snap.Gates = s.Gates
	return snap
}

// Abort evaluates the abort gates on the run so far and returns the first that failed. A gate
// the run cannot measure yet (no audit reading, no such rate so far) does not abort.
func (l *Live) Abort(exprs []string) (GateResult, bool) {
	if len(exprs) == 0 {
		return GateResult{}, false
	}
	s := l.Summary()
	for _, e := range exprs {
		t, err := ParseThreshold(e)
		if err != nil {
			continue // validated with the scenario
		}
		if g := t.Eval(s); !g.Pass && g.Error == "" {
			return g, true
		}
	}
	return GateResult{}, false
}

// Window returns window idx of the run so far (false when no generator sent answers in it).
func (l *Live) Window(idx int64) (TimelinePoint, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.windows[idx] == nil {
		return TimelinePoint{}, false
	}
	return l.summary().Timeline[idx], true
}
