package sim

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/flashload/flashload/scenario"
)

// journey is a scenario journey compiled for the simulator: each step is a request of a kind
// (what it costs) or a pause.
type journey struct {
	name   string
	weight float64
	steps  []jstep
}

type jstep struct {
	kind     int // a request kind, or -1 for a pause
	name     string
	think    *scenario.Think
	sampler  *scenario.ThinkSampler
	sku      int                // index in the SKU table, -1 for none
	rules    scenario.StepRules // retries, outcomes and the journey's end: the live engine's rules
	prob     float64            // pay/cancel: probability of taking the step; 1 otherwise
	sameUser bool               // bot: one user for every arrival of the journey
	qty      int                // purchase: units per order (≥ 1)
	coupon   bool               // purchase with a coupon (counted in coupon_redemption)
	needsBuy bool               // pay/cancel: only after a reserved purchase
	order    int                // pay/cancel: the journey's last purchase step before it (-1: none), whose order it settles
	first    bool               // the journey's first request: it stands for the arrival (report.Result.First)
}

// maxRetries is the most retries the step makes after its first attempt.
func (st *jstep) maxRetries() int {
	if st.rules.Retry == nil {
		return 0
	}
	return st.rules.Retry.Max
}

// delay is the pause before retry n (1-based), by the shared rule (scenario.RetryRule.Delay):
// the model's answers carry no Retry-After.
func (st *jstep) delay(n int, r *rand.Rand) time.Duration {
	return st.rules.Retry.Delay(n, r.Float64(), 0)
}

// meanDelay is the mean of delay, for the fluid mode.
func (st *jstep) meanDelay(n int) time.Duration { return st.rules.Retry.Delay(n, 0.5, 0) }

func compileJourneys(s *scenario.Scenario, skuIndex map[string]int) []journey {
	sku := func(name string) int {
		if i, ok := skuIndex[name]; ok {
			return i
		}
		return -1
	}
	var js []journey
	for _, j := range s.Journeys {
		cj := journey{name: j.Name, weight: j.Weight}
		if cj.weight <= 0 {
			cj.weight = 1
		}
		for _, st := range j.Steps {
			switch {
			case st.View != nil:
				cj.steps = append(cj.steps, jstep{kind: kindView, name: "view", sku: sku(st.View.SKU), prob: 1})
			case st.Think != nil:
				cj.steps = append(cj.steps, jstep{kind: -1, name: "think", think: st.Think, sku: -1,
					sampler: scenario.NewThinkSampler(*st.Think, s.Seed, 0)})
			case st.Purchase != nil:
				cj.steps = append(cj.steps, jstep{kind: kindPurchase, name: "purchase", sku: sku(st.Purchase.SKU), prob: 1,
					rules: scenario.NewStepRules(&st), sameUser: st.Purchase.SameUser, qty: max(st.Purchase.Qty, 1),
					coupon: st.Purchase.Coupon != ""})
			case st.Pay != nil:
				p := st.Pay.Probability
				if p <= 0 {
					p = 1
				}
				cj.steps = append(cj.steps, jstep{kind: kindPay, name: "pay", sku: -1, prob: p, needsBuy: true})
			case st.Cancel != nil:
				p := st.Cancel.Probability
				if p <= 0 {
					p = 1
				}
				cj.steps = append(cj.steps, jstep{kind: kindCancel, name: "cancel", sku: -1, prob: p, needsBuy: true})
			case st.JoinGroup != nil:
				cj.steps = append(cj.steps, jstep{kind: kindJoin, name: "join_group", sku: sku(st.JoinGroup.SKU), prob: 1})
			case st.Request != nil:
				k, name := kindRequest, st.Request.Name
				if st.Request.Purchase {
					k = kindPurchase
				}
				if name == "" {
					name = "request"
				}
				cj.steps = append(cj.steps, jstep{kind: k, name: name, sku: sku(st.Request.SKU), prob: 1, rules: scenario.NewStepRules(&st), qty: 1})
			}
		}
		for i := range cj.steps {
			if cj.steps[i].kind >= 0 {
				cj.steps[i].first = true
				break
			}
		}
		last := -1
		for i := range cj.steps {
			switch cj.steps[i].kind {
			case kindPurchase:
				last = i
			case kindPay, kindCancel:
				cj.steps[i].order = last
			}
		}
		js = append(js, cj)
	}
	if len(js) == 0 {
		js = []journey{{name: "default", weight: 1, steps: []jstep{{kind: kindView, name: "view", sku: -1, prob: 1, first: true}}}}
	}
	return js
}

// pickJourney chooses a journey by weight.
func pickJourney(js []journey, total float64, r *rand.Rand) int {
	x := r.Float64() * total
	for i := range js {
		x -= js[i].weight
		if x < 0 {
			return i
		}
	}
	return len(js) - 1
}

// sampleThink draws a pause in scenario time, with the live engine's sampler (its quantile at
// a uniform draw from the run's source).
func sampleThink(ts *scenario.ThinkSampler, r *rand.Rand) time.Duration {
	if ts == nil {
		return 0
	}
	return ts.At(r.Float64())
}

// meanThink is the mean pause, for the fluid mode.
func meanThink(t *scenario.Think) time.Duration {
	switch {
	case t == nil:
		return 0
	case t.Fixed > 0:
		return t.Fixed.D()
	case strings.EqualFold(t.Dist, "exponential"):
		return t.Mean.D()
	case strings.EqualFold(t.Dist, "lognormal") && t.P50 > 0:
		d := LogNormalFromP50P99(t.P50.D().Seconds(), math.Max(t.P99.D().Seconds(), t.P50.D().Seconds()))
		return time.Duration(d.Mean() * 1e9)
	case t.Max > t.Min:
		return (t.Min.D() + t.Max.D()) / 2
	}
	return t.Min.D()
}

// finalRatios counts the named success rates the live engine records, once per step after its
// retries: pay_success, purchase_success, coupon_redemption and cancel_success.
func finalRatios(out sink, kind int, st *jstep, acknowledged bool, n int64) {
	ok := int64(0)
	if acknowledged {
		ok = n
	}
	switch kind {
	case kindPay:
		out.RatioN("pay_success", ok, n)
	case kindCancel:
		out.RatioN("cancel_success", ok, n)
	case kindPurchase:
		out.RatioN("purchase_success", ok, n)
		if st.coupon {
			out.RatioN("coupon_redemption", ok, n)
		}
	}
}

// wallThink turns a pause in scenario time into run-clock time: think times shrink with the
// play's compression (the live engine does the same); back-offs do not.
func wallThink(d time.Duration, compress func(time.Duration) float64, now time.Duration) time.Duration {
	if compress == nil {
		return d
	}
	return scenario.WallThink(d, compress(now))
}
