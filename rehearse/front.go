package rehearse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/internal/l4"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Fronts: how the live engine reaches a fleet (--front).
const (
	// FrontNone: the engine spreads requests over the replicas itself, every request of a
	// shared connection to the next ready replica (flashload's own balancing).
	FrontNone = "none"
	// FrontL4: one loopback address in front of the fleet gives each new connection to a ready
	// replica, round robin, and keeps it there (kube-proxy's way: a Kubernetes Service).
	FrontL4 = "l4"
)

// replicaSet is which of the fleet's replicas take new load: the engine's active set, or the
// layer-4 front's backends.
type replicaSet interface {
	Set(on ...int) error
}

// frontSet makes a fleet's ready replicas a front's backends.
type frontSet struct {
	front *l4.Front
	fleet *Fleet
}

func (f frontSet) Set(on ...int) error {
	addrs := make([]string, 0, len(on))
	for _, k := range on {
		r, err := f.fleet.Replica(k)
		if err != nil {
			return err
		}
		addrs = append(addrs, r.Addr())
	}
	f.front.SetBackends(addrs...)
	return nil
}

// markReady tells the run's Recorder that replica k became ready or left (the summary's
// by_replica ready spans, which replica_spread reads).
func (a *autoscaler) markReady(k int, on bool) {
	if a.rec != nil {
		a.rec.SetReplicaReady(ReplicaID(k), time.Since(a.start), on)
	}
}

// checkFront checks --front and the connection flags against the rest of the options.
func (o *Options) checkFront() error {
	switch o.Front {
	case "", FrontNone:
	case FrontL4:
		if o.Replicas < 1 {
			return fmt.Errorf("--front %s puts a layer-4 front before a fleet: give --replicas N or MIN..MAX", FrontL4)
		}
	default:
		return fmt.Errorf("--front: %s or %s, not %q", FrontL4, FrontNone, o.Front)
	}
	return engine.CheckConnOptions(o.ConnMaxAge, o.ConnMaxRequests, "")
}

// frontConns is the connections the engine holds to a layer-4 front: what it holds to the
// fleet without one (DefaultConns for each of the smallest fleet's replicas, over every
// replica the fleet can have), so the two fronts compare with the same pool.
func frontConns(o Options, replicas, total int) (int, error) {
	play, err := o.Scenario.Play(scenario.PlayOptions{Wall: o.Wall, RateScale: o.RateScale})
	if err != nil {
		return 0, err
	}
	return scenario.DefaultConns(play.PeakRate()) * total / max(replicas, 1), nil
}

// sizeFront sets the engine's connections to a layer-4 front (--front l4) and says so in the
// service's description.
func (l *liveService) sizeFront(o Options) error {
	if o.Front != FrontL4 {
		return nil
	}
	var err error
	if l.conns, err = frontConns(o, l.replicas, len(l.tgt.URLs())); err != nil {
		return err
	}
	l.what += frontNote(o, l.conns)
	return nil
}

// startFront puts a layer-4 front before the fleet's serving replicas (the first replicas) and
// makes the autoscaler, when there is one, move its backends instead of the engine's set.
func startFront(fleet *Fleet, replicas int, scaler *autoscaler) (*l4.Front, error) {
	f, err := l4.Listen("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the layer-4 front: %w", err)
	}
	set := frontSet{front: f, fleet: fleet}
	ready := make([]int, replicas)
	for i := range ready {
		ready[i] = i
	}
	if err := set.Set(ready...); err != nil {
		f.Close()
		return nil, err
	}
	if scaler != nil {
		scaler.active = set
	}
	return f, nil
}

// fixedReady is an observer that marks a fixed fleet's replicas (or the in-process target)
// ready for the whole run, then runs next (nil: nothing more).
func fixedReady(replicas int, next func(context.Context, *result.Recorder, func() result.Snapshot)) func(context.Context, *result.Recorder, func() result.Snapshot) {
	return func(ctx context.Context, rec *result.Recorder, snap func() result.Snapshot) {
		for i := range max(replicas, 1) {
			rec.SetReplicaReady(ReplicaID(i), 0, true)
		}
		if next != nil {
			next(ctx, rec, snap)
		}
	}
}

// frontScenario is s with the model of the live front: behind a layer-4 front the played
// simulation pins the same number of connections and recycles them by the same rules.
func frontScenario(s *scenario.Scenario, o Options, conns int) *scenario.Scenario {
	if o.Front != FrontL4 || s.Model == nil {
		return s
	}
	c := *s
	m := *c.Model
	m.LoadBalancer = "l4"
	m.Connections = &scenario.Connections{Count: conns, MaxAge: scenario.Duration(o.ConnMaxAge), MaxRequests: o.ConnMaxRequests}
	m.Mode = "request" // the fluid mode spreads load evenly
	c.Model = &m
	return &c
}

// frontNote is what rehearse says about the front, for the target's description.
func frontNote(o Options, conns int) string {
	if o.Front != FrontL4 {
		return ""
	}
	var parts []string
	if o.ConnMaxAge > 0 {
		parts = append(parts, "at "+o.ConnMaxAge.String()+" old")
	}
	if o.ConnMaxRequests > 0 {
		parts = append(parts, fmt.Sprintf("after %d requests", o.ConnMaxRequests))
	}
	rec := "kept for the run"
	if len(parts) > 0 {
		rec = "recycled " + strings.Join(parts, " or ")
	}
	return fmt.Sprintf(", behind a layer-4 front (%d connections, %s)", conns, rec)
}
