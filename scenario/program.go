package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flashload/flashload/outcome"
)

// A Program is a scenario's journeys compiled once: every step resolved to an instruction with
// its name, its endpoint and templates, its retry and outcome rules, what it settles and what
// ends the journey. The live engine and the simulator are two machines that interpret the same
// program (as regexp's backtracker and one-pass matcher run one compiled Prog): the engine gets
// its answers over HTTP, the simulator from its model, and neither decides what a step means.
type Program struct {
	Journeys []JourneyProgram
	Picker   *Picker  // which journey an arrival plays, by weight and arrival number
	Users    *UserIDs // which user an arrival is
	// Population is the number of users; a same_user bot of journey j is user Population+1+j,
	// outside it.
	Population int64
	SKUIndex   map[string]int // the scenario's SKUs by name
}

// JourneyProgram is one journey's instructions.
type JourneyProgram struct {
	Name   string
	Weight float64
	Steps  []Instr
}

// Op is what an instruction does.
type Op uint8

const (
	OpView Op = iota
	OpThink
	OpPurchase
	OpPay
	OpCancel
	OpJoinGroup
	OpWaitOpen
	OpRequest
)

var opNames = [...]string{"view", "think", "purchase", "pay", "cancel", "join_group", "wait_until_open", "request"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Endpoint is a method and a URL template: a path joined to the target, or a full URL.
type Endpoint struct {
	Method string
	URL    *Template
	Full   bool // the URL names its own host
}

// Header is a request header whose value is a template.
type Header struct {
	Name  string
	Value *Template
}

// Instr is one step of a journey, compiled.
type Instr struct {
	Op    Op
	Index uint16 // the step's position in its journey: with the arrival, the idempotency key
	// Name is the step's name in results (Result.Step, summary steps): the kind of a preset
	// step, a request's name, or request<N> (N its 1-based position) for an unnamed request.
	Name     string
	SKU      string
	SKUIndex int // index into the scenario's SKUs; -1 for none
	Qty      int // units a purchase asks for (≥ 1)

	Endpoint Endpoint // what a request step sends; a preset's from the scenario's api
	Create   Endpoint // join_group: opens a group when none is open
	Headers  []Header // request steps
	Body     *Template

	Rules    StepRules // retries, what an answer means, whether the journey goes on
	Think    *Think
	Sampler  *ThinkSampler // its At is safe for concurrent use
	Prob     float64       // pay, cancel: the chance the journey takes the step (1 otherwise)
	Delay    time.Duration // pay: scenario time before paying
	SameUser bool          // a bot: every arrival of the journey is one user
	Group    bool          // purchase in the group joined earlier
	Coupon   string
	Size     int // join_group: the group's size when this step opens one
	// NeedsOrder: pay and cancel act on the journey's reserved order and are skipped without one.
	NeedsOrder bool
	// Settles is the step whose purchase this one pays or cancels (-1: none).
	Settles int
	// First: the journey's first request, which stands for the arrival (Result.First).
	First bool
	// Audited: a purchase attempt the audit joins with the stored orders.
	Audited bool
}

// WaitOpenPoll is how often wait_until_open asks whether the sale is open (run clock).
const WaitOpenPoll = 100 * time.Millisecond

// Request reports whether the instruction sends requests (everything but think).
func (in *Instr) Request() bool { return in.Op != OpThink }

// ThinkAt is the pause of a think step for arrival seq, in scenario time: the same for a given
// seed and arrival whichever engine plays it.
func (in *Instr) ThinkAt(seed, seq int64) time.Duration {
	if in.Sampler == nil {
		return 0
	}
	return in.Sampler.At(Unit(Mix(seed, seq, StreamStep+uint64(in.Index))))
}

// Skip reports whether the journey passes over the step: pay and cancel without a reserved
// order, or when u ∈ [0, 1) falls outside their probability.
func (in *Instr) Skip(hasOrder bool, u float64) bool {
	if in.NeedsOrder && !hasOrder {
		return true
	}
	return in.Prob < 1 && u >= in.Prob
}

// User is the user arrival seq plays the step as: a bot's fixed id, or the arrival's user.
func (p *Program) User(j int, in *Instr, seq int64) int64 {
	if in.SameUser {
		return p.Population + 1 + int64(j)
	}
	return p.Users.User(seq)
}

// Journey is the journey arrival seq plays.
func (p *Program) Journey(seed, seq int64) int { return p.Picker.PickSeq(seed, seq) }

// HonoursRetryAfter reports whether a journey waits for an answer's Retry-After before its
// retry: on load refusals (429 and 503), which is where servers send it.
func HonoursRetryAfter(status int) bool { return status == 429 || status == 503 }

// Rates calls count once for each named success rate the step's final outcome counts in
// (purchase_success, coupon_redemption, pay_success, cancel_success): one place, for both
// engines, decides which rates a step feeds.
func (in *Instr) Rates(o outcome.Outcome, count func(name string, ok bool)) {
	ok := o == outcome.Acknowledged
	switch {
	case in.Op == OpPay:
		count("pay_success", ok)
	case in.Op == OpCancel:
		count("cancel_success", ok)
	case in.Audited:
		count("purchase_success", ok)
		if in.Coupon != "" {
			count("coupon_redemption", ok)
		}
	}
}

// Compile builds the scenario's journey program for a run seeded with seed.
func Compile(s *Scenario, seed int64) (*Program, error) {
	users := s.Users
	if users.Count <= 0 {
		users.Count = DefaultUsers // a scenario built in code rather than parsed
	}
	p := &Program{Picker: NewPicker(s.Journeys), Users: NewUserIDs(users, seed), Population: users.Count, SKUIndex: map[string]int{}}
	for i, k := range s.SKUs {
		p.SKUIndex[k.SKU] = i
	}
	c := compiler{s: s, seed: seed, p: p}
	for _, j := range s.Journeys {
		jp := JourneyProgram{Name: j.Name, Weight: j.Weight}
		for si := range j.Steps {
			if in, ok := c.step(j.Name, si, &j.Steps[si]); ok {
				jp.Steps = append(jp.Steps, in)
			}
		}
		link(jp.Steps)
		p.Journeys = append(p.Journeys, jp)
	}
	if len(s.Journeys) == 0 {
		c.problems = append(c.problems, "scenario has no journeys")
	}
	if len(c.problems) > 0 {
		return nil, fmt.Errorf("scenario %s: %s", s.Name, strings.Join(c.problems, "; "))
	}
	return p, nil
}

// link marks the journey's first request and what each pay or cancel settles: the journey's
// last purchase before it.
func link(steps []Instr) {
	last := -1
	first := true
	for i := range steps {
		in := &steps[i]
		if in.Request() && first {
			in.First, first = true, false
		}
		in.Settles = -1
		switch {
		case in.Audited:
			last = i
		case in.NeedsOrder:
			in.Settles = last
		}
	}
}

type compiler struct {
	s        *Scenario
	seed     int64
	p        *Program
	problems []string
}

func (c *compiler) endpoint(spec, def string) Endpoint {
	if strings.TrimSpace(spec) == "" {
		spec = def
	}
	method, t, err := ParseEndpoint(spec, c.s.UserTable)
	if err != nil {
		c.problems = append(c.problems, err.Error())
		return Endpoint{}
	}
	path := strings.TrimSpace(t.String())
	return Endpoint{Method: method, URL: t, Full: strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://")}
}

func (c *compiler) template(src string) *Template {
	t, err := CompileTemplate(src, c.s.UserTable)
	if err != nil {
		c.problems = append(c.problems, err.Error())
	}
	return t
}

func (c *compiler) sku(name string) int {
	if i, ok := c.p.SKUIndex[name]; ok {
		return i
	}
	return -1
}

// step compiles step si of a journey.
func (c *compiler) step(journey string, si int, st *Step) (Instr, bool) {
	api := c.s.API
	in := Instr{Index: uint16(si), Prob: 1, Qty: 1, Settles: -1}
	switch {
	case st.View != nil:
		in.Op, in.SKU, in.Endpoint = OpView, st.View.SKU, c.endpoint(api.View, DefaultAPI.View)
	case st.Think != nil:
		in.Op, in.Think = OpThink, st.Think
		in.Sampler = NewThinkSampler(*st.Think, c.seed, uint64(si))
	case st.Purchase != nil:
		pu := st.Purchase
		in.Op, in.SKU, in.Qty = OpPurchase, pu.SKU, max(pu.Qty, 1)
		in.Endpoint = c.endpoint(api.Purchase, DefaultAPI.Purchase)
		in.Rules = NewStepRules(st)
		in.Audited, in.SameUser, in.Group, in.Coupon = true, pu.SameUser, pu.Group, pu.Coupon
	case st.Pay != nil:
		in.Op, in.Prob, in.Delay, in.NeedsOrder = OpPay, probability(st.Pay.Probability), st.Pay.Delay.D(), true
		in.Endpoint = c.endpoint(api.Pay, DefaultAPI.Pay)
	case st.Cancel != nil:
		in.Op, in.Prob, in.NeedsOrder = OpCancel, probability(st.Cancel.Probability), true
		in.Endpoint = c.endpoint(api.Cancel, DefaultAPI.Cancel)
	case st.JoinGroup != nil:
		in.Op, in.SKU, in.Size = OpJoinGroup, st.JoinGroup.SKU, st.JoinGroup.Size
		in.Endpoint = c.endpoint(api.JoinGroup, DefaultAPI.JoinGroup)
		in.Create = c.endpoint(api.CreateGroup, DefaultAPI.CreateGroup)
	case st.WaitUntilOpen != nil:
		in.Op, in.SKU = OpWaitOpen, st.WaitUntilOpen.SKU
		in.Endpoint = c.endpoint(api.Open, DefaultAPI.Open)
	case st.Request != nil:
		q := st.Request
		in.Op, in.SKU, in.Name = OpRequest, q.SKU, q.Name
		if in.Name == "" {
			in.Name = fmt.Sprintf("request%d", si+1)
		}
		in.Endpoint = c.endpoint(q.URL, "")
		in.Endpoint.Method = strings.ToUpper(q.Method)
		if in.Endpoint.Method == "" {
			in.Endpoint.Method = "GET"
		}
		for _, name := range slices.Sorted(maps.Keys(q.Headers)) {
			in.Headers = append(in.Headers, Header{Name: name, Value: c.template(q.Headers[name])})
		}
		if q.Body != "" {
			in.Body = c.template(q.Body)
		}
		in.Rules = NewStepRules(st)
		in.Audited = q.Purchase
	default:
		c.problems = append(c.problems, fmt.Sprintf("journey %q step %d: no step kind", journey, si+1))
		return Instr{}, false
	}
	if in.Name == "" {
		in.Name = in.Op.String()
	}
	in.SKUIndex = c.sku(in.SKU)
	return in, true
}

// probability reads pay's and cancel's probability: 0 (unset) means always.
func probability(p float64) float64 {
	if p <= 0 {
		return 1
	}
	return min(p, 1)
}
