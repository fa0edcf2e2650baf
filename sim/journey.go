package sim

import (
	"math"
	"strings"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// journey is a journey of the scenario's program (scenario.Compile) with what the simulator
// needs beside it: each step's request kind, which decides what it costs in the model. What a
// step means (its name, retries, outcomes, what it settles, when it is skipped, what ends the
// journey) is the program's, as the live engine reads it.
type journey struct {
	name   string
	weight float64
	steps  []jstep
}

type jstep struct {
	in       *scenario.Instr
	kind     int // a request kind, or -1 for a pause
	name     string
	think    *scenario.Think
	sampler  *scenario.ThinkSampler
	sku      int                // index in the SKU table, -1 for none
	rules    scenario.StepRules // retries, outcomes and the journey's end
	prob     float64            // pay/cancel: probability of taking the step; 1 otherwise
	sameUser bool               // bot: one user for every arrival of the journey
	qty      int                // purchase: units per order (≥ 1)
	coupon   bool               // purchase with a coupon (counted in coupon_redemption)
	needsBuy bool               // pay/cancel: only after a reserved purchase
	order    int                // pay/cancel: the purchase step whose order it settles (-1: none)
	first    bool               // the journey's first request: it stands for the arrival (result.Result.First)
	limit    int64              // the SKU's per-user limit (0: none)
}

// overLimit reports whether a same_user bot holding held units is refused this purchase by
// the per-user limit (the fluid mode's aggregate rule; the request mode asks its book).
func (st *jstep) overLimit(held float64) bool {
	return st.sameUser && st.limit > 0 && held+float64(st.qty) > float64(st.limit)+1e-9
}

// maxRetries is the most retries the step makes after its first attempt.
func (st *jstep) maxRetries() int {
	if st.rules.Retry == nil {
		return 0
	}
	return st.rules.Retry.Max
}

// delay is the pause before retry n (1-based) after an answer with status and code.
func (st *jstep) delay(n int, u float64, status int, code string) time.Duration {
	return RetryDelay(&st.rules, n, u, status, code)
}

// RetryDelay is the simulator's pause before retry n (1-based) of a step with rules, after a
// modelled answer with status and code: the program's rule (scenario.RetryRule.Delay) with
// the Retry-After the target sends with that code, as the live engine waits for the target's
// header. u ∈ [0, 1) draws the jitter.
func RetryDelay(rules *scenario.StepRules, n int, u float64, status int, code string) time.Duration {
	var ra time.Duration
	if scenario.HonoursRetryAfter(status) {
		ra = codes.RetryAfterOf(code)
	}
	return rules.Retry.Delay(n, u, ra)
}

// meanDelay is the mean of delay, for the fluid mode.
func (st *jstep) meanDelay(n int, status int, code string) time.Duration {
	return st.delay(n, 0.5, status, code)
}

// kindOf is the model's request kind of an instruction: what it costs.
func kindOf(in *scenario.Instr) int {
	switch in.Op {
	case scenario.OpThink:
		return -1
	case scenario.OpPurchase:
		return kindPurchase
	case scenario.OpPay:
		return kindPay
	case scenario.OpCancel:
		return kindCancel
	case scenario.OpJoinGroup:
		return kindJoin
	case scenario.OpRequest:
		switch {
		case in.Audited:
			return kindPurchase
		case in.Pays:
			return kindPay // a request with settles: pays in the book as pay does
		}
		return kindRequest
	}
	return kindView // view, wait_until_open's poll
}

func compileJourneys(p *scenario.Program, skus []scenario.SKU) []journey {
	var js []journey
	for ji := range p.Journeys {
		jp := &p.Journeys[ji]
		cj := journey{name: jp.Name, weight: jp.Weight}
		if cj.weight <= 0 {
			cj.weight = 1
		}
		for i := range jp.Steps {
			in := &jp.Steps[i]
			cj.steps = append(cj.steps, jstep{in: in, kind: kindOf(in), name: in.Name, think: in.Think, sampler: in.Sampler,
				sku: in.SKUIndex, rules: in.Rules, prob: in.Prob, sameUser: in.SameUser, qty: max(in.Qty, 1),
				coupon: in.Coupon != "", needsBuy: in.NeedsOrder, order: in.Settles, first: in.First})
			if in.SKUIndex >= 0 && in.SKUIndex < len(skus) {
				cj.steps[i].limit = int64(skus[in.SKUIndex].LimitPerUser)
			}
		}
		js = append(js, cj)
	}
	return js
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

// finalRatios counts the named success rates of a step's final outcome, n times, by the
// program's rule (scenario.Instr.Rates).
func finalRatios(out sink, st *jstep, o outcome.Outcome, n int64) {
	st.in.Rates(o, func(name string, ok bool) {
		k := int64(0)
		if ok {
			k = n
		}
		out.RatioN(name, k, n)
	})
}

// wallThink turns a pause in scenario time into run-clock time: think times shrink with the
// play's compression (the live engine does the same); back-offs do not.
func wallThink(d time.Duration, compress func(time.Duration) float64, now time.Duration) time.Duration {
	if compress == nil {
		return d
	}
	return scenario.WallThink(d, compress(now))
}
