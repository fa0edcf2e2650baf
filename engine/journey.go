package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flashload/flashload/scenario"
)

type stepKind uint8

const (
	kView stepKind = iota
	kThink
	kPurchase
	kPay
	kCancel
	kJoinGroup
	kWaitOpen
	kRequest
)

// Default endpoints of the presets: flashload's target API (scenario.DefaultAPI).
var (
	defaultView        = scenario.DefaultAPI.View
	defaultPurchase    = scenario.DefaultAPI.Purchase
	defaultPay         = scenario.DefaultAPI.Pay
	defaultCancel      = scenario.DefaultAPI.Cancel
	defaultJoinGroup   = scenario.DefaultAPI.JoinGroup
	defaultCreateGroup = scenario.DefaultAPI.CreateGroup
	defaultOpen        = scenario.DefaultAPI.Open
)

type header struct {
	name string
	val  *scenario.Template
}

// endpoint is a method and a URL template (a path joined to the target, or a full URL).
type endpoint struct {
	method string
	url    *scenario.Template
	full   bool // the URL names its own host: sent with the general client
}

// compiledStep is a journey step resolved once per run: templates compiled, defaults applied.
type compiledStep struct {
	kind     stepKind
	idx      uint16
	name     string // Result.Step
	ep       endpoint
	create   endpoint // join_group: opens a group when none is open
	headers  []header
	body     *scenario.Template
	sku      string
	skuIdx   uint16
	qty      int
	rules    scenario.StepRules // retries, outcomes and the journey's end (shared with sim)
	think    *scenario.Think
	sampler  *scenario.ThinkSampler // At only: safe for concurrent use
	prob     float64
	delay    time.Duration
	audit    bool // a purchase attempt: recorded for the audit
	sameUser bool
	group    bool
	coupon   string
	size     int
}

// parseEndpoint reads "METHOD /path" or "/path" (scenario.ParseEndpoint) into an endpoint.
func parseEndpoint(spec string, table *scenario.Table) (endpoint, error) {
	method, t, err := scenario.ParseEndpoint(spec, table)
	if err != nil {
		return endpoint{}, err
	}
	path := strings.TrimSpace(t.String())
	return endpoint{method: method, url: t, full: strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://")}, nil
}

// compile resolves every journey's steps and the journey weights.
func (r *run) compile() error {
	s := r.s
	api := s.API
	or := func(v, d string) string {
		if strings.TrimSpace(v) == "" {
			return d
		}
		return v
	}
	skuIdx := map[string]uint16{}
	for i, k := range s.SKUs {
		skuIdx[k.SKU] = uint16(i)
	}
	idxOf := func(sku string) uint16 {
		if i, ok := skuIdx[sku]; ok {
			return i
		}
		return noSKU
	}
	var problems []string
	ep := func(spec string) endpoint {
		e, err := parseEndpoint(spec, s.UserTable)
		if err != nil {
			problems = append(problems, err.Error())
		}
		return e
	}
	preset := func(v, def string) endpoint { return ep(or(v, def)) }
	r.picker = scenario.NewPicker(s.Journeys)
	r.userIDs = scenario.NewUserIDs(s.Users, r.seed)
	for _, j := range s.Journeys {
		var steps []compiledStep
		for si, st := range j.Steps {
			c := compiledStep{idx: uint16(si), skuIdx: noSKU}
			switch {
			case st.View != nil:
				c.kind, c.name, c.sku = kView, "view", st.View.SKU
				c.ep = preset(api.View, defaultView)
			case st.Think != nil:
				c.kind, c.name, c.think = kThink, "think", st.Think
				c.sampler = scenario.NewThinkSampler(*st.Think, r.seed, uint64(si))
			case st.Purchase != nil:
				p := st.Purchase
				c.kind, c.name, c.sku, c.qty = kPurchase, "purchase", p.SKU, max(p.Qty, 1)
				c.ep = preset(api.Purchase, defaultPurchase)
				c.rules = scenario.NewStepRules(&st)
				c.audit, c.sameUser, c.group, c.coupon = true, p.SameUser, p.Group, p.Coupon
			case st.Pay != nil:
				c.kind, c.name, c.prob, c.delay = kPay, "pay", prob(st.Pay.Probability), st.Pay.Delay.D()
				c.ep = preset(api.Pay, defaultPay)
			case st.Cancel != nil:
				c.kind, c.name, c.prob = kCancel, "cancel", prob(st.Cancel.Probability)
				c.ep = preset(api.Cancel, defaultCancel)
			case st.JoinGroup != nil:
				c.kind, c.name, c.sku, c.size = kJoinGroup, "join_group", st.JoinGroup.SKU, st.JoinGroup.Size
				c.ep = preset(api.JoinGroup, defaultJoinGroup)
				c.create = preset(api.CreateGroup, defaultCreateGroup)
			case st.WaitUntilOpen != nil:
				c.kind, c.name, c.sku = kWaitOpen, "wait_until_open", st.WaitUntilOpen.SKU
				c.ep = preset(api.Open, defaultOpen)
			case st.Request != nil:
				q := st.Request
				c.kind, c.name, c.sku = kRequest, q.Name, q.SKU
				if c.name == "" {
					c.name = fmt.Sprintf("request%d", si+1)
				}
				method := strings.ToUpper(or(q.Method, "GET"))
				c.ep = ep(q.URL)
				c.ep.method = method
				for _, name := range slices.Sorted(maps.Keys(q.Headers)) {
					t, err := scenario.CompileTemplate(q.Headers[name], s.UserTable)
					if err != nil {
						problems = append(problems, err.Error())
						continue
					}
					c.headers = append(c.headers, header{name: name, val: t})
				}
				if q.Body != "" {
					t, err := scenario.CompileTemplate(q.Body, s.UserTable)
					if err != nil {
						problems = append(problems, err.Error())
					}
					c.body = t
				}
				c.rules = scenario.NewStepRules(&st)
				c.audit = q.Purchase
			default:
				problems = append(problems, fmt.Sprintf("journey %q step %d: no step kind", j.Name, si+1))
				continue
			}
			c.skuIdx = idxOf(c.sku)
			steps = append(steps, c)
		}
		r.steps = append(r.steps, steps)
	}
	if len(s.Journeys) == 0 {
		problems = append(problems, "scenario has no journeys")
	}
	if len(problems) > 0 {
		return fmt.Errorf("scenario %s: %s", s.Name, strings.Join(problems, "; "))
	}
	return nil
}

func prob(p float64) float64 {
	if p <= 0 {
		return 1
	}
	return min(p, 1)
}
