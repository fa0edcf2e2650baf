// Package result holds the result model shared by every engine: the per-request Result, the
// Recorder that turns a stream of Results into HDR histograms, counters and a timeline, the
// Snapshot the dashboard reads while a run goes on, and the Summary written as summary.json.
// It also evaluates gates (their grammar is package gate), comparisons and exact merges. It stays light: no
// UI, no plots, and it imports neither the engine nor the simulator.
package result

import (
	"time"

	"github.com/flashload/flashload/outcome"
)

// SummarySchema is the value of Summary.Schema. Fields may be added, never renamed.
const SummarySchema = "flashload.summary/v1"

// Result is one request as the generator (or the simulator) saw it. Times are offsets from the
// start of the run on the run's clock: the wall clock for a live run, virtual time for sim.
type Result struct {
	Intended time.Duration // when the schedule said it should be sent
	Sent     time.Duration // when it was actually sent
	Done     time.Duration // when the answer (or the error) arrived
	Journey  string
	Step     string // view, purchase, pay, cancel, join_group, or a request step's name
	Status   int    // HTTP status; 0 when there was no answer
	Code     string // the JSON `code` of the answer (RESERVED, SOLD_OUT, SHED, ...), or ""
	Err      outcome.ErrorClass
	Bytes    int
	Retry    bool // a retry of an earlier attempt
	// InFlight is how many requests were in flight once this one was sent, itself included
	// (0: not known; the simulator leaves it so). It fills the summary's concurrency table.
	InFlight int32
	// First marks the journey's first request: one arrival of the schedule (never a retry). When
	// a run marks arrivals, achieved rates count them, so they compare with the target rate
	// (which counts arrivals); when none is marked, achieved rates count every answer.
	First bool
	// Server is the target's own time for this answer, as it reported it in a Server-Timing
	// header (0: the answer carried none). ServiceTime − Server is the round trip outside the
	// target: the network, the kernel and both HTTP stacks.
	Server time.Duration
	// Classified: the step's classify rules read this answer, and Outcome is what they made of
	// it (Code is then the rule's code or the outcome's name). Otherwise the Recorder reads the
	// answer by flashload's target's codes (outcome.Of).
	Classified bool
	Outcome    outcome.Outcome
	// Replica names the replica that answered, from the answer's replica header
	// (X-Flashload-Replica, or the header the user names), or the simulator's replica; "" when
	// the answer named none.
	Replica string
}

// Latency is the time from the intended send to the answer (no coordinated omission).
func (r *Result) Latency() time.Duration { return r.Done - r.Intended }

// ServiceTime is the time from the actual send to the answer.
func (r *Result) ServiceTime() time.Duration { return r.Done - r.Sent }

// Percentiles is the latency block of the summary, in milliseconds.
type Percentiles struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	// Quantiles is the wider spectrum (keys "25", "75", "95", "99.5", "99.95", "99.99", "99.999"),
	// read by gates like p(95) and drawn by the HTML report.
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
}

// Requests counts requests by outcome.
type Requests struct {
	Total     int64            `json:"total"`
	OK        int64            `json:"ok"`
	Failed    int64            `json:"failed"`
	Dropped   int64            `json:"dropped"`
	Retries   int64            `json:"retries"`
	Arrivals  int64            `json:"arrivals,omitempty"` // answered first requests of journeys (Result.First)
	Errors    int64            `json:"errors"`             // of Failed: no answer, 5xx other than shedding, 4xx without a code (see Classify)
	Shed      int64            `json:"shed"`               // of Failed: code SHED or RATE_LIMITED, or status 503/429
	ByStatus  map[string]int64 `json:"by_status"`
	ByCode    map[string]int64 `json:"by_code"`
	ByError   map[string]int64 `json:"by_error,omitempty"`
	ByStep    map[string]int64 `json:"by_step,omitempty"`
	ByJourney map[string]int64 `json:"by_journey,omitempty"`
	// DroppedBy splits Dropped by the limit that dropped the arrivals: max-workers (the session
	// pool is at --max-workers), max-conns (every connection busy), cpu (the pacer fell behind).
	DroppedBy map[string]int64 `json:"dropped_by,omitempty"`
	// ByReplica is each replica's answers and latency, by the ID its answers named (see
	// ReplicaStats); replicas known to be ready that never answered are there with count 0.
	ByReplica map[string]ReplicaStats `json:"by_replica,omitempty"`
}

// Rate is the rate block of the summary, in requests per second of the run's clock.
type Rate struct {
	TargetAvg    float64 `json:"target_avg"`
	AchievedAvg  float64 `json:"achieved_avg"`
	PeakTarget   float64 `json:"peak_target"`
	PeakAchieved float64 `json:"peak_achieved"`
	RequestsAvg  float64 `json:"requests_avg"` // every answer per second (achieved counts arrivals when the run marks them)
}

// Ratio is a named success rate kept as numerator and denominator so merges stay exact
// (for example pay_success: paid / pay attempts). Gates read it as rate(NAME).
type Ratio struct {
	Num   int64   `json:"num"`
	Den   int64   `json:"den"`
	Value float64 `json:"value"` // Num/Den, 0 when Den is 0
}

// Audit is the invariant check at the end of a run (oversold, lost, unknown, duplicates, undersold).
type Audit struct {
	Checked    bool     `json:"checked"`         // false when no audit could be run; Error says why
	Error      string   `json:"error,omitempty"` // why the audit did not run (Checked false)
	Stock      int64    `json:"stock"`
	Sold       int64    `json:"sold"`
	Paid       int64    `json:"paid"`
	Released   int64    `json:"released"`
	Oversold   int64    `json:"oversold"`
	Lost       int64    `json:"lost"`    // acknowledged purchases with no stored order (only those)
	Unknown    int64    `json:"unknown"` // purchases whose outcome the client could not know (a timeout after sending, IN_FLIGHT): Jepsen's info ops
	Unexpected int64    `json:"unexpected"`
	Duplicates int64    `json:"duplicates"`
	Undersold  int64    `json:"undersold"`
	Violations []string `json:"violations"`
}

// Replicas is the replica range seen during the run (sim, and live when the target reports it).
type Replicas struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// ScalePoint is one decision of an autoscaler: a live fleet's (rehearse --replicas MIN..MAX)
// or the simulator's, every period of scenario time.
type ScalePoint struct {
	T       float64 `json:"t"`    // scenario seconds
	Util    float64 `json:"util"` // utilisation over the period, 0..1
	Ready   int     `json:"ready"`
	Desired int     `json:"desired"`
}

// GateResult is one evaluated threshold.
type GateResult struct {
	Expr  string  `json:"expr"`
	Value float64 `json:"value"`
	Pass  bool    `json:"pass"`
	Error string  `json:"error,omitempty"`
}

// TimelinePoint is one window of the run. T is the scenario time (seconds) at the window's
// start, so a compressed live run and its simulation line up.
type TimelinePoint struct {
	T           float64 `json:"t"`
	Wall        float64 `json:"wall"` // run-clock seconds at the window's start
	TargetRPS   float64 `json:"target_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	Requests    int64   `json:"requests"`           // answers in the window
	Arrivals    int64   `json:"arrivals,omitempty"` // of which first requests of journeys (Result.First)
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	Errors      int64   `json:"errors"`
	Shed        int64   `json:"shed"`
	Dropped     int64   `json:"dropped"`
	Replicas    int     `json:"replicas"`
	StockLeft   int64   `json:"stock_left"`
	// SKULeft is the stock left per SKU at the window's last reading (when the run reads it per SKU).
	SKULeft map[string]int64 `json:"sku_left,omitempty"`
	Faults  []string         `json:"faults,omitempty"` // kinds of the faults in effect during the window (summary faults[])
	// ByReplica is the window's answers per replica (Result.Replica), when answers named one.
	ByReplica map[string]int64 `json:"by_replica,omitempty"`
}

// Summary is summary.json. Engines fill it through the Recorder; the audit, gates and the
// descriptive fields are set by the caller.
type Summary struct {
	Schema        string           `json:"schema"`
	Name          string           `json:"name"`
	Mode          string           `json:"mode"` // "live" or "sim"
	Seed          int64            `json:"seed"`
	StartedAt     time.Time        `json:"started_at"`
	DurationS     float64          `json:"duration_s"`      // run-clock seconds
	ScenarioTimeS float64          `json:"scenario_time_s"` // scenario seconds covered
	Partial       bool             `json:"partial,omitempty"`
	Target        string           `json:"target,omitempty"`
	Strategy      string           `json:"strategy,omitempty"`
	Segment       string           `json:"segment,omitempty"`
	WindowS       float64          `json:"window_s"` // timeline window, run-clock seconds
	Requests      Requests         `json:"requests"`
	Rate          Rate             `json:"rate"`
	LatencyMs     Percentiles      `json:"latency_ms"`
	ServiceTimeMs Percentiles      `json:"service_time_ms"`
	ServerTimeMs  *Percentiles     `json:"server_time_ms,omitempty"` // the target's own time (Server-Timing) over the answers that carried one; nil: none did
	Rates         map[string]Ratio `json:"rates,omitempty"`
	Audit         Audit            `json:"audit"`
	Replicas      Replicas         `json:"replicas"`
	Gates         []GateResult     `json:"gates"`
	Timeline      []TimelinePoint  `json:"timeline"`
	Warnings      []string         `json:"warnings,omitempty"`

	// Steps and Journeys break the run down by step and by journey name (each from its own HDR
	// histogram); Requests.ByStep and ByJourney keep the plain counts.
	Steps    map[string]NamedStats `json:"steps,omitempty"`
	Journeys map[string]NamedStats `json:"journeys,omitempty"`
	// SKUs is the sale per SKU, flash SKUs first (see SKUStats).
	SKUs   []SKUStats `json:"skus,omitempty"`
	Faults []Fault    `json:"faults,omitempty"` // the scenario's faults as applied (live runs)
	// Aborted names what stopped the run early: an abort gate's expression, or "watch" (q).
	Aborted string `json:"aborted,omitempty"`
	// Generators are the load generators of a coordinated run (flashload watch), with their state.
	Generators []GeneratorState `json:"generators,omitempty"`
	// Concurrency is the live run's service time by requests in flight (see ConcurrencyBin).
	Concurrency []ConcurrencyBin `json:"concurrency,omitempty"`
	// Capacity is a capacity search's result (--find-capacity), on the highest passing step.
	Capacity *Capacity `json:"capacity,omitempty"`
	// Scale is the autoscaler's decisions (a live autoscaled fleet, or the simulator with an
	// hpa or kpa autoscaler): replicas over time at each decision.
	Scale []ScalePoint `json:"scale,omitempty"`
}

// WindowStats is what the dashboard shows for one span of time (the last window, or the run so far).
type WindowStats struct {
	Requests    int64
	Errors      int64
	Dropped     int64
	Shed        int64
	AchievedRPS float64
	TargetRPS   float64
	Latency     Percentiles // from the intended send time, ms
	Service     Percentiles // from the actual send time, ms
}

// Snapshot is what the live dashboard reads once per window: the last window, the totals so
// far and the recent timeline. It is a value: the dashboard never reaches into the Recorder.
type Snapshot struct {
	Name     string
	Mode     string // "live" or "sim"
	Target   string
	Strategy string
	Segment  string

	Wall             time.Duration // run clock now
	ScenarioT        time.Duration // scenario clock now
	ScenarioDuration time.Duration
	Compress         float64 // scenario seconds per run-clock second, current stage
	Progress         float64 // 0..1 through the scenario
	NextStage        string  // "stage 3/3 double-eleven-day peak 60000/s in 12s", or ""

	Last  WindowStats
	Total WindowStats

	ByCode   map[string]int64 // answers by JSON code so far
	ByError  map[string]int64 // errors by class so far
	Retries  int64
	Timeline []TimelinePoint // the most recent windows, oldest first

	// The sale, from the target's audit endpoint or the simulator's inventory.
	Stock     int64
	StockLeft int64
	Sold      int64
	Paid      int64
	Released  int64
	Oversold  int64
	SKUs      []SKUStats // the sale per SKU, flash SKUs first, with their sell-out moments

	InFlight int64 // requests sent and not yet answered (live runs whose engine reports it)

	// ByReplica is the last complete window's answers per replica; ReplicasReady the replicas
	// ready now, when the run knows them (a rehearsal's fleet, the simulator), in ID order.
	ByReplica     map[string]int64
	ReplicasReady []string

	// The simulator's autoscaler (zero for live runs that do not know).
	Replicas        int
	DesiredReplicas int
	Autoscaler      string // the last decision, in words
	// Scale is a live fleet's autoscaler decisions so far; PredictedScale the simulator's for
	// the same fleet over the whole run (both in scenario time, set by the caller that knows).
	Scale          []ScalePoint
	PredictedScale []ScalePoint

	Warnings []string // generator saturated, dropped arrivals, target unreachable
	Faults   []Fault  // the scenario's faults applied so far (set by the caller that applies them)
	Done     bool
	Partial  bool

	// A coordinated run's view (flashload watch): its generators and its gates evaluated live.
	Generators []GeneratorState
	Gates      []GateResult
}
