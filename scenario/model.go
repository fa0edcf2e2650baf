package scenario

// Model is the capacity model the simulator plays the scenario against (`model:` in the file).
// The live engine ignores it. The sim package owns its meaning; fields may be added.
type Model struct {
	Replicas          int `yaml:"replicas"`
	WorkersPerReplica int `yaml:"workers_per_replica"`
	// LoadBalancer spreads requests over the replicas: round-robin (default), least-connections,
	// random; or l4, a layer-4 front (a Kubernetes Service) that pins each of the generator's
	// Connections to the replica it reached when it opened.
	LoadBalancer   string          `yaml:"load_balancer"`
	Connections    *Connections    `yaml:"connections"` // with load_balancer: l4
	ServiceTime    ServiceTime     `yaml:"service_time"`
	Cache          *Cache          `yaml:"cache"`
	DB             *DB             `yaml:"db"`
	QueueLimit     int             `yaml:"queue_limit"` // per replica; 0 = unbounded
	Timeout        Duration        `yaml:"timeout"`     // a request waiting longer fails
	ShedAboveRPS   float64         `yaml:"shed_above_rps"`
	CircuitBreaker *CircuitBreaker `yaml:"circuit_breaker"`
	Autoscaler     *Autoscaler     `yaml:"autoscaler"`
	Mode           string          `yaml:"mode"` // auto (default), fluid, request
	Tick           Duration        `yaml:"tick"` // fluid mode step; default 1s
	// StepTimes overrides ServiceTime for one kind of step (view, purchase, pay, cancel,
	// join_group, request): the order path is usually slower than a page view.
	StepTimes map[string]ServiceTime `yaml:"step_times"`
	// CoresPerReplica is the CPU a replica has: the autoscaler's utilisation is the time spent
	// in the application (not waiting on the database) over the ready cores. Default: one core
	// per worker.
	CoresPerReplica int `yaml:"cores_per_replica"`
	// RoundTrip is the time every answer spends outside the target: the network, the kernel and
	// both HTTP stacks. It adds to each answer's latency and service time but holds no worker, so
	// it costs no capacity. A calibration measures it from the target's Server-Timing.
	RoundTrip Duration `yaml:"round_trip"`
	// Push is the live stock feeds' tier (watchers holding WebSocket or SSE connections).
	Push *Push `yaml:"push"`
}

// Push models a replica's live feeds: it holds at most ConnsPerReplica connections (its memory
// or file limit), spends FanoutCost of CPU per subscriber for each message and ConnectCost per
// new connection, on Cores cores, and sends a SKU's subscribers at most one message per
// Interval. At a sale's opening each watcher buys with probability BuyShare, Reaction after
// the opening message at the latest (uniformly). Zero fields take the sim package's defaults.
type Push struct {
	ConnsPerReplica   int      `yaml:"conns_per_replica"`
	FanoutCost        Duration `yaml:"fanout_cost"`
	ConnectCost       Duration `yaml:"connect_cost"`
	Interval          Duration `yaml:"interval"`
	Cores             int      `yaml:"cores"`
	TargetUtilization float64  `yaml:"target_utilization"` // the fan-out's and connects' CPU share a plan allows
	Reaction          Duration `yaml:"reaction"`
	BuyShare          *float64 `yaml:"buy_share"` // nil: 1 (every watcher buys)
}

// ServiceTime is a distribution: exponential (mean), lognormal (p50, p99), deterministic (mean),
// or empirical (from a live run's histograms.hlog).
type ServiceTime struct {
	Dist      string   `yaml:"dist"`
	Mean      Duration `yaml:"mean"`
	P50       Duration `yaml:"p50"`
	P99       Duration `yaml:"p99"`
	Histogram string   `yaml:"histogram"` // empirical: path of a histograms.hlog or summary dir
}

type Cache struct {
	HitRatio float64  `yaml:"hit_ratio"`
	HitTime  Duration `yaml:"hit_time"` // service time of a hit; default 1ms
}

// DB is the sharded database. A query on a shard takes QueryTime alone, and longer when N
// queries run on the shard at once: QueryTime·(1 + α(N−1) + βN(N−1)), the Universal
// Scalability Law (alpha: contention, beta: coherency). A shard completes at most
// ShardCapacityRPS queries per second; beyond that they queue.
type DB struct {
	Shards           int     `yaml:"shards"`
	MaxShards        int     `yaml:"max_shards"`
	ShardCapacityRPS float64 `yaml:"shard_capacity_rps"`
	Alpha            float64 `yaml:"alpha"`
	Beta             float64 `yaml:"beta"`
	// Shards are added (doubling, up to MaxShards) when the database's utilisation exceeds
	// TargetUtilization (default 0.7); a resharding takes Reshard (default 1m) to take effect.
	TargetUtilization float64  `yaml:"target_utilization"`
	Reshard           Duration `yaml:"reshard"`
	QueryTime         Duration `yaml:"query_time"` // default 2ms
	// Schedule pre-shards: at least Shards from scenario time At (resharding done ahead of a
	// known peak, as teams do before the night).
	Schedule []ShardStep `yaml:"schedule"`
}

// ShardStep sets the database to at least Shards shards from scenario time At.
type ShardStep struct {
	At     Duration `yaml:"at"`
	Shards int      `yaml:"shards"`
}

type CircuitBreaker struct {
	ErrorRate float64  `yaml:"error_rate"`
	Window    Duration `yaml:"window"`
	Open      Duration `yaml:"open"`
	// MinRequests is the fewest requests in Window for the error rate to count; default 20.
	MinRequests int `yaml:"min_requests"`
}

// Autoscaler: hpa, kpa, fixed or scheduled. With hpa or kpa, Schedule is a floor: the
// replicas never go below the scheduled count (pre-scaling before a known peak, like a cron
// scaler beside the HPA).
type Autoscaler struct {
	Type              string          `yaml:"type"`
	TargetUtilization float64         `yaml:"target_utilization"`
	Min               int             `yaml:"min"`
	Max               int             `yaml:"max"`
	Startup           Duration        `yaml:"startup"`
	Schedule          []ScheduledStep `yaml:"schedule"`
}

// ScheduledStep pre-scales to Replicas at scenario time At.
type ScheduledStep struct {
	At       Duration `yaml:"at"`
	Replicas int      `yaml:"replicas"`
}

// Problem is one validation problem at a YAML path ("model.autoscaler.min"); the scenario
// parser turns paths into file:line:col.
type Problem struct {
	Path string
	Msg  string
}
