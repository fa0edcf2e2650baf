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
	// UserNames are the names captured with scope: user (sorted): a user's kept values
	// (UserValues) are indexed by their position here.
	UserNames []string
}

// JourneyProgram is one journey's instructions.
type JourneyProgram struct {
	Name   string
	Weight float64
	Steps  []Instr
	// Slots names the journey's values, by slot: what its captures set and its templates read
	// (Vars.Caps).
	Slots []string
	// UserSlots are the slots of scope: user names: at the journey's start they hold what the
	// user kept from an earlier arrival; a capture into one keeps it for the later ones.
	UserSlots []UserSlot
	// Cookies: one cookie jar per journey instance (cookies: true, the default).
	Cookies bool
}

// UserSlot ties a journey slot to a scope: user name (its index in Program.UserNames).
type UserSlot struct{ Slot, User int }

// Need is a scope: user value a step reads that no earlier step of its journey captures: a user
// who kept none ends the journey at that step, which counts as skipped with Reason.
type Need struct {
	UserSlot
	Reason string
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
	// Pays: the step's acknowledged answer pays the purchase of step Settles (pay, or a request
	// with settles:): pay_success, and paid for the audit.
	Pays bool
	// Captures take values from the step's acknowledged answer (request steps).
	Captures []CaptureRule
	// Needs are the scope: user values the step reads without an earlier capture in the journey.
	Needs []Need
	// unacked is, per final outcome, why a step with captures counts as skipped when its answer
	// was not acknowledged (no values to take): made once, so the engines do not build strings.
	unacked [8]string
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
	case in.Pays:
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

// After is what a step's final outcome (after its retries) leaves the journey: end reports
// whether the journey ends here, and skipped, when not "", why the step counts as skipped: it
// has captures and its answer was not acknowledged, so there is nothing to take them from and
// the later steps would miss their values. An acknowledged answer's captures are the engine's
// to take (CaptureRule.Append; the simulator's acknowledged answers carry them all), and a
// capture that finds nothing ends the journey the same way, skipped with CaptureRule's reason.
func (in *Instr) After(o outcome.Outcome) (end bool, skipped string) {
	if in.Rules.EndsJourney(o) {
		return true, ""
	}
	if len(in.Captures) > 0 && o != outcome.Acknowledged {
		if int(o) < len(in.unacked) && in.unacked[o] != "" {
			return true, in.unacked[o]
		}
		return true, in.Captures[0].Name + ": the answer was not acknowledged"
	}
	return false, ""
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
	c := compiler{s: s, seed: seed, p: p, users: map[string]int{}}
	for _, j := range s.Journeys {
		for _, st := range j.Steps {
			if st.Request != nil {
				for _, cp := range st.Request.Capture {
					if cp.Scope == "user" && !slices.Contains(p.UserNames, cp.As) {
						p.UserNames = append(p.UserNames, cp.As)
					}
				}
			}
		}
	}
	slices.Sort(p.UserNames)
	for i, n := range p.UserNames {
		c.users[n] = i
	}
	for ji := range s.Journeys {
		p.Journeys = append(p.Journeys, c.journey(&s.Journeys[ji]))
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
	users    map[string]int // the scope: user names' indexes
	problems []string
	jc       *journeyCompile // the journey being compiled
}

// journeyCompile is what compiling one journey keeps between its steps: its slots, the names
// captured so far, and its purchase steps by name.
type journeyCompile struct {
	jp        *JourneyProgram
	slots     map[string]int
	earlier   map[string]bool
	purchases map[string]int // name → index in jp.Steps
	needs     []Need         // of the step being compiled
}

// journey compiles one journey.
func (c *compiler) journey(j *Journey) JourneyProgram {
	jp := JourneyProgram{Name: j.Name, Weight: j.Weight, Cookies: j.Cookies == nil || *j.Cookies}
	jc := &journeyCompile{jp: &jp, slots: map[string]int{}, earlier: map[string]bool{}, purchases: map[string]int{}}
	c.jc = jc
	for si := range j.Steps {
		st := &j.Steps[si]
		in, ok := c.step(j.Name, si, st)
		if !ok {
			continue
		}
		if q := st.Request; q != nil {
			c.captures(&in, q)
			if q.Settles != "" {
				if k, ok := jc.purchases[q.Settles]; ok {
					in.Settles, in.Pays = k, true
				} else {
					c.problems = append(c.problems, fmt.Sprintf("journey %q step %d: settles %q names no earlier purchase step", j.Name, si+1, q.Settles))
				}
			}
			if q.Purchase {
				jc.purchases[in.Name] = len(jp.Steps)
			}
		}
		jp.Steps = append(jp.Steps, in)
	}
	link(jp.Steps)
	c.jc = nil
	return jp
}

// slot is the journey's slot of a name, made on first use.
func (jc *journeyCompile) slot(name string, users map[string]int) int {
	if k, ok := jc.slots[name]; ok {
		return k
	}
	k := len(jc.jp.Slots)
	jc.slots[name] = k
	jc.jp.Slots = append(jc.jp.Slots, name)
	if u, ok := users[name]; ok {
		jc.jp.UserSlots = append(jc.jp.UserSlots, UserSlot{Slot: k, User: u})
	}
	return k
}

// slots resolves a capture's name in a request step's template: a name an earlier step
// captured, or a scope: user name (a Need when no earlier step captured it).
func (c *compiler) slots(name string) (int, error) {
	jc := c.jc
	if jc == nil {
		return 0, ErrNoSuchCapture
	}
	u, isUser := c.users[name]
	if !jc.earlier[name] && !isUser {
		return 0, ErrNoSuchCapture
	}
	k := jc.slot(name, c.users)
	if !jc.earlier[name] && !slices.ContainsFunc(jc.needs, func(n Need) bool { return n.Slot == k }) {
		jc.needs = append(jc.needs, Need{UserSlot: UserSlot{Slot: k, User: u},
			Reason: name + ": no value kept for this user yet (scope: user)"})
	}
	return k, nil
}

// captures compiles a request step's captures, and the reasons it counts skipped.
func (c *compiler) captures(in *Instr, q *Request) {
	jc := c.jc
	in.Needs, jc.needs = jc.needs, nil
	for _, cp := range q.Capture {
		r, err := CompileCapture(cp)
		if err != nil {
			c.problems = append(c.problems, err.Error())
			continue
		}
		r.Slot = jc.slot(cp.As, c.users)
		if u, ok := c.users[cp.As]; ok {
			r.User = u
		}
		in.Captures = append(in.Captures, r)
	}
	for _, cp := range q.Capture {
		jc.earlier[cp.As] = true
	}
	if len(in.Captures) > 0 {
		for o := range in.unacked {
			in.unacked[o] = in.Captures[0].Name + ": the answer was " + outcome.Outcome(o).String() + ", nothing to capture"
		}
	}
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

// requestEndpoint is a request step's method and URL, whose template may read captures.
func (c *compiler) requestEndpoint(q *Request) Endpoint {
	e := Endpoint{Method: strings.ToUpper(q.Method), URL: c.template(q.URL)}
	if e.Method == "" {
		e.Method = "GET"
	}
	if e.URL != nil {
		path := strings.TrimSpace(e.URL.String())
		e.Full = strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://")
	}
	return e
}

// template compiles a request step's template (url, a header, the body): it may read the
// journey's captures.
func (c *compiler) template(src string) *Template {
	t, err := CompileTemplateSlots(src, c.s.UserTable, c.slots)
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
		in.Op, in.Prob, in.Delay, in.NeedsOrder, in.Pays = OpPay, probability(st.Pay.Probability), st.Pay.Delay.D(), true, true
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
		in.Op, in.SKU, in.Name = OpRequest, q.SKU, RequestName(q, si)
		in.Endpoint = c.requestEndpoint(q)
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
