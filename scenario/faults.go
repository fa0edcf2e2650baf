package scenario

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Fault is one entry of a scenario's `faults:` list: something that goes wrong at a moment of
// the sale. Exactly one kind key is set (redis, postgres, network, target, consumer). Times are
// scenario time, like every time in the file: a compressed run applies them at the wall time
// the scenario's clock reaches them (Play.WallAt).
type Fault struct {
	At           string        `yaml:"at"`            // scenario time ("6m", "90", "1h") or share of the run ("40%")
	For          Duration      `yaml:"for"`           // how long a fault with a duration lasts (pause, network, stall; a kill's downtime)
	Redis        string        `yaml:"redis"`         // kill | restart | pause | failover
	Postgres     string        `yaml:"postgres"`      // kill | restart | pause
	Network      *NetworkFault `yaml:"network"`       // between the target and a store
	Target       string        `yaml:"target"`        // kill | restart | stall
	Replica      *int          `yaml:"replica"`       // the target replica (0-based) of a target or consumer fault; all replicas when absent
	RestartAfter Duration      `yaml:"restart_after"` // target kill: start the replica again after this long
	Consumer     string        `yaml:"consumer"`      // kill (redis-mq's order consumers)

	AtTime     time.Duration `yaml:"-"` // At resolved to scenario time
	Line, Col  int           `yaml:"-"` // where the fault is written (for problems found later)
	file, path string
}

// NetworkFault is a network fault between the target and a store, through a proxy.
type NetworkFault struct {
	To        string   `yaml:"to"` // redis | postgres | store (the strategy's book of record)
	Latency   Duration `yaml:"latency"`
	Jitter    Duration `yaml:"jitter"`
	Reset     bool     `yaml:"reset"`     // connections reset (RST) while it lasts
	Partition bool     `yaml:"partition"` // nothing gets through while it lasts
}

// Fault kinds as Kind names them: "redis:kill", "network:redis", "target:stall", ...
const (
	FaultRedis    = "redis"
	FaultPostgres = "postgres"
	FaultNetwork  = "network"
	FaultTarget   = "target"
	FaultConsumer = "consumer"
	// FaultStore is network.to's name for the strategy's book of record (Redis or PostgreSQL).
	FaultStore = "store"
)

var faultActions = map[string][]string{
	FaultRedis:    {"kill", "restart", "pause", "failover"},
	FaultPostgres: {"kill", "restart", "pause"},
	FaultTarget:   {"kill", "restart", "stall"},
	FaultConsumer: {"kill"},
}

// Class is the fault's kind key: redis, postgres, network, target or consumer ("" when none).
func (f *Fault) Class() string {
	switch {
	case f.Redis != "":
		return FaultRedis
	case f.Postgres != "":
		return FaultPostgres
	case f.Network != nil:
		return FaultNetwork
	case f.Target != "":
		return FaultTarget
	case f.Consumer != "":
		return FaultConsumer
	}
	return ""
}

// Action is what happens: kill, restart, pause, failover, stall; for a network fault the store
// it reaches (redis, postgres, store).
func (f *Fault) Action() string {
	switch f.Class() {
	case FaultRedis:
		return f.Redis
	case FaultPostgres:
		return f.Postgres
	case FaultNetwork:
		return f.Network.To
	case FaultTarget:
		return f.Target
	case FaultConsumer:
		return f.Consumer
	}
	return ""
}

// Kind is "class:action": "redis:failover", "network:store", "target:kill".
func (f *Fault) Kind() string { return f.Class() + ":" + f.Action() }

// Detail describes the fault's parameters: "for 3s", "latency 200ms jitter 50ms", "replica 1,
// restart after 2s".
func (f *Fault) Detail() string {
	var parts []string
	if n := f.Network; n != nil {
		if n.Latency > 0 {
			parts = append(parts, "latency "+n.Latency.D().String())
		}
		if n.Jitter > 0 {
			parts = append(parts, "jitter "+n.Jitter.D().String())
		}
		if n.Reset {
			parts = append(parts, "reset")
		}
		if n.Partition {
			parts = append(parts, "partition")
		}
	}
	if f.Replica != nil {
		parts = append(parts, "replica "+strconv.Itoa(*f.Replica))
	}
	if f.RestartAfter > 0 {
		parts = append(parts, "restart after "+f.RestartAfter.D().String())
	}
	if f.For > 0 {
		parts = append(parts, "for "+f.For.D().String())
	}
	return strings.Join(parts, ", ")
}

// Store is the store the fault needs: "redis", "postgres", "store" (whichever the strategy
// keeps its state in), "consumer" (a strategy with order consumers), "" for target faults.
func (f *Fault) Store() string {
	switch f.Class() {
	case FaultRedis, FaultPostgres:
		return f.Class()
	case FaultNetwork:
		return f.Network.To
	case FaultConsumer:
		return FaultConsumer
	}
	return ""
}

// End is the scenario time the fault is over: AtTime plus its duration (For, or a target
// kill's RestartAfter); AtTime for an instant fault.
func (f *Fault) End() time.Duration {
	return f.AtTime + max(f.For.D(), f.RestartAfter.D())
}

// Problem is a problem with this fault found after parsing (a strategy that has not the store
// it needs), at the fault's place in the file: the same *FieldError parse problems are.
func (f *Fault) Problem(format string, args ...any) error {
	return &FieldError{File: f.file, Line: f.Line, Col: f.Col, Path: f.path, Msg: fmt.Sprintf(format, args...)}
}

// hasDuration says whether the fault's kind lasts (and needs or accepts `for`).
func (f *Fault) hasDuration() (accepts, needs bool) {
	switch f.Kind() {
	case "redis:pause", "postgres:pause", "target:stall":
		return true, true
	case "redis:kill", "postgres:kill", "consumer:kill":
		return true, false // down for that long, then started again; without it, until the end of the run
	}
	if f.Class() == FaultNetwork {
		return true, false // without it, until the end of the run
	}
	return false, false
}

// subject is what the fault acts on; two faults on one subject whose spans overlap conflict.
// Network faults to "store" act on both stores' links, as the strategy decides later.
func (f *Fault) subjects() []string {
	switch f.Class() {
	case FaultNetwork:
		if f.Network.To == FaultStore {
			return []string{"network:redis", "network:postgres"}
		}
		return []string{"network:" + f.Network.To}
	case FaultTarget, FaultConsumer:
		// One POST /admin/faults per replica carries both a stall and a consumer kill.
		if f.Replica == nil {
			return []string{"target"}
		}
		return []string{"target", "target:" + strconv.Itoa(*f.Replica)}
	}
	return []string{f.Class()}
}

// validateFaults checks the faults list, after the duration is known.
func (v *validator) validateFaults() {
	s := v.s
	dur := s.Duration.D()
	valid := make([]bool, len(s.Faults))
	for i := range s.Faults {
		f := &s.Faults[i]
		p := fmt.Sprintf("faults[%d]", i)
		f.file, f.path = v.d.file, p
		if pos := v.d.pos[p]; pos != nil {
			f.Line, f.Col = pos.Line, pos.Column
		}
		var keys []string
		for _, k := range []struct {
			name string
			set  bool
		}{{FaultRedis, f.Redis != ""}, {FaultPostgres, f.Postgres != ""}, {FaultNetwork, f.Network != nil},
			{FaultTarget, f.Target != ""}, {FaultConsumer, f.Consumer != ""}} {
			if k.set {
				keys = append(keys, k.name)
			}
		}
		switch len(keys) {
		case 0:
			v.problem(p, "names no fault: give one of redis, postgres, network, target, consumer")
			continue
		case 1:
		default:
			v.problem(p, "names %d faults (%s): one per entry", len(keys), strings.Join(keys, ", "))
			continue
		}
		cls := keys[0]
		if acts, ok := faultActions[cls]; ok && !slices.Contains(acts, f.Action()) {
			v.problem(p+"."+cls, "unknown %s fault %q (known: %s)", cls, f.Action(), strings.Join(acts, ", "))
			continue
		}
		if n := f.Network; n != nil {
			switch n.To {
			case FaultRedis, FaultPostgres, FaultStore:
			case "":
				v.problem(p+".network.to", "is required: redis, postgres or store (the strategy's book of record)")
			default:
				v.problem(p+".network.to", "unknown store %q (known: redis, postgres, store)", n.To)
			}
			if n.Latency < 0 || n.Jitter < 0 {
				v.problem(p+".network", "latency and jitter must be ≥ 0")
			}
			if n.Jitter > 0 && n.Latency == 0 {
				v.problem(p+".network.jitter", "needs a latency to vary around")
			}
			effects := 0
			for _, on := range []bool{n.Latency > 0, n.Reset, n.Partition} {
				if on {
					effects++
				}
			}
			switch {
			case effects == 0:
				v.problem(p+".network", "does nothing: give latency, reset or partition")
			case effects > 1:
				v.problem(p+".network", "latency, reset and partition are separate faults: one per entry")
			}
		}
		if f.Replica != nil && cls != FaultTarget && cls != FaultConsumer {
			v.problem(p+".replica", "applies to target and consumer faults only")
		} else if f.Replica != nil && *f.Replica < 0 {
			v.problem(p+".replica", "must be ≥ 0 (replicas count from 0)")
		}
		if f.RestartAfter != 0 && f.Kind() != "target:kill" {
			v.problem(p+".restart_after", "applies to target: kill only")
		} else if f.RestartAfter < 0 {
			v.problem(p+".restart_after", "must be > 0")
		}
		accepts, needs := f.hasDuration()
		switch {
		case f.For < 0 || f.For == 0 && v.d.pos[p+".for"] != nil:
			v.problem(p+".for", "must be > 0")
		case f.For > 0 && !accepts:
			v.problem(p+".for", "%s is instant: it takes no for", f.Kind())
		case f.For == 0 && needs:
			v.problem(p, "%s needs for: how long it lasts", f.Kind())
		}
		at, err := parseFaultAt(f.At, dur)
		switch {
		case f.At == "":
			v.problem(p+".at", "is required: a scenario time (6m) or a share of the run (40%%)")
			continue
		case err != nil:
			v.problem(p+".at", "%v", err)
			continue
		case dur > 0 && at >= dur:
			v.problem(p+".at", "%s is beyond the run (%v)", f.At, dur)
			continue
		}
		f.AtTime = at
		if dur > 0 && f.End() > dur {
			v.problem(p, "lasts until %v, beyond the run (%v)", f.End(), dur)
		}
		valid[i] = true
	}
	v.checkOverlaps(valid)
}

// checkOverlaps reports two faults on one subject whose spans meet: a pause during a kill, a
// latency on a link already partitioned, two stalls of one replica.
func (v *validator) checkOverlaps(valid []bool) {
	type span struct {
		i          int
		start, end time.Duration
	}
	bySubject := map[string][]span{}
	for i := range v.s.Faults {
		f := &v.s.Faults[i]
		if !valid[i] {
			continue
		}
		for _, sub := range f.subjects() {
			bySubject[sub] = append(bySubject[sub], span{i, f.AtTime, f.End()})
		}
	}
	reported := map[[2]int]bool{}
	subs := make([]string, 0, len(bySubject))
	for k := range bySubject {
		subs = append(subs, k)
	}
	sort.Strings(subs)
	for _, sub := range subs {
		ss := bySubject[sub]
		// "target" holds the faults of every replica; only one on all replicas conflicts with them.
		for a := 0; a < len(ss); a++ {
			for b := a + 1; b < len(ss); b++ {
				x, y := ss[a], ss[b]
				if sub == "target" && v.s.Faults[x.i].Replica != nil && v.s.Faults[y.i].Replica != nil {
					continue
				}
				if x.start <= y.end && y.start <= x.end && !reported[[2]int{x.i, y.i}] {
					reported[[2]int{x.i, y.i}] = true
					fx, fy := &v.s.Faults[x.i], &v.s.Faults[y.i]
					v.problem(fmt.Sprintf("faults[%d]", y.i), "%s overlaps faults[%d] (%s, %v..%v): one fault at a time on %s",
						fy.Kind(), x.i, fx.Kind(), fx.AtTime, fx.End(), strings.TrimPrefix(sub, "network:"))
				}
			}
		}
	}
}

// parseFaultAt reads a fault's at: a share of the run ("40%", "12.5%") or a scenario time.
func parseFaultAt(s string, dur time.Duration) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a share of the run (write 40%%)", s)
		}
		if f < 0 || f >= 100 {
			return 0, fmt.Errorf("%s: a share of the run is at least 0%% and below 100%%", s)
		}
		return time.Duration(f / 100 * float64(dur)), nil
	}
	d, err := ParseDuration(t)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("%s is before the run", s)
	}
	return d, nil
}

// FaultStores are the stores the scenario's faults need ("redis", "postgres", "store",
// "consumer"), sorted, each once.
func (s *Scenario) FaultStores() []string {
	var out []string
	for i := range s.Faults {
		if st := s.Faults[i].Store(); st != "" && !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	sort.Strings(out)
	return out
}
