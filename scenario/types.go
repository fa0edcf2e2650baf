// Package scenario is what a user writes and what both the live engine and the simulator play:
// the YAML model, its strict parser and validator, traffic curves with closed-form integrals,
// arrival schedules (uniform, Poisson) split into segments, journeys and the templates and
// classify rules of generic request steps. It is pure: no network, no clock.
package scenario

import "time"

// Duration is a time.Duration that reads "1h30m", "250ms" or a number of seconds from YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Scenario is a parsed, validated scenario file. Zero values mean "default" as documented on
// each field; Parse fills the defaults in, so consumers read resolved values.
type Scenario struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Seed        int64     `yaml:"seed"`        // default 1
	Duration    Duration  `yaml:"duration"`    // scenario time; default the sum of the stages
	Compress    float64   `yaml:"compress"`    // scenario seconds per wall second; default 1
	RateScale   float64   `yaml:"rate_scale"`  // share of the amplitude played live; default 1
	StockScale  float64   `yaml:"stock_scale"` // share of the stock played below the full amplitude; default by StockRule (Play.StockScale)
	StockRule   string    `yaml:"stock_rule"`  // "rate" (default: the played rate scale) or "arrivals" (the played share of the full-scale arrivals up to the sell-out)
	SKUs        []SKU     `yaml:"skus"`
	Traffic     Traffic   `yaml:"traffic"`
	Users       Users     `yaml:"users"`
	Journeys    []Journey `yaml:"journeys"`
	Data        Data      `yaml:"data"`
	API         API       `yaml:"api"`   // paths of the presets; defaults to flashload's target API
	Model       *Model    `yaml:"model"` // read by sim; validated here
	Gates       GateList  `yaml:"gates"`
	Faults      []Fault   `yaml:"faults"` // what goes wrong during the sale (rehearse applies every kind; run what the admin API offers)
	// Vars are {{vars.NAME}} in request templates and in the audit block: values, or env:NAME
	// read from the environment. Parse resolves them.
	Vars  map[string]string `yaml:"vars"`
	Audit *AuditSpec        `yaml:"audit"` // another service's own store, audited after the load
	// AbortGates are the gates marked `abort: true`: evaluated on the run so far as each window
	// closes, a failure stops the run (every generator of a coordinated run) with exit 3.
	AbortGates []string `yaml:"-"`

	File string `yaml:"-"` // where it was read from ("bundled:NAME" for embedded ones)
	Dir  string `yaml:"-"` // directory for relative paths (replay CSV, data files)

	// Filled by Parse from the files the scenario names (relative to Dir).
	ReplayPoints []Point `yaml:"-"` // traffic.replay, as read
	UserTable    *Table  `yaml:"-"` // data.users, as read; nil without one
}

// SKU is one item on sale, with its rules (mirrors POST /admin/skus of the target).
type SKU struct {
	SKU          string   `yaml:"sku"`
	Stock        int64    `yaml:"stock"`
	Price        float64  `yaml:"price"` // list price
	Cost         float64  `yaml:"cost"`
	LimitPerUser int      `yaml:"limit_per_user"` // 0 = unlimited
	StartsAt     string   `yaml:"starts_at"`      // RFC 3339, or an offset like "+5m" of scenario time (played at the run's compression)
	EndsAt       string   `yaml:"ends_at"`
	Pricing      *Pricing `yaml:"pricing"`
}

// Pricing holds a flash sale's pricing rules: the ladder and the first-N half price.
type Pricing struct {
	Ladder     *Ladder `yaml:"ladder"`
	FirstNHalf int64   `yaml:"first_n_half"` // the first N units sold go at 50%
}

// Ladder: start at Start × list price, Step × list off every Every, never below FloorOverCost × cost.
type Ladder struct {
	Start         float64  `yaml:"start"`
	Step          float64  `yaml:"step"`
	Every         Duration `yaml:"every"`
	FloorOverCost float64  `yaml:"floor_over_cost"`
}

// Traffic is the arrival curve.
type Traffic struct {
	Model    string  `yaml:"model"`    // "open" (default) or "closed"
	VUs      int     `yaml:"vus"`      // closed model: number of users looping
	Arrivals string  `yaml:"arrivals"` // "poisson" (default) or "uniform"
	StartRPS float64 `yaml:"start_rps"`
	Stages   []Stage `yaml:"stages"`
	Replay   string  `yaml:"replay"` // CSV with columns t,rps (t in seconds), interpolated linearly
}

// Stage is one stage of the curve. Without Shape it ramps linearly (k6 semantics) from the
// previous stage's end rate to RPS over Duration. With a Shape it follows the named shape
// (constant, ramp, step, sine, midnight-spike, double-eleven-day) up to Peak.
type Stage struct {
	Duration Duration `yaml:"duration"`
	RPS      float64  `yaml:"rps"`
	Shape    string   `yaml:"shape"`
	Peak     float64  `yaml:"peak"`
	Compress float64  `yaml:"compress"` // this stage's own compression; default the scenario's
	Name     string   `yaml:"name"`     // a label for the dashboard; default the shape
	Rise     Duration `yaml:"rise"`     // midnight-spike: time to reach peak; default 26s
	Decay    Duration `yaml:"decay"`    // midnight-spike: decay time constant; default (duration-rise)/5
	Period   Duration `yaml:"period"`   // sine: period; default the stage's duration
	Steps    int      `yaml:"steps"`    // step: number of equal steps from the previous rate to rps; default 4
}

// Users is the population (`users: 5000000` or `users: {count: N, ids: zipf, skew: 1.1}`).
type Users struct {
	Count int64   `yaml:"count"`
	IDs   string  `yaml:"ids"`  // "sequential" (default) or "zipf"
	Skew  float64 `yaml:"skew"` // zipf s parameter (> 1)
}

// Journey is a weighted sequence of steps one arrival plays.
type Journey struct {
	Name   string  `yaml:"name"`
	Weight float64 `yaml:"weight"` // default 1
	Steps  []Step  `yaml:"steps"`
	// Cookies keeps one RFC 6265 cookie jar per journey instance (the default); false sends
	// and keeps no cookies.
	Cookies *bool `yaml:"cookies"`
}

// Step is exactly one of its fields.
type Step struct {
	View          *View          `yaml:"view"`
	Think         *Think         `yaml:"think"`
	Purchase      *Purchase      `yaml:"purchase"`
	Pay           *Pay           `yaml:"pay"`
	Cancel        *Cancel        `yaml:"cancel"`
	JoinGroup     *JoinGroup     `yaml:"join_group"`
	WaitUntilOpen *WaitUntilOpen `yaml:"wait_until_open"`
	Request       *Request       `yaml:"request"`
}

type View struct {
	SKU string `yaml:"sku"`
}

// Think pauses the session: fixed (`think: 1s` or {fixed: 1s}), a uniform range (min, max), or a
// gonum distribution (dist: exponential|lognormal with mean / p50,p99) drawn from the run's seed.
// Think times are scenario time: they shrink with compress.
type Think struct {
	Fixed Duration `yaml:"fixed"`
	Min   Duration `yaml:"min"`
	Max   Duration `yaml:"max"`
	Dist  string   `yaml:"dist"`
	Mean  Duration `yaml:"mean"`
	P50   Duration `yaml:"p50"`
	P99   Duration `yaml:"p99"`
}

type Purchase struct {
	SKU          string `yaml:"sku"`
	Qty          int    `yaml:"qty"` // default 1
	Retry        *Retry `yaml:"retry"`
	SameUser     bool   `yaml:"same_user"`     // bot: every arrival of this journey uses one user id
	IgnoreLimits bool   `yaml:"ignore_limits"` // bot: keeps buying after LIMIT_EXCEEDED
	Coupon       string `yaml:"coupon"`
	Group        bool   `yaml:"group"` // buy in the group joined by an earlier join_group step
}

// Retry retries on the listed statuses, codes or error classes, at most Max times, with Backoff
// doubling each time plus up to Jitter of random extra, honouring Retry-After when the answer has
// one. CompileRetry (rules.go) makes the rule both engines apply.
type Retry struct {
	On      []string `yaml:"on"` // statuses ("429", "503"), codes ("SHED") or error classes ("timeout")
	Max     int      `yaml:"max"`
	Backoff Duration `yaml:"backoff"`
	Jitter  Duration `yaml:"jitter"`
}

type Pay struct {
	Probability float64  `yaml:"probability"` // default 1
	Delay       Duration `yaml:"delay"`
}

type Cancel struct {
	Probability float64 `yaml:"probability"` // default 1
}

type JoinGroup struct {
	SKU  string `yaml:"sku"`
	Size int    `yaml:"size"` // 2, 5 or 10 on flashload's target
}

type WaitUntilOpen struct {
	SKU string `yaml:"sku"`
}

// Request is a generic HTTP step with templates ({{user}}, {{sku}}, {{key}}, {{seq}},
// {{rand.int}}, {{user.COLUMN}} from the data file) and classify rules.
type Request struct {
	Name     string            `yaml:"name"`
	Method   string            `yaml:"method"` // default GET
	URL      string            `yaml:"url"`    // a path (joined to --target) or a full URL
	Headers  map[string]string `yaml:"headers"`
	Body     string            `yaml:"body"`
	SKU      string            `yaml:"sku"`      // value of {{sku}}
	Purchase bool              `yaml:"purchase"` // record it as a purchase attempt for the audit
	Retry    *Retry            `yaml:"retry"`
	Classify []Classify        `yaml:"classify"`
	// Capture takes values from the step's acknowledged answer for the later steps ({{NAME}}).
	Capture []Capture `yaml:"capture"`
	// Settles names an earlier purchase step (purchase: true) of the journey that this step's
	// acknowledged answer pays, as pay does on flashload's target.
	Settles string `yaml:"settles"`
}

// Capture takes one value from an answer: exactly one of JSON (a JSONPath: $.a.b, $.a[0].b),
// Header (its first value), Regex (the first group of its match in the body) or Cookie (the
// value the answer's Set-Cookie gives that cookie), as the variable As. Scope "user" keeps the
// value for the same user's later arrivals; the default, "journey", for this journey only.
type Capture struct {
	JSON   string `yaml:"json"`
	Header string `yaml:"header"`
	Regex  string `yaml:"regex"`
	Cookie string `yaml:"cookie"`
	As     string `yaml:"as"`
	Scope  string `yaml:"scope"`
}

// Classify maps an answer to an outcome. Status is one status or a list; JSON matches a field.
type Classify struct {
	Status  []int      `yaml:"status"`
	JSON    *JSONMatch `yaml:"json"`
	Outcome string     `yaml:"outcome"` // acknowledged, sold_out, limited, shed, error
	// Code is the answer's name in by_code (SOLD_OUT); empty: the outcome's name (sold_out).
	Code string `yaml:"code"`
}

type JSONMatch struct {
	Field  string `yaml:"field"`
	Equals string `yaml:"equals"`
}

// Data names data files whose columns become template variables.
type Data struct {
	Users string `yaml:"users"` // CSV; columns become {{user.COLUMN}}
}

// API overrides the paths of the presets, so view/purchase/pay can drive another service.
type API struct {
	View     string `yaml:"view"`     // default GET /v1/skus/{{sku}}
	Purchase string `yaml:"purchase"` // default POST /v1/skus/{{sku}}/purchase
	Pay      string `yaml:"pay"`      // default POST /v1/orders/{{order}}/pay
	Cancel   string `yaml:"cancel"`   // default POST /v1/orders/{{order}}/cancel
	// JoinGroup is the preset of join_group: POST /v1/groups/{{group}}/join once a group exists;
	// CreateGroup opens one (POST /v1/groups with {"sku"}) when the journey has none yet.
	JoinGroup   string `yaml:"join_group"`   // default POST /v1/groups/{{group}}/join
	CreateGroup string `yaml:"create_group"` // default POST /v1/groups
	Open        string `yaml:"open"`         // wait_until_open polls it; default GET /v1/skus/{{sku}}
}
