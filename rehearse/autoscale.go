package rehearse

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// ParseReplicas reads --replicas: "N" (a fixed fleet) or "MIN..MAX" (autoscaled by the
// scenario's model.autoscaler). It returns min and max (equal for "N").
func ParseReplicas(v string) (int, int, error) {
	lo, hi, ranged := strings.Cut(strings.TrimSpace(v), "..")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil || a < 0 {
		return 0, 0, fmt.Errorf("--replicas: N or MIN..MAX, not %q", v)
	}
	if !ranged {
		return a, a, nil
	}
	b, err := strconv.Atoi(strings.TrimSpace(hi))
	if err != nil || a < 1 || b < a {
		return 0, 0, fmt.Errorf("--replicas: MIN..MAX with 1 ≤ MIN ≤ MAX, not %q", v)
	}
	return a, b, nil
}

// ScalePoint is one decision of a live fleet's autoscaler.
type ScalePoint struct {
	T       time.Duration // scenario time
	Util    float64       // utilisation averaged over the period
	Ready   int           // replicas serving when it decided
	Desired int
	Reason  string
}

// autoscaler scales a Fleet while a rehearsal plays: every period of the model's autoscaler
// (scenario time, so compressed like the load) it reads the serving replicas' utilisation from
// their /metrics (busy slot time / slots with --workers, else requests in flight / the model's
// workers_per_replica), and lets sim.Autoscaling decide — the simulator's own rule, bounds and
// start-up delay. A replica it adds starts at once and takes load (joins the engine's active
// set) when the model's start-up delay has passed in scenario time and its process listens; a
// replica it removes leaves the active set first and is then stopped (SIGTERM: it drains).
type autoscaler struct {
	as      *sim.Autoscaling
	fleet   *Fleet
	active  replicaSet // the engine's active set, or the layer-4 front's backends (useFront)
	rec     *result.Recorder
	start   time.Time
	play    *scenario.Play
	slots   int // work slots per replica; 0: utilisation from in-flight requests over perPod
	perPod  int
	stderr  func(string, ...any)
	client  http.Client
	ready   []int           // serving replicas, in the order they joined (0 first)
	pending map[int]pending // started, not yet serving
	base    map[int]sample  // each serving replica's reading at the start of the period
	stops   sync.WaitGroup

	mu    sync.Mutex
	trace []ScalePoint
}

type pending struct {
	readyAt time.Duration // scenario time
	up      chan error    // the process's start: nil error once it listens
	err     error
	done    bool
}

type sample struct {
	held     float64 // flashload_target_work_busy_seconds_total
	inflight float64
	at       time.Time
}

// run scales until ctx ends; start is the run clock's zero (the load's first instant).
func (a *autoscaler) run(ctx context.Context, rec *result.Recorder, start time.Time) {
	a.rec, a.start = rec, start
	for _, k := range a.ready {
		rec.SetReplicaReady(ReplicaID(k), 0, true)
	}
	a.base = map[int]sample{}
	for _, k := range a.ready {
		a.base[k], _ = a.read(ctx, k)
	}
	st := tickState{next: a.as.Period()}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	rec.SetReplicas(0, len(a.ready), len(a.ready), a.as.Name()+": starting")
	for {
		select {
		case <-ctx.Done():
			a.stops.Wait()
			return
		case <-tick.C:
		}
		wall := time.Since(start)
		if d, ok := a.tick(ctx, a.play.ScenarioAt(wall), &st); ok {
			rec.SetReplicas(wall, len(a.ready), d.Desired, d.Reason)
		}
	}
}

// tickState is what the autoscaler's ticks carry from one to the next: the next decision's
// period boundary (scenario time) and the in-flight samples since the last decision.
type tickState struct {
	next        time.Duration
	inflightSum float64
	inflightN   int
}

// tick is one of the autoscaler's ticks at scenario time now: replicas whose startup has passed
// join; in-flight counts are sampled (without work slots); and once now reaches the next period
// boundary, the autoscaler decides and the fleet follows. It returns the decision, if it made one.
//
// The decision belongs to its period boundary, as the simulator's does: a replica it starts is
// ready at that boundary plus the startup, not at the tick's time plus it, which lands up to a
// tick (20 ms of wall time) after the boundary the startup ends on: the replica counted there
// only when that boundary's tick came later past it than the asking one had, else a period late
// (TestAutoscalerDecidesOnTheBoundary).
func (a *autoscaler) tick(ctx context.Context, now time.Duration, st *tickState) (sim.Decision, bool) {
	a.promote(ctx, now)
	if a.slots == 0 {
		for _, k := range a.ready {
			if s, err := a.read(ctx, k); err == nil {
				st.inflightSum += s.inflight
			}
		}
		st.inflightN++
	}
	if now < st.next {
		return sim.Decision{}, false
	}
	due := st.next
	st.next += a.as.Period()
	util, conc := a.observe(ctx, st.inflightSum, st.inflightN)
	st.inflightSum, st.inflightN = 0, 0
	ready := len(a.ready)
	d, _ := a.as.Decide(now, util, conc)
	a.mu.Lock()
	a.trace = append(a.trace, ScalePoint{T: now, Util: util, Ready: ready, Desired: d.Desired, Reason: d.Reason})
	a.mu.Unlock()
	a.follow(ctx, due, d.Desired)
	return d, true
}

// observe is the period's utilisation and concurrency over the serving replicas.
func (a *autoscaler) observe(ctx context.Context, inflightSum float64, inflightN int) (util, conc float64) {
	if a.slots == 0 {
		if inflightN > 0 {
			conc = inflightSum / float64(inflightN)
		}
		return conc / float64(a.perPod*max(1, len(a.ready))), conc
	}
	var held, capacity float64
	for _, k := range a.ready {
		s, err := a.read(ctx, k)
		if err != nil {
			continue
		}
		b := a.base[k]
		held += s.held - b.held
		capacity += float64(a.slots) * s.at.Sub(b.at).Seconds()
		conc += s.inflight
		a.base[k] = s
	}
	if capacity > 0 {
		util = held / capacity
	}
	return util, conc
}

// follow makes the live fleet what the autoscaler wants: replicas started or stopped.
func (a *autoscaler) follow(ctx context.Context, now time.Duration, desired int) {
	for len(a.ready)+len(a.pending) < desired {
		k := slices.IndexFunc(a.fleet.Replicas, func(r *Replica) bool {
			_, p := a.pending[r.Index]
			return !p && !slices.Contains(a.ready, r.Index) && !r.Running()
		})
		if k < 0 {
			a.stderr("rehearse: autoscaler wants %d replicas, the fleet has room for %d", desired, len(a.fleet.Replicas))
			return
		}
		p := pending{readyAt: now + a.as.Startup(), up: make(chan error, 1)}
		a.pending[k] = p
		go func(r *Replica) { p.up <- r.Start(ctx) }(a.fleet.Replicas[k])
	}
	// Taken away: starting replicas first (the newest), then serving ones (the last joined).
	for len(a.ready)+len(a.pending) > desired && len(a.pending) > 0 {
		var last int
		var at time.Duration = -1
		for k, p := range a.pending {
			if p.readyAt > at {
				last, at = k, p.readyAt
			}
		}
		p := a.pending[last]
		delete(a.pending, last)
		a.stopLater(ctx, last, p.up)
	}
	if len(a.ready) > desired && desired >= 1 {
		gone := a.ready[desired:]
		a.ready = slices.Clone(a.ready[:desired])
		if err := a.active.Set(a.ready...); err != nil {
			a.stderr("rehearse: autoscaler: %v", err)
		}
		for _, k := range gone {
			a.markReady(k, false)
			delete(a.base, k)
			a.stopLater(ctx, k, nil)
		}
	}
}

// promote makes serving the starting replicas whose start-up delay is over and that listen.
func (a *autoscaler) promote(ctx context.Context, now time.Duration) {
	var joined []int
	for k, p := range a.pending {
		if !p.done {
			select {
			case p.err = <-p.up:
				p.done = true
				a.pending[k] = p
				if p.err != nil {
					a.stderr("rehearse: autoscaler: replica %d did not start: %v", k, p.err)
				}
			default:
			}
		}
		if p.done && p.err == nil && now >= p.readyAt {
			joined = append(joined, k)
		}
	}
	if len(joined) == 0 {
		return
	}
	slices.Sort(joined)
	for _, k := range joined {
		delete(a.pending, k)
		a.ready = append(a.ready, k)
		a.base[k], _ = a.read(ctx, k)
		a.markReady(k, true)
	}
	if err := a.active.Set(a.ready...); err != nil {
		a.stderr("rehearse: autoscaler: %v", err)
	}
}

// stopLater stops replica k once requests sent before it left the set had time to finish
// (SIGTERM drains the rest), after its start when it is still starting.
func (a *autoscaler) stopLater(ctx context.Context, k int, up chan error) {
	a.stops.Add(1)
	go func() {
		defer a.stops.Done()
		if up != nil {
			select {
			case <-up:
			case <-ctx.Done():
			}
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		sctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
		defer cancel()
		if err := a.fleet.Replicas[k].Stop(sctx); err != nil {
			a.stderr("rehearse: autoscaler: stopping replica %d: %v", k, err)
		}
	}()
}

// read scrapes replica k's /metrics for its busy slot time and requests in flight.
func (a *autoscaler) read(ctx context.Context, k int) (sample, error) {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, a.fleet.Replicas[k].URL()+"/metrics", nil)
	if err != nil {
		return sample{}, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return sample{}, err
	}
	defer resp.Body.Close()
	s := sample{at: time.Now()}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "flashload_target_work_busy_seconds_total":
			s.held, _ = strconv.ParseFloat(v, 64)
		case "flashload_target_inflight":
			s.inflight, _ = strconv.ParseFloat(v, 64)
		}
	}
	return s, sc.Err()
}

// Trace is the decisions so far.
func (a *autoscaler) Trace() []ScalePoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.trace)
}

// points is the decisions so far as summary.json's scale[] (result.ScalePoint).
func (a *autoscaler) points() []result.ScalePoint {
	tr := a.Trace()
	out := make([]result.ScalePoint, len(tr))
	for i, p := range tr {
		out[i] = result.ScalePoint{T: p.T.Seconds(), Util: p.Util, Ready: p.Ready, Desired: p.Desired}
	}
	return out
}

// newAutoscaler is the autoscaler of o's scaled fleet (o.Replicas serving, up to
// o.MaxReplicas) and the engine's active set over every replica of the fleet.
func newAutoscaler(o Options, fleet *Fleet) (*autoscaler, *engine.Active, error) {
	s := o.Scenario
	as, err := sim.NewAutoscaling(s.Model, o.Replicas, o.MaxReplicas)
	if err != nil {
		return nil, nil, err
	}
	play, err := s.Play(scenario.PlayOptions{Wall: o.Wall, RateScale: o.RateScale})
	if err != nil {
		return nil, nil, err
	}
	ready := make([]int, o.Replicas)
	for i := range ready {
		ready[i] = i
	}
	active, err := engine.NewActive(len(fleet.Replicas), ready...)
	if err != nil {
		return nil, nil, err
	}
	perPod := s.Model.WorkersPerReplica
	if perPod <= 0 {
		perPod = sim.DefaultWorkersPerReplica
	}
	stderr := o.Stderr
	a := &autoscaler{as: as, fleet: fleet, active: active, play: play, slots: o.Target.Workers, perPod: perPod,
		ready: ready, pending: map[int]pending{}, base: map[int]sample{},
		stderr: func(f string, v ...any) { fmt.Fprintf(stderr, f+"\n", v...) }}
	return a, active, nil
}

// fleetScenario is s with the live fleet's replica range when the fleet is autoscaled
// (--replicas MIN..MAX): the simulation predicts that fleet, from its smallest size.
func fleetScenario(s *scenario.Scenario, o Options) *scenario.Scenario {
	if o.MaxReplicas <= o.Replicas || o.Replicas <= 0 || s.Model == nil || s.Model.Autoscaler == nil {
		return s
	}
	c := *s
	m := *c.Model
	au := *m.Autoscaler
	au.Min, au.Max, m.Replicas = o.Replicas, o.MaxReplicas, o.Replicas
	m.Autoscaler, c.Model = &au, &m
	return &c
}

// predictScale is the simulator's decisions for the autoscaled fleet at the played scale, from
// the scenario's model as written (before calibration), for the dashboard beside the live ones.
func predictScale(ctx context.Context, o Options, conns int) []result.ScalePoint {
	if o.NoSim {
		return nil
	}
	run, err := sim.Run(ctx, frontScenario(fleetScenario(o.Scenario, o), o, conns), sim.Options{Played: true, Seed: o.Seed, Wall: o.Wall, RateScale: o.RateScale})
	if err != nil {
		fmt.Fprintf(o.Stderr, "rehearse: no predicted replicas on the dashboard: %v\n", err)
		return nil
	}
	return run.Summary.Scale
}
