package scenario

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flashload/flashload/outcome"
)

type validator struct {
	d    *decoder
	s    *Scenario
	fsys fs.FS
	skus map[string]bool
}

func (v *validator) problem(path, format string, args ...any) { v.d.problem(path, format, args...) }

var (
	skuRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	methodRe = regexp.MustCompile(`^[A-Z]{3,10}$`)
	codeRe   = regexp.MustCompile(`^[A-Z][A-Z_]*$`)
)

// validate checks everything and fills in defaults; problems go to the decoder.
func (v *validator) validate() {
	s := v.s
	if s.Name == "" {
		base := s.File
		if i := strings.LastIndexAny(base, `/\:`); i >= 0 {
			base = base[i+1:]
		}
		s.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	if strings.ContainsAny(s.Description, "\n") {
		v.problem("description", "must be one line")
	}
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Compress < 0 || s.Compress == 0 && v.d.pos["compress"] != nil {
		v.problem("compress", "must be > 0 (scenario seconds per wall second)")
	}
	if s.Compress <= 0 {
		s.Compress = 1
	}
	if s.RateScale < 0 || s.RateScale == 0 && v.d.pos["rate_scale"] != nil {
		v.problem("rate_scale", "must be > 0 (the share of the amplitude played live)")
	}
	if s.RateScale <= 0 {
		s.RateScale = 1
	}
	if s.StockScale < 0 || s.StockScale == 0 && v.d.pos["stock_scale"] != nil {
		v.problem("stock_scale", "must be > 0 (the share of the stock played when the rate is scaled)")
	}
	switch s.StockRule {
	case "", StockRuleRate, StockRuleArrivals:
	default:
		v.problem("stock_rule", "unknown rule %q (want %s or %s)", s.StockRule, StockRuleRate, StockRuleArrivals)
	}
	if s.Duration < 0 {
		v.problem("duration", "must be > 0")
	}
	v.validateSKUs()
	v.validateTraffic()
	v.validateUsers()
	v.validateData()
	v.validateVars()
	v.expandRequestVars()
	v.validateAudit()
	v.validateAPI()
	v.validateJourneys()
	if s.Model != nil {
		for _, p := range s.Model.Problems() {
			v.problem(joinPath("model", p.Path), "%s", p.Msg)
		}
	}
	v.validateGates()
	v.validateFaults()
}

func (v *validator) validateSKUs() {
	v.skus = map[string]bool{}
	for i := range v.s.SKUs {
		k := &v.s.SKUs[i]
		p := fmt.Sprintf("skus[%d]", i)
		switch {
		case k.SKU == "":
			v.problem(p+".sku", "is required")
		case !skuRe.MatchString(k.SKU):
			v.problem(p+".sku", "%q: letters, digits, '.', '_' and '-', at most 64", k.SKU)
		case v.skus[k.SKU]:
			v.problem(p+".sku", "%q appears twice", k.SKU)
		}
		v.skus[k.SKU] = true
		if k.Stock < 0 {
			v.problem(p+".stock", "must be ≥ 0")
		}
		if k.Price <= 0 {
			v.problem(p+".price", "must be > 0")
		}
		if k.Cost < 0 {
			v.problem(p+".cost", "must be ≥ 0")
		}
		if k.LimitPerUser < 0 {
			v.problem(p+".limit_per_user", "must be ≥ 0 (0 is unlimited)")
		}
		sa, okA := v.saleTime(p+".starts_at", k.StartsAt)
		ea, okE := v.saleTime(p+".ends_at", k.EndsAt)
		if okA && okE && k.StartsAt != "" && k.EndsAt != "" && !ea.After(sa) {
			v.problem(p+".ends_at", "must be after starts_at")
		}
		if pr := k.Pricing; pr != nil {
			if l := pr.Ladder; l != nil {
				lp := p + ".pricing.ladder"
				if l.Start <= 0 {
					v.problem(lp+".start", "must be > 0 (a multiple of the list price, 1.2 = 120%%)")
				}
				if l.Step <= 0 || l.Step >= 1 {
					v.problem(lp+".step", "must be in (0, 1) (a share of the list price, 0.05 = 5%%)")
				}
				if l.Every <= 0 {
					v.problem(lp+".every", "must be > 0")
				}
				if l.FloorOverCost < 0 {
					v.problem(lp+".floor_over_cost", "must be ≥ 0")
				}
				if l.FloorOverCost > 0 && k.Cost <= 0 {
					v.problem(lp+".floor_over_cost", "needs the sku's cost")
				}
			}
			if pr.FirstNHalf < 0 {
				v.problem(p+".pricing.first_n_half", "must be ≥ 0")
			} else if pr.FirstNHalf > k.Stock {
				v.problem(p+".pricing.first_n_half", "%d is more than the stock (%d)", pr.FirstNHalf, k.Stock)
			}
		}
	}
}

// saleTime checks an RFC 3339 time or an offset like "+5s"; offsets come back as a time from
// the zero time so they compare.
func (v *validator) saleTime(path, s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if off, ok := strings.CutPrefix(s, "+"); ok {
		d, err := ParseDuration(off)
		if err != nil || d < 0 {
			v.problem(path, "%q: want an RFC 3339 time or an offset like +5s", s)
			return time.Time{}, false
		}
		return time.Time{}.Add(d), true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.problem(path, "%q: want an RFC 3339 time or an offset like +5s", s)
		return time.Time{}, false
	}
	return t, false // absolute and offset times do not compare
}

func (v *validator) validateTraffic() {
	s, t := v.s, &v.s.Traffic
	switch t.Model {
	case "":
		t.Model = DefaultModel
	case "open", "closed":
	default:
		v.problem("traffic.model", "%q: want open or closed", t.Model)
	}
	switch t.Arrivals {
	case "":
		t.Arrivals = DefaultArrivals
	case "poisson", "uniform":
	default:
		v.problem("traffic.arrivals", "%q: want poisson or uniform", t.Arrivals)
	}
	if t.Model == "closed" {
		if t.VUs <= 0 {
			v.problem("traffic.vus", "the closed model needs vus > 0")
		}
	} else if t.VUs != 0 {
		v.problem("traffic.vus", "only the closed model reads vus (traffic.model: closed)")
	}
	if t.StartRPS < 0 {
		v.problem("traffic.start_rps", "must be ≥ 0")
	}
	if t.Replay != "" && len(t.Stages) > 0 {
		v.problem("traffic.replay", "a curve comes from stages or replay, not both")
	}
	if t.Replay == "" && len(t.Stages) == 0 && (t.Model != "closed" || s.Duration <= 0) {
		if t.Model == "closed" {
			v.problem("duration", "the closed model without stages needs a duration")
		} else {
			v.problem("traffic", "needs stages or replay")
		}
	}
	var sum time.Duration
	for i := range t.Stages {
		v.validateStage(i, &t.Stages[i])
		sum += t.Stages[i].Duration.D()
	}
	if t.Replay != "" {
		data, err := readFS(v.fsys, s.Dir, t.Replay)
		if err != nil {
			v.problem("traffic.replay", "%v", err)
		} else if pts, err := readReplay(bytes.NewReader(data)); err != nil {
			v.problem("traffic.replay", "%s: %v", t.Replay, err)
		} else {
			s.ReplayPoints = pts
			sum = pts[len(pts)-1].T
			if s.Duration > 0 && s.Duration.D() < sum {
				v.problem("duration", "%v is shorter than the replay (%v)", s.Duration.D(), sum)
			}
			if s.Duration.D() > sum {
				sum = s.Duration.D()
			}
		}
	}
	if len(t.Stages) > 0 {
		if s.Duration != 0 && s.Duration.D() != sum {
			v.problem("duration", "%v differs from the sum of the stages (%v): drop it or fix the stages", s.Duration.D(), sum)
		}
	}
	if sum > 0 {
		s.Duration = Duration(sum)
	}
	if t.StartRPS == 0 && len(t.Stages) > 0 && t.Stages[0].Shape == "" && t.Stages[0].RPS > 0 && v.d.pos["traffic.start_rps"] == nil {
		// k6 starts from 0; say nothing, it is the documented semantics.
		_ = 0
	}
}

func (v *validator) validateStage(i int, st *Stage) {
	p := fmt.Sprintf("traffic.stages[%d]", i)
	if st.Duration <= 0 {
		v.problem(p+".duration", "must be > 0")
	}
	if st.RPS < 0 {
		v.problem(p+".rps", "must be ≥ 0")
	}
	if st.Peak < 0 {
		v.problem(p+".peak", "must be ≥ 0")
	}
	if st.Compress < 0 || st.Compress == 0 && v.d.pos[p+".compress"] != nil {
		v.problem(p+".compress", "must be > 0 (scenario seconds per wall second)")
	}
	known := false
	for _, sh := range Shapes {
		known = known || st.Shape == sh
	}
	if st.Shape != "" && !known {
		v.problem(p+".shape", "unknown shape %q%s", st.Shape, suggest(st.Shape, Shapes))
		return
	}
	only := func(key string, set bool, shapes string) {
		if set {
			v.problem(p+"."+key, "only shape %s reads %s", shapes, key)
		}
	}
	peaked := st.Shape == ShapeSine || st.Shape == ShapeMidnightSpike || st.Shape == ShapeDoubleElevenDay
	if peaked {
		if st.Peak <= 0 {
			v.problem(p+".peak", "shape %s needs peak > 0", st.Shape)
		}
	} else if st.Shape != ShapeConstant {
		only("peak", v.d.pos[p+".peak"] != nil, "sine, midnight-spike, double-eleven-day (and constant)")
	}
	if st.Shape == ShapeSine || st.Shape == ShapeDoubleElevenDay {
		only("rps", v.d.pos[p+".rps"] != nil, "ramp, constant, step, midnight-spike (its floor)")
	}
	if st.Shape == ShapeConstant && st.RPS > 0 && st.Peak > 0 {
		v.problem(p+".peak", "constant takes rps or peak, not both")
	}
	if st.Shape != ShapeMidnightSpike {
		only("rise", st.Rise != 0, ShapeMidnightSpike)
		only("decay", st.Decay != 0, ShapeMidnightSpike)
	} else {
		if st.Rise < 0 || st.Rise != 0 && st.Rise >= st.Duration {
			v.problem(p+".rise", "must be > 0 and shorter than the stage")
		}
		if st.Decay < 0 {
			v.problem(p+".decay", "must be > 0")
		}
	}
	if st.Shape != ShapeSine {
		only("period", st.Period != 0, ShapeSine)
	} else if st.Period < 0 {
		v.problem(p+".period", "must be > 0")
	}
	if st.Shape != ShapeStep {
		only("steps", st.Steps != 0, ShapeStep)
	} else if st.Steps < 0 || st.Steps > 1000 {
		v.problem(p+".steps", "must be in 1..1000")
	}
}

func (v *validator) validateUsers() {
	u := &v.s.Users
	if u.Count < 0 || u.Count == 0 && v.d.pos["users"] != nil && v.d.pos["users.count"] != nil {
		v.problem("users", "count must be > 0")
	}
	if u.Count <= 0 {
		u.Count = DefaultUsers
	}
	switch u.IDs {
	case "":
		u.IDs = "sequential"
	case "sequential":
	case "zipf":
		if u.Skew <= 0 {
			v.problem("users.skew", "zipf needs skew > 0 (1.1 is a common choice)")
		}
	default:
		v.problem("users.ids", "%q: want sequential or zipf", u.IDs)
	}
	if u.IDs != "zipf" && u.Skew != 0 {
		v.problem("users.skew", "only ids: zipf reads skew")
	}
}

func (v *validator) validateData() {
	if v.s.Data.Users == "" {
		return
	}
	data, err := readFS(v.fsys, v.s.Dir, v.s.Data.Users)
	if err != nil {
		v.problem("data.users", "%v", err)
		return
	}
	t, err := readTable(bytes.NewReader(data))
	if err != nil {
		v.problem("data.users", "%s: %v", v.s.Data.Users, err)
		return
	}
	v.s.UserTable = t
}

func (v *validator) validateAPI() {
	a := &v.s.API
	for _, f := range []struct {
		key string
		val *string
		def string
	}{
		{"view", &a.View, DefaultAPI.View}, {"purchase", &a.Purchase, DefaultAPI.Purchase},
		{"pay", &a.Pay, DefaultAPI.Pay}, {"cancel", &a.Cancel, DefaultAPI.Cancel},
		{"join_group", &a.JoinGroup, DefaultAPI.JoinGroup}, {"create_group", &a.CreateGroup, DefaultAPI.CreateGroup},
		{"open", &a.Open, DefaultAPI.Open},
	} {
		if *f.val == "" {
			*f.val = f.def
			continue
		}
		if _, _, err := ParseEndpoint(*f.val, v.s.UserTable); err != nil {
			v.problem("api."+f.key, "%v", err)
		}
	}
}

func (v *validator) sku(path string, sku *string, required bool) {
	if *sku == "" {
		if len(v.s.SKUs) == 1 {
			*sku = v.s.SKUs[0].SKU
			return
		}
		if required {
			v.problem(path, "is required (the scenario has %d skus)", len(v.s.SKUs))
		}
		return
	}
	if len(v.s.SKUs) > 0 && !v.skus[*sku] {
		v.problem(path, "unknown sku %q%s", *sku, suggest(*sku, slices.Sorted(maps.Keys(v.skus))))
	}
}

func (v *validator) validateJourneys() {
	s := v.s
	if len(s.Journeys) == 0 {
		v.problem("journeys", "needs at least one journey")
		return
	}
	names := map[string]bool{}
	user := v.userNames()
	total := 0.0
	for i := range s.Journeys {
		j := &s.Journeys[i]
		p := fmt.Sprintf("journeys[%d]", i)
		if j.Name == "" {
			j.Name = fmt.Sprintf("journey%d", i+1)
		} else if names[j.Name] {
			v.problem(p+".name", "%q appears twice", j.Name)
		}
		names[j.Name] = true
		if j.Weight < 0 || math.IsInf(j.Weight, 0) {
			v.problem(p+".weight", "must be ≥ 0")
		}
		if j.Weight == 0 && v.d.pos[p+".weight"] == nil {
			j.Weight = 1
		}
		total += max(j.Weight, 0)
		if len(j.Steps) == 0 {
			v.problem(p+".steps", "needs at least one step")
		}
		purchased, grouped := false, false
		js := newJourneyScope(j, user)
		for k := range j.Steps {
			v.validateStep(fmt.Sprintf("%s.steps[%d]", p, k), &j.Steps[k], k, &purchased, &grouped, js)
		}
	}
	if total <= 0 {
		v.problem("journeys", "the weights add up to 0")
	}
}

func (v *validator) validateStep(p string, st *Step, k int, purchased, grouped *bool, js *journeyScope) {
	kinds := st.Kinds()
	if len(kinds) == 0 {
		v.problem(p, "an empty step (want one of view, think, purchase, pay, cancel, join_group, wait_until_open, request)")
		return
	}
	if len(kinds) > 1 {
		v.problem(p, "a step is exactly one of view, think, purchase, ...; this one has %s", strings.Join(kinds, " and "))
		return
	}
	switch {
	case st.View != nil:
		v.sku(p+".view.sku", &st.View.SKU, true)
	case st.WaitUntilOpen != nil:
		v.sku(p+".wait_until_open.sku", &st.WaitUntilOpen.SKU, true)
	case st.Think != nil:
		v.validateThink(p+".think", st.Think)
	case st.Purchase != nil:
		q := st.Purchase
		v.sku(p+".purchase.sku", &q.SKU, true)
		if q.Qty < 0 || q.Qty > 1000 {
			v.problem(p+".purchase.qty", "must be in 1..1000")
		}
		if q.Qty == 0 {
			q.Qty = 1
		}
		if q.Group && !*grouped {
			v.problem(p+".purchase.group", "needs an earlier join_group step in the journey")
		}
		v.validateRetry(p+".purchase.retry", q.Retry)
		*purchased = true
	case st.Pay != nil:
		if st.Pay.Probability < 0 || st.Pay.Probability > 1 {
			v.problem(p+".pay.probability", "must be in [0, 1] (0.95 or 95%%)")
		}
		if st.Pay.Probability == 0 && v.d.pos[p+".pay.probability"] == nil {
			st.Pay.Probability = 1
		}
		if st.Pay.Delay < 0 {
			v.problem(p+".pay.delay", "must be ≥ 0")
		}
		if !*purchased {
			v.problem(p+".pay", "needs an earlier purchase in the journey (it pays that order)")
		}
	case st.Cancel != nil:
		if st.Cancel.Probability < 0 || st.Cancel.Probability > 1 {
			v.problem(p+".cancel.probability", "must be in [0, 1]")
		}
		if st.Cancel.Probability == 0 && v.d.pos[p+".cancel.probability"] == nil {
			st.Cancel.Probability = 1
		}
		if !*purchased {
			v.problem(p+".cancel", "needs an earlier purchase in the journey (it cancels that order)")
		}
	case st.JoinGroup != nil:
		v.sku(p+".join_group.sku", &st.JoinGroup.SKU, true)
		if st.JoinGroup.Size < 2 || st.JoinGroup.Size > 1000 {
			v.problem(p+".join_group.size", "must be in 2..1000 (flashload's target has tiers 2, 5 and 10)")
		}
		*grouped = true
	case st.Request != nil:
		v.validateRequest(p+".request", st.Request, purchased)
		v.validateRequestTemplates(p+".request", st.Request, js)
		v.validateCaptures(p+".request", st.Request, js, k)
	}
}

// validateRequestTemplates compiles a request step's url, headers and body with the names the
// journey's earlier steps capture.
func (v *validator) validateRequestTemplates(p string, r *Request, js *journeyScope) {
	check := func(path, src string) {
		if _, err := CompileTemplateSlots(src, v.s.UserTable, js.slots); err != nil {
			v.problem(path, "%v", err)
		}
	}
	if strings.HasPrefix(r.URL, "/") || strings.HasPrefix(r.URL, "http://") || strings.HasPrefix(r.URL, "https://") {
		check(p+".url", r.URL)
	}
	for k, h := range r.Headers {
		check(p+".headers."+k, h)
	}
	if r.Body != "" {
		check(p+".body", r.Body)
	}
}

func (v *validator) validateThink(p string, t *Think) {
	fixed, rng, dist := t.Fixed != 0, t.Min != 0 || t.Max != 0, t.Dist != ""
	n := 0
	for _, b := range []bool{fixed, rng, dist} {
		if b {
			n++
		}
	}
	switch {
	case n == 0 && v.d.pos[p+".fixed"] == nil:
		v.problem(p, "needs fixed, min/max or dist")
	case n > 1:
		v.problem(p, "is one of fixed, min/max or dist")
	}
	if t.Fixed < 0 {
		v.problem(p+".fixed", "must be ≥ 0")
	}
	if rng {
		if t.Min < 0 {
			v.problem(p+".min", "must be ≥ 0")
		}
		if t.Max <= t.Min {
			v.problem(p+".max", "must be more than min")
		}
	}
	if !dist {
		if t.Mean != 0 || t.P50 != 0 || t.P99 != 0 {
			v.problem(p+".dist", "mean, p50 and p99 need dist: exponential or lognormal")
		}
		return
	}
	switch t.Dist {
	case "exponential":
		if t.Mean <= 0 {
			v.problem(p+".mean", "exponential needs mean > 0")
		}
		if t.P50 != 0 || t.P99 != 0 {
			v.problem(p+".dist", "exponential reads mean only")
		}
	case "lognormal":
		if t.P50 <= 0 || t.P99 <= t.P50 {
			v.problem(p+".p99", "lognormal needs 0 < p50 < p99")
		}
		if t.Mean != 0 {
			v.problem(p+".mean", "lognormal reads p50 and p99")
		}
	default:
		v.problem(p+".dist", "%q: want exponential or lognormal", t.Dist)
	}
}

// retryErrorClasses are the no-answer error classes a retry may name (outcome.ErrorClass values,
// and "error" for all of them): retrying a timed-out purchase with its key is how a client
// recovers without creating a second order.
var retryErrorClasses = map[string]bool{"timeout": true, "refused": true, "reset": true, "bad_answer": true, "other": true, "error": true}

func (v *validator) validateRetry(p string, r *Retry) {
	if r == nil {
		return
	}
	if len(r.On) == 0 {
		v.problem(p+".on", "needs statuses (429, 503) or codes (SHED) to retry on")
	}
	for i, on := range r.On {
		if n, err := strconv.Atoi(on); err == nil {
			if n < 100 || n > 599 {
				v.problem(fmt.Sprintf("%s.on[%d]", p, i), "%d is not an HTTP status", n)
			}
		} else if !codeRe.MatchString(on) && !retryErrorClasses[on] {
			v.problem(fmt.Sprintf("%s.on[%d]", p, i), "%q: want a status (503), a code (SHED) or an error class (timeout, refused, reset, bad_answer, other, error)", on)
		}
	}
	if r.Max <= 0 || r.Max > 100 {
		v.problem(p+".max", "must be in 1..100")
	}
	if r.Backoff < 0 {
		v.problem(p+".backoff", "must be ≥ 0")
	}
	if r.Jitter < 0 {
		v.problem(p+".jitter", "must be ≥ 0")
	}
}

func (v *validator) validateRequest(p string, r *Request, purchased *bool) {
	if r.Method == "" {
		r.Method = "GET"
	} else if !methodRe.MatchString(r.Method) {
		v.problem(p+".method", "%q: want an HTTP method in capitals (GET, POST, ...)", r.Method)
	}
	if r.URL == "" {
		v.problem(p+".url", "is required (a path like /api/buy/{{sku}} or a full URL)")
	} else if !strings.HasPrefix(r.URL, "/") && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		v.problem(p+".url", "%q: want a path starting with / or an http(s) URL", r.URL)
	}
	for k := range r.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			v.problem(p+".headers."+k, "%q is not a header name", k)
		}
	}
	if r.SKU != "" {
		v.sku(p+".sku", &r.SKU, false)
	}
	v.validateRetry(p+".retry", r.Retry)
	for i, c := range r.Classify {
		cp := fmt.Sprintf("%s.classify[%d]", p, i)
		if len(c.Status) == 0 && c.JSON == nil {
			v.problem(cp, "needs status and/or json to match")
		}
		for k, st := range c.Status {
			if st < 100 || st > 599 {
				v.problem(fmt.Sprintf("%s.status[%d]", cp, k), "%d is not an HTTP status", st)
			}
		}
		if c.JSON != nil && c.JSON.Field == "" {
			v.problem(cp+".json.field", "is required")
		}
		if c.Code != "" && !codeRe.MatchString(c.Code) {
			v.problem(cp+".code", "%q: want a code in capitals (SOLD_OUT)", c.Code)
		}
		if _, ok := outcome.Parse(c.Outcome); !ok {
			known := make([]string, len(Outcomes))
			for k, o := range Outcomes {
				known[k] = o.String()
			}
			v.problem(cp+".outcome", "%q: want one of %s", c.Outcome, strings.Join(known, ", "))
		}
	}
	if r.Purchase {
		*purchased = true
	}
}
