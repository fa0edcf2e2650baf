package scenario

import (
	"math"
	"time"
)

// The live engine's connections to the target, which the simulator's model of a layer-4 front
// (model.load_balancer: l4) uses too, so both count the same connections.
const (
	// MaxDefaultConns bounds DefaultConns.
	MaxDefaultConns = 4096
	// DefaultConnWait is how long a request waits for a free connection before it fails as a
	// timeout.
	DefaultConnWait = 2 * time.Second
)

// DefaultConns is the connections an open-model run with this peak rate (arrivals per second)
// opens to the target: Little's law with room, a loopback service answering in about a
// millisecond, so 10 ms of arrivals in flight leaves headroom before requests wait for a
// connection (the wait counts in latency, not in service time); at least 16, at most
// MaxDefaultConns. More connections than that cost the target and the generator CPU for
// nothing (measured with scripts/bench-engine).
func DefaultConns(peak float64) int {
	return int(min(max(math.Ceil(peak*0.01), 16), MaxDefaultConns))
}

// Connections is how the load generator's connections reach the replicas behind a layer-4
// front (model.load_balancer: l4, a Kubernetes Service): each connection is given to a ready
// replica, round robin, when it opens, and keeps it until it closes. The simulator recycles
// them by the live engine's rules (--conn-max-age, --conn-max-requests): closed between
// requests once that old or after that many, the next request opening a new one.
type Connections struct {
	// Count is the generator's connections; 0: what the live engine opens for the played peak
	// (DefaultConns).
	Count int `yaml:"count"`
	// MaxAge closes a connection between requests once it is that old, on the run clock (the
	// played, compressed clock beside a live run); 0: never.
	MaxAge Duration `yaml:"max_age"`
	// MaxRequests closes a connection after that many requests; 0: never.
	MaxRequests int `yaml:"max_requests"`
	// Wait is how long a request waits for a free connection before it fails as a timeout;
	// 0: DefaultConnWait.
	Wait Duration `yaml:"wait"`
}

// connectionProblems checks model.connections.
func (m *Model) connectionProblems(add func(path, format string, args ...any)) {
	c := m.Connections
	if c == nil {
		return
	}
	if m.LoadBalancer != "l4" {
		add("connections", "describes the connections behind a layer-4 front: set load_balancer: l4")
	}
	if c.Count < 0 {
		add("connections.count", "must be ≥ 1 (or omitted for the live engine's default)")
	}
	if c.MaxAge < 0 {
		add("connections.max_age", "must be ≥ 0 (0: never)")
	}
	if c.MaxRequests < 0 {
		add("connections.max_requests", "must be ≥ 0 (0: never)")
	}
	if c.Wait < 0 {
		add("connections.wait", "must be ≥ 0")
	}
}
