package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/flashload/flashload/scenario"
)

// The push tier (model.push): watchers hold one feed connection each, spread evenly over the
// replicas. A replica fans one message out to its n watchers in D = n·fanout_cost/cores (the
// writes are independent, so its cores share them); watcher i of n gets it i·D/n after it
// leaves. Messages go out at most one per interval; beyond what the fan-out can write,
// subscribers skip to the latest state. The herd: at the opening message each watcher buys
// with probability buy_share, after its fan-out delay (uniform over [0, D]) plus a reaction
// time (uniform over [0, reaction]).

// Defaults of model.push. The costs are rough figures for a Go server on a loopback network;
// bench/pushscale (scripts/bench-push) measures a target's own.
const (
	DefaultPushConnsPerReplica   = 100000
	DefaultPushFanoutCost        = 5 * time.Microsecond
	DefaultPushConnectCost       = 100 * time.Microsecond
	DefaultPushInterval          = 10 * time.Millisecond
	DefaultPushTargetUtilization = 0.7
	DefaultPushReaction          = time.Second
)

// PushModel is model.push with its defaults filled.
type PushModel struct {
	ConnsPerReplica   int
	FanoutCost        time.Duration
	ConnectCost       time.Duration
	Interval          time.Duration
	Cores             int
	TargetUtilization float64
	Reaction          time.Duration
	BuyShare          float64
}

// PushModelOf reads m.Push (nil: every default); cores default to cores_per_replica, else 1.
func PushModelOf(m *scenario.Model) PushModel {
	p := PushModel{ConnsPerReplica: DefaultPushConnsPerReplica, FanoutCost: DefaultPushFanoutCost,
		ConnectCost: DefaultPushConnectCost, Interval: DefaultPushInterval, Cores: 1,
		TargetUtilization: DefaultPushTargetUtilization, Reaction: DefaultPushReaction, BuyShare: 1}
	if m == nil {
		return p
	}
	if m.CoresPerReplica > 0 {
		p.Cores = m.CoresPerReplica
	}
	mp := m.Push
	if mp == nil {
		return p
	}
	if mp.ConnsPerReplica > 0 {
		p.ConnsPerReplica = mp.ConnsPerReplica
	}
	if mp.FanoutCost > 0 {
		p.FanoutCost = time.Duration(mp.FanoutCost)
	}
	if mp.ConnectCost > 0 {
		p.ConnectCost = time.Duration(mp.ConnectCost)
	}
	if mp.Interval > 0 {
		p.Interval = time.Duration(mp.Interval)
	}
	if mp.Cores > 0 {
		p.Cores = mp.Cores
	}
	if mp.TargetUtilization > 0 {
		p.TargetUtilization = mp.TargetUtilization
	}
	if mp.Reaction > 0 {
		p.Reaction = time.Duration(mp.Reaction)
	}
	if mp.BuyShare != nil {
		p.BuyShare = *mp.BuyShare
	}
	return p
}

// WatchersOptions describe a crowd.
type WatchersOptions struct {
	Watchers int64
	// Replicas to spread them over; 0: the least that hold them (WatchersPlan.Needed).
	Replicas int
	// Arrive is the window over which the watchers connect (a crowd's from:); 0: no connect
	// storm is planned for.
	Arrive time.Duration
	// Changes is how many stock changes per second a SKU sees while it sells (the purchase
	// rate); the feed sends min(Changes, 1/interval) messages per second. 0: one per interval.
	Changes float64
}

// WatchersPlan is the push tier's answer for a crowd.
type WatchersPlan struct {
	Watchers int64
	Replicas int // the replicas planned on: Options.Replicas, else Needed
	// Needed is the least replicas that hold the crowd, and what each limit asks for: the
	// connections, the fan-out's CPU share at the feed's message rate, the connects' share
	// while the crowd arrives (both at most TargetUtilization).
	Needed, ByConns, ByFanout, ByConnects int
	PerReplica                            float64 // watchers on each replica
	// Fanout is the time to write one message to all of a replica's watchers; FanoutP99 the
	// 99th percentile watcher's delay when no message is ahead (ceil(0.99·n)·D/n).
	Fanout, FanoutP99 time.Duration
	// Messages is the feed's message rate; Utilization the fan-out's CPU share at that rate
	// (≥ 1: watchers skip states); Wait the mean time a message waits behind the previous
	// fan-out (M/D/1: Poisson changes, deterministic fan-out; +Inf when Utilization ≥ 1).
	Messages, Utilization float64
	Wait                  time.Duration
	// ConnectRate is connects per second per replica while the crowd arrives; ConnectUtil
	// their CPU share.
	ConnectRate, ConnectUtil float64
	// The herd at the opening: buyers, purchases expected within the first second after the
	// opening message leaves, and the peak purchase rate (all replicas).
	HerdBuyers, HerdFirstSecond, HerdPeakRate float64
	Model                                     PushModel
}

// PlanWatchers answers how many replicas hold a crowd of watchers and what its fan-out and its
// herd look like on them. A pure function of the model and the crowd.
func PlanWatchers(m *scenario.Model, o WatchersOptions) (WatchersPlan, error) {
	if o.Watchers < 0 || o.Replicas < 0 || o.Arrive < 0 || o.Changes < 0 || math.IsNaN(o.Changes) {
		return WatchersPlan{}, errors.New("watchers, replicas, arrive and changes must be ≥ 0")
	}
	pm := PushModelOf(m)
	p := WatchersPlan{Watchers: o.Watchers, Model: pm}
	interval := pm.Interval.Seconds()
	p.Messages = 1 / interval
	if o.Changes > 0 {
		p.Messages = min(o.Changes, p.Messages)
	}
	w := float64(o.Watchers)
	cost, cores := pm.FanoutCost.Seconds(), float64(pm.Cores)
	target := pm.TargetUtilization
	p.ByConns = ceilDiv(w, float64(pm.ConnsPerReplica))
	// Fan-out share at R replicas: Messages · (w/R)·cost/cores ≤ target.
	p.ByFanout = ceilDiv(p.Messages*w*cost/cores, target)
	if o.Arrive > 0 {
		p.ByConnects = ceilDiv(w/o.Arrive.Seconds()*pm.ConnectCost.Seconds()/cores, target)
	}
	p.Needed = max(1, p.ByConns, p.ByFanout, p.ByConnects)
	p.Replicas = o.Replicas
	if p.Replicas == 0 {
		p.Replicas = p.Needed
	}
	n := w / float64(p.Replicas)
	p.PerReplica = n
	d := n * cost / cores
	p.Fanout = seconds(d)
	if n > 0 {
		p.FanoutP99 = seconds(math.Ceil(0.99*n) * d / n)
	}
	p.Utilization = p.Messages * d
	switch {
	case d == 0:
	case p.Utilization >= 1:
		p.Wait = time.Duration(math.MaxInt64)
	default:
		p.Wait = seconds(Queue{C: 1, Lambda: p.Messages, Mu: 1 / d, CA2: 1, CS2: 0}.MeanWait())
	}
	if o.Arrive > 0 {
		p.ConnectRate = n / o.Arrive.Seconds()
		p.ConnectUtil = p.ConnectRate * pm.ConnectCost.Seconds() / cores
	}
	p.HerdBuyers = w * pm.BuyShare
	r := pm.Reaction.Seconds()
	p.HerdFirstSecond = p.HerdBuyers * uniformSumCDF(d, r, 1)
	if peak := max(d, r); peak > 0 {
		p.HerdPeakRate = p.HerdBuyers / peak
	}
	return p, nil
}

// uniformSumCDF is P(X + Y ≤ t) for X ~ U[0, a] and Y ~ U[0, b] independent: the trapezoid.
func uniformSumCDF(a, b, t float64) float64 {
	if a > b {
		a, b = b, a
	}
	switch {
	case t <= 0:
		return 0
	case t >= a+b:
		return 1
	case a == 0:
		return t / b
	case t <= a:
		return t * t / (2 * a * b)
	case t <= b:
		return (t - a/2) / b
	}
	u := a + b - t
	return 1 - u*u/(2*a*b)
}

func ceilDiv(x, y float64) int {
	if x <= 0 || y <= 0 {
		return 0
	}
	return int(math.Ceil(x/y - 1e-9))
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// String is the plan in a few lines.
func (p WatchersPlan) String() string {
	wait := p.Wait.String()
	if p.Wait == time.Duration(math.MaxInt64) {
		wait = "unbounded (watchers skip states)"
	}
	return fmt.Sprintf("%d watchers on %d replicas (needed %d: %d by connections, %d by fan-out, %d by connects), %.0f each\n"+
		"fan-out of one message %v (p99 watcher %v), %.0f messages/s: %.0f%% CPU, mean wait %s\n"+
		"herd: %.0f buyers, %.0f in the first second, peak %.0f purchases/s",
		p.Watchers, p.Replicas, p.Needed, p.ByConns, p.ByFanout, p.ByConnects, p.PerReplica,
		p.Fanout, p.FanoutP99, p.Messages, 100*p.Utilization, wait,
		p.HerdBuyers, p.HerdFirstSecond, p.HerdPeakRate)
}
