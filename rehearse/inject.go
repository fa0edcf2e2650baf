package rehearse

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/flashload/flashload/faults"
	"github.com/flashload/flashload/internal/stores"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

// bookOf is the store a strategy keeps its book of record in (network: {to: store}); "" for the
// in-process strategies.
func bookOf(strategy string) inventory.Store {
	if st := inventory.StoresOf(strategy); len(st) > 0 {
		return st[0]
	}
	return ""
}

// missingStore names what strategy lacks for fault f ("" when nothing): the matrix shows a
// strategy skipped for it as "n/a (no redis)".
func missingStore(strategy string, f *scenario.Fault) string {
	has := func(st inventory.Store) bool { return slices.Contains(inventory.StoresOf(strategy), st) }
	switch f.Store() {
	case scenario.FaultRedis:
		if !has(inventory.Redis) {
			return "no redis"
		}
	case scenario.FaultPostgres:
		if !has(inventory.Postgres) {
			return "no postgres"
		}
	case scenario.FaultStore:
		if bookOf(strategy) == "" {
			return "no store"
		}
	case scenario.FaultConsumer:
		if !inventory.HasConsumers(strategy) {
			return "no consumers"
		}
	}
	return ""
}

// unfit is the first fault of s that strategy cannot take, as its problem at its line:col, and
// the short reason for the matrix; nil when every fault fits.
func unfit(s *scenario.Scenario, strategy string) (error, string) {
	for i := range s.Faults {
		f := &s.Faults[i]
		if why := missingStore(strategy, f); why != "" {
			return f.Problem("%s needs a store strategy %s does not use (%s)", f.Kind(), strategy, why), why
		}
	}
	return nil, ""
}

// hasFault says whether s has a fault of class cls (and one of the actions, when given).
func hasFault(s *scenario.Scenario, cls string, actions ...string) bool {
	for i := range s.Faults {
		if s.Faults[i].Class() == cls && (len(actions) == 0 || slices.Contains(actions, s.Faults[i].Action())) {
			return true
		}
	}
	return false
}

// sentinelSetup says whether rehearse starts its Redis as a Sentinel-managed primary with a
// replica: for a scenario with `redis: failover`. There the other redis faults act on the
// primary of the moment (kill: the sentinels fail it over after their down-after time).
func sentinelSetup(s *scenario.Scenario) bool { return hasFault(s, scenario.FaultRedis, "failover") }

// injector applies a rehearsal's faults to what it owns: the stores it started, the target
// replicas (a Fleet) or the in-process target, and the proxies between the target and its
// stores. Stalls and consumer crashes go through the target's admin API.
type injector struct {
	strategy string
	stores   *Stores
	fleet    *Fleet // nil for the in-process target
	proxies  *Proxies
	admin    *faults.Admin
}

// storeProc is the started store process a redis or postgres fault acts on.
func (in *injector) storeProc(cls string) (interface {
	Kill() error
	Pause() error
	Resume() error
	Restart(context.Context) error
}, error) {
	switch cls {
	case scenario.FaultRedis:
		if in.stores.Sentinel != nil {
			return in.stores.Sentinel, nil
		}
		if in.stores.Redis != nil {
			return in.stores.Redis, nil
		}
	case scenario.FaultPostgres:
		if in.stores.Postgres != nil {
			return in.stores.Postgres, nil
		}
	}
	return nil, fmt.Errorf("%s faults need the %s the rehearsal starts itself (not one given by address)", cls, cls)
}

// link is the store a network fault's link goes to.
func (in *injector) link(n *scenario.NetworkFault) inventory.Store {
	if n.To == scenario.FaultStore {
		return bookOf(in.strategy)
	}
	return inventory.Store(n.To)
}

// replicas are the fleet replicas a target fault acts on.
func (in *injector) replicas(f *scenario.Fault) ([]*Replica, error) {
	if in.fleet == nil {
		return nil, errors.New("target kill and restart need the target as serve replicas (--replicas)")
	}
	if f.Replica == nil {
		return in.fleet.Replicas, nil
	}
	r, err := in.fleet.Replica(*f.Replica)
	if err != nil {
		return nil, err
	}
	return []*Replica{r}, nil
}

func (in *injector) Start(ctx context.Context, f *scenario.Fault) error {
	switch f.Class() {
	case scenario.FaultRedis, scenario.FaultPostgres:
		if f.Kind() == "redis:failover" {
			if in.stores.Sentinel == nil {
				return errors.New("redis: failover needs the Sentinel-managed Redis the rehearsal starts itself")
			}
			return in.stores.Sentinel.Failover(ctx)
		}
		p, err := in.storeProc(f.Class())
		if err != nil {
			return err
		}
		switch f.Action() {
		case "kill":
			return p.Kill()
		case "restart":
			// A crash and a start on the same port and directory: what survives is what the
			// store had made durable.
			if err := p.Kill(); err != nil && !errors.Is(err, stores.ErrNotRunning) {
				return err
			}
			return p.Restart(ctx)
		case "pause":
			return p.Pause()
		}
	case scenario.FaultNetwork:
		return in.proxies.Add(in.link(f.Network), f.Network)
	case scenario.FaultTarget:
		if f.Target == "stall" && in.fleet == nil {
			return in.admin.Start(ctx, f)
		}
		rs, err := in.replicas(f)
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range rs {
			switch f.Target {
			case "kill":
				errs = append(errs, r.Kill())
			case "restart":
				if err := r.Kill(); err != nil {
					errs = append(errs, err)
					continue
				}
				errs = append(errs, r.Start(ctx))
			case "stall":
				errs = append(errs, r.Pause())
			}
		}
		return errors.Join(errs...)
	case scenario.FaultConsumer:
		return in.admin.Start(ctx, f)
	}
	return fmt.Errorf("%s: %w", f.Kind(), faults.ErrUnsupported)
}

func (in *injector) End(ctx context.Context, f *scenario.Fault) error {
	switch f.Class() {
	case scenario.FaultRedis, scenario.FaultPostgres:
		p, err := in.storeProc(f.Class())
		if err != nil {
			return err
		}
		switch f.Action() {
		case "kill":
			return p.Restart(ctx)
		case "pause":
			return p.Resume()
		}
		return faults.ErrNothingToEnd
	case scenario.FaultNetwork:
		return in.proxies.Remove(in.link(f.Network))
	case scenario.FaultTarget:
		if f.Target == "restart" {
			return faults.ErrNothingToEnd
		}
		if f.Target == "stall" && in.fleet == nil {
			return faults.ErrNothingToEnd // the target's own stall ends by itself
		}
		rs, err := in.replicas(f)
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range rs {
			switch f.Target {
			case "kill":
				if !r.Running() {
					errs = append(errs, r.Start(ctx))
				}
			case "stall":
				errs = append(errs, r.Resume())
			}
		}
		return errors.Join(errs...)
	case scenario.FaultConsumer:
		return in.admin.End(ctx, f)
	}
	return faults.ErrNothingToEnd
}

// fitFaults checks the scenario's faults against the options before anything starts: with one
// strategy, a fault it has no store for is bad input at the fault's line:col; in a shoot-out
// that strategy is skipped (and shown as n/a in the fault matrix). Faults on a store given by
// address (not started by the rehearsal) cannot be applied.
func fitFaults(s *scenario.Scenario, o Options, strategies []string) ([]string, []Skipped, error) {
	if len(s.Faults) == 0 {
		return strategies, nil, nil
	}
	for i := range s.Faults {
		f := &s.Faults[i]
		if sentinelSetup(s) && f.Class() == scenario.FaultNetwork && f.Network.To != scenario.FaultPostgres {
			return nil, nil, &InputError{Err: f.Problem("network faults to Redis go through a proxy, which a Sentinel-managed Redis (redis: failover) has not: one per scenario")}
		}
		if (f.Class() == scenario.FaultRedis && o.Target.Redis != "") || (f.Class() == scenario.FaultPostgres && o.Target.Postgres != "") {
			return nil, nil, &InputError{Err: f.Problem("%s faults need the %s the rehearsal starts itself: drop --%s", f.Class(), f.Class(), f.Class())}
		}
	}
	var keep []string
	var skipped []Skipped
	for _, st := range strategies {
		err, why := unfit(s, st)
		switch {
		case err == nil:
			keep = append(keep, st)
		case len(strategies) == 1:
			return nil, nil, &InputError{Err: err}
		default:
			skipped = append(skipped, Skipped{Strategy: st, Reason: why})
		}
	}
	if len(keep) == 0 {
		return nil, nil, inputErr("%s: no strategy of the shoot-out has what its faults need", s.Name)
	}
	return keep, skipped, nil
}
