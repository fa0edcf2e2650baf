package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/report/web/ui"
	"github.com/flashload/flashload/result"
)

// The event stream, one JSON object per event:
//
//	hello     {client, can_stop, run, snap, points, result?}   the run so far, once per connection
//	snapshot  {run, snap, points}                              each poll: the windows that changed
//	result    {summary, gates, audit, report}                  the finished run
//	bye       {}                                               the process is ending
//
// snap is the Snapshot the dashboard draws, its durations in seconds (wireSnapshot); points
// are timeline windows by column (wirePoints). A page that sees a new run number starts afresh.

// serveEvents streams a run to one page until it leaves or the server closes.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	id := newID()
	s.mu.Lock()
	s.clients[id] = struct{}{}
	s.mu.Unlock()
	byeSent := false
	defer func() {
		s.mu.Lock()
		delete(s.clients, id)
		if !byeSent {
			delete(s.awaiting, id) // the page left: nobody will fetch the report for it
		}
		s.mu.Unlock()
	}()
	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	s.mu.Lock()
	run, seen := s.run, s.tick
	hello := struct {
		Client  string          `json:"client"`
		CanStop bool            `json:"can_stop"`
		Run     int             `json:"run"`
		Snap    json.RawMessage `json:"snap,omitempty"`
		Points  wirePoints      `json:"points"`
		Result  json.RawMessage `json:"result,omitempty"`
	}{Client: id, CanStop: s.opts.Token != "", Run: run, Snap: s.snap, Points: s.pointsSince(0), Result: s.result}
	resultSent := s.result != nil
	if resultSent && s.report != "" {
		s.awaiting[id] = false
	}
	changed := s.changed
	s.mu.Unlock()
	b, err := json.Marshal(hello)
	if err != nil || !send("hello", b) {
		return
	}
	ping := time.NewTicker(s.opts.Ping)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			s.mu.Lock()
			res := s.result
			s.mu.Unlock()
			if res != nil && !resultSent && !send("result", res) { // the result always comes before bye
				return
			}
			byeSent = send("bye", []byte("{}"))
			return
		case <-ping.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			continue
		case <-changed:
		}
		s.mu.Lock()
		changed = s.changed
		var snap []byte
		if s.tick != seen || s.run != run {
			from := seen
			if s.run != run {
				from, resultSent = 0, false
			}
			ev := struct {
				Run    int             `json:"run"`
				Snap   json.RawMessage `json:"snap,omitempty"`
				Points wirePoints      `json:"points"`
			}{Run: s.run, Snap: s.snap, Points: s.pointsSince(from)}
			run, seen = s.run, s.tick
			snap, _ = json.Marshal(ev)
		}
		var res []byte
		if s.result != nil && !resultSent {
			res, resultSent = s.result, true
			if _, ok := s.awaiting[id]; !ok && s.report != "" {
				s.awaiting[id] = false
			}
		}
		s.mu.Unlock()
		if snap != nil && !send("snapshot", snap) {
			return
		}
		if res != nil && !send("result", res) {
			return
		}
	}
}

// pointsSince is the run's windows changed after tick since (0: all of them), by column.
// Called with s.mu held.
func (s *Server) pointsSince(since uint64) wirePoints {
	var ps []result.TimelinePoint
	for _, h := range s.hist {
		if h.ver > since {
			ps = append(ps, h.p)
		}
	}
	return columns(ps)
}

// wirePoints are timeline windows by column, the keys the page's charts read; sku_left has a
// column per SKU, null where a window has no reading of it.
type wirePoints struct {
	Wall      []float64           `json:"wall"`
	T         []float64           `json:"t"`
	Target    []float64           `json:"target"`
	Achieved  []float64           `json:"achieved"`
	P50       []float64           `json:"p50"`
	P99       []float64           `json:"p99"`
	Errors    []int64             `json:"errors"`
	Shed      []int64             `json:"shed"`
	Dropped   []int64             `json:"dropped"`
	Replicas  []int               `json:"replicas"`
	StockLeft []int64             `json:"stock_left"`
	SKULeft   map[string][]*int64 `json:"sku_left,omitempty"`
}

func columns(ps []result.TimelinePoint) wirePoints {
	n := len(ps)
	c := wirePoints{Wall: make([]float64, n), T: make([]float64, n), Target: make([]float64, n), Achieved: make([]float64, n),
		P50: make([]float64, n), P99: make([]float64, n), Errors: make([]int64, n), Shed: make([]int64, n),
		Dropped: make([]int64, n), Replicas: make([]int, n), StockLeft: make([]int64, n)}
	for i, p := range ps {
		c.Wall[i], c.T[i], c.Target[i], c.Achieved[i] = finite(p.Wall), finite(p.T), finite(p.TargetRPS), finite(p.AchievedRPS)
		c.P50[i], c.P99[i] = finite(p.P50Ms), finite(p.P99Ms)
		c.Errors[i], c.Shed[i], c.Dropped[i], c.Replicas[i], c.StockLeft[i] = p.Errors, p.Shed, p.Dropped, p.Replicas, p.StockLeft
		for sku, v := range p.SKULeft {
			if c.SKULeft == nil {
				c.SKULeft = map[string][]*int64{}
			}
			col := c.SKULeft[sku]
			if col == nil {
				col = make([]*int64, n)
				c.SKULeft[sku] = col
			}
			col[i] = &v
		}
	}
	return c
}

func samePoint(a, b *result.TimelinePoint) bool {
	return reflect.DeepEqual(a, b)
}

// wireSnapshot is result.Snapshot as the page reads it: durations in seconds, numbers finite,
// faults with their spans, gates with their values in words. The timeline goes as points.
type wireSnapshot struct {
	Name              string                  `json:"name"`
	Mode              string                  `json:"mode"`
	Target            string                  `json:"target,omitempty"`
	Strategy          string                  `json:"strategy,omitempty"`
	Segment           string                  `json:"segment,omitempty"`
	WallS             float64                 `json:"wall_s"`
	ScenarioS         float64                 `json:"scenario_s"`
	ScenarioDurationS float64                 `json:"scenario_duration_s"`
	Compress          float64                 `json:"compress"`
	Progress          float64                 `json:"progress"`
	NextStage         string                  `json:"next_stage,omitempty"`
	Last              wireWindow              `json:"last"`
	Total             wireWindow              `json:"total"`
	ByCode            map[string]int64        `json:"by_code"`
	ByError           map[string]int64        `json:"by_error"`
	Retries           int64                   `json:"retries"`
	Stock             int64                   `json:"stock"`
	StockLeft         int64                   `json:"stock_left"`
	Sold              int64                   `json:"sold"`
	Paid              int64                   `json:"paid"`
	Released          int64                   `json:"released"`
	Oversold          int64                   `json:"oversold"`
	SKUs              []result.SKUStats       `json:"skus"`
	InFlight          int64                   `json:"in_flight"`
	Replicas          int                     `json:"replicas"`
	DesiredReplicas   int                     `json:"desired_replicas"`
	Autoscaler        string                  `json:"autoscaler,omitempty"`
	Scale             []result.ScalePoint     `json:"scale,omitempty"`
	PredictedScale    []result.ScalePoint     `json:"predicted_scale,omitempty"`
	Warnings          []string                `json:"warnings"`
	Faults            []ui.Fault              `json:"faults"`
	Done              bool                    `json:"done"`
	Partial           bool                    `json:"partial"`
	Generators        []result.GeneratorState `json:"generators,omitempty"`
	Gates             []gateRow               `json:"gates"`
	Push              *wirePush               `json:"push,omitempty"`
}

// wirePush is the push feeds so far, with the connections held now (which summary.json does
// not keep).
type wirePush struct {
	result.Push
	Held int64 `json:"held"`
}

type wireWindow struct {
	Requests    int64              `json:"requests"`
	Errors      int64              `json:"errors"`
	Dropped     int64              `json:"dropped"`
	Shed        int64              `json:"shed"`
	AchievedRPS float64            `json:"achieved_rps"`
	TargetRPS   float64            `json:"target_rps"`
	Latency     result.Percentiles `json:"latency"`
	Service     result.Percentiles `json:"service"`
}

type gateRow struct {
	Expr    string `json:"expr"`
	Value   string `json:"value"` // in the gate's unit, or why it was not measured
	Verdict string `json:"verdict"`
	Pass    bool   `json:"pass"`
	Error   string `json:"error,omitempty"`
}

type resultEvent struct {
	Summary json.RawMessage `json:"summary"`
	Gates   []gateRow       `json:"gates"`
	Audit   string          `json:"audit"`
	Report  string          `json:"report,omitempty"`
}

func gateRows(gs []result.GateResult) []gateRow {
	out := make([]gateRow, 0, len(gs))
	for _, g := range gs {
		v := render.Verdict(g.Pass)
		if g.Error != "" && !g.Pass {
			v = "n/a"
		}
		out = append(out, gateRow{Expr: g.Expr, Value: render.GateValue(g), Verdict: v, Pass: g.Pass, Error: g.Error})
	}
	return out
}

func auditText(a *result.Audit) string { return render.AuditLine(a) }

func wireSnap(sn result.Snapshot) wireSnapshot {
	w := wireSnapshot{Name: sn.Name, Mode: sn.Mode, Target: sn.Target, Strategy: sn.Strategy, Segment: sn.Segment,
		WallS: sn.Wall.Seconds(), ScenarioS: sn.ScenarioT.Seconds(), ScenarioDurationS: sn.ScenarioDuration.Seconds(),
		Compress: finite(sn.Compress), Progress: finite(sn.Progress), NextStage: sn.NextStage,
		Last: window(sn.Last), Total: window(sn.Total), ByCode: nonNil(sn.ByCode), ByError: nonNil(sn.ByError), Retries: sn.Retries,
		Stock: sn.Stock, StockLeft: sn.StockLeft, Sold: sn.Sold, Paid: sn.Paid, Released: sn.Released, Oversold: sn.Oversold,
		SKUs: slices.Clone(sn.SKUs), InFlight: sn.InFlight, Replicas: sn.Replicas, DesiredReplicas: sn.DesiredReplicas,
		Autoscaler: sn.Autoscaler, Scale: slices.Clone(sn.Scale), PredictedScale: sn.PredictedScale, Warnings: sn.Warnings,
		Faults: ui.Faults(sn.Faults, render.FaultLine), Done: sn.Done, Partial: sn.Partial, Generators: slices.Clone(sn.Generators),
		Gates: gateRows(sn.Gates)}
	if w.SKUs == nil {
		w.SKUs = []result.SKUStats{}
	}
	if w.Warnings == nil {
		w.Warnings = []string{}
	}
	for i := range w.SKUs {
		if p := w.SKUs[i].SoldOutAtS; p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			w.SKUs[i].SoldOutAtS = nil
		}
	}
	for i := range w.Generators {
		g := &w.Generators[i]
		g.LagS, g.CPU = finite(g.LagS), finite(g.CPU)
	}
	for i := range w.Scale {
		w.Scale[i].Util = finite(w.Scale[i].Util)
	}
	if p := sn.Push; p != nil {
		w.Push = &wirePush{Push: *p, Held: p.Connections}
		l := &w.Push.LatencyMs
		l.P50, l.P90, l.P99, l.Max = finite(l.P50), finite(l.P90), finite(l.P99), finite(l.Max)
		w.Push.FanoutSpreadMs = finite(w.Push.FanoutSpreadMs)
	}
	return w
}

func window(ws result.WindowStats) wireWindow {
	return wireWindow{Requests: ws.Requests, Errors: ws.Errors, Dropped: ws.Dropped, Shed: ws.Shed,
		AchievedRPS: finite(ws.AchievedRPS), TargetRPS: finite(ws.TargetRPS), Latency: percentiles(ws.Latency), Service: percentiles(ws.Service)}
}

func percentiles(p result.Percentiles) result.Percentiles {
	out := result.Percentiles{Mean: finite(p.Mean), P50: finite(p.P50), P90: finite(p.P90), P99: finite(p.P99), P999: finite(p.P999), Max: finite(p.Max)}
	return out
}

func nonNil(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
