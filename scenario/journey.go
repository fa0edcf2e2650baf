package scenario

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/flashload/flashload/internal/dist"
)

// Kinds lists the kinds a step has set (a valid step has exactly one).
func (st *Step) Kinds() []string {
	var k []string
	add := func(set bool, name string) {
		if set {
			k = append(k, name)
		}
	}
	add(st.View != nil, "view")
	add(st.Think != nil, "think")
	add(st.Purchase != nil, "purchase")
	add(st.Pay != nil, "pay")
	add(st.Cancel != nil, "cancel")
	add(st.JoinGroup != nil, "join_group")
	add(st.WaitUntilOpen != nil, "wait_until_open")
	add(st.Request != nil, "request")
	add(st.Subscribe != nil, "subscribe")
	return k
}

// Kind is the step's kind ("view", "purchase", ...), or "" for an invalid step.
func (st *Step) Kind() string {
	if k := st.Kinds(); len(k) == 1 {
		return k[0]
	}
	return ""
}

// Mix derives a uniform 64-bit value from the run's seed, an arrival's sequence number and a
// stream (which decision: journey, user, think of step 3, ...). Every random choice of a journey
// comes from it, so a segment's arrivals make the same choices as in the whole run.
func Mix(seed int64, seq int64, stream uint64) uint64 {
	z := uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(seq)*0xbf58476d1ce4e5b9 ^ stream*0x94d049bb133111eb
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// Unit maps a Mix value to [0, 1).
func Unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// Streams of Mix used by the helpers here; engines may use any other value.
const (
	StreamJourney uint64 = 1
	StreamUser    uint64 = 2
	StreamStep    uint64 = 16 // + step index: think, pay probability, jitter of that step
)

// Picker chooses journeys by weight.
type Picker struct {
	cum []float64
}

// NewPicker builds a picker over the journeys' weights.
func NewPicker(js []Journey) *Picker {
	p := &Picker{}
	c := 0.0
	for _, j := range js {
		c += max(j.Weight, 0)
		p.cum = append(p.cum, c)
	}
	return p
}

// Pick returns the index of the journey for u ∈ [0, 1).
func (p *Picker) Pick(u float64) int {
	if len(p.cum) == 0 {
		return -1
	}
	x := u * p.cum[len(p.cum)-1]
	i := sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > x })
	return min(i, len(p.cum)-1)
}

// PickSeq picks the journey of arrival seq.
func (p *Picker) PickSeq(seed, seq int64) int { return p.Pick(Unit(Mix(seed, seq, StreamJourney))) }

// UserIDs maps arrivals to user ids in 1..Count: sequential (arrival seq → seq mod Count + 1)
// or Zipf-skewed (rank 1 the hottest), drawn by inverting the continuous power law
// P(rank ≤ x) ∝ x^(1-s) with a uniform value from the seed.
type UserIDs struct {
	n    int64
	zipf bool
	s    float64
	a    float64 // n^(1-s) - 1, or ln n when s == 1
	seed int64
}

// NewUserIDs builds the user-id mapping of a population.
func NewUserIDs(u Users, seed int64) *UserIDs {
	n := max(u.Count, 1)
	g := &UserIDs{n: n, zipf: u.IDs == "zipf", s: u.Skew, seed: seed}
	if g.zipf {
		if math.Abs(g.s-1) < 1e-9 {
			g.a = math.Log(float64(n) + 1)
		} else {
			g.a = math.Pow(float64(n)+1, 1-g.s) - 1
		}
	}
	return g
}

// User returns the user id of arrival seq.
func (g *UserIDs) User(seq int64) int64 {
	if !g.zipf {
		return seq%g.n + 1
	}
	return g.Rank(Unit(Mix(g.seed, seq, StreamUser)))
}

// Rank maps u ∈ [0, 1) to a Zipf-like rank in 1..n.
func (g *UserIDs) Rank(u float64) int64 {
	var x float64
	if math.Abs(g.s-1) < 1e-9 {
		x = math.Exp(u * g.a)
	} else {
		x = math.Pow(u*g.a+1, 1/(1-g.s))
	}
	return min(max(int64(x), 1), g.n)
}

// ThinkSampler draws think times (scenario time) for one Think. Sample uses gonum's
// distributions with an explicit Src seeded from the run's seed (one sampler per goroutine);
// At maps a uniform value to the same distribution's quantile, for per-arrival determinism.
type ThinkSampler struct {
	t   Think
	rng *rand.Rand
	exp distuv.Exponential
	ln  distuv.LogNormal
}

// NewThinkSampler builds a sampler; stream separates samplers of the same seed (a worker id).
func NewThinkSampler(t Think, seed int64, stream uint64) *ThinkSampler {
	src := rand.NewPCG(uint64(seed), Mix(seed, 0, stream))
	ts := &ThinkSampler{t: t, rng: rand.New(src)}
	switch t.Dist {
	case "exponential":
		ts.exp = distuv.Exponential{Rate: 1 / math.Max(t.Mean.D().Seconds(), 1e-12), Src: src}
	case "lognormal":
		mu, sigma := lognormalParams(t.P50.D(), t.P99.D())
		ts.ln = distuv.LogNormal{Mu: mu, Sigma: sigma, Src: src}
	}
	return ts
}

// lognormalParams derives μ and σ from the median and the 99th percentile.
func lognormalParams(p50, p99 time.Duration) (mu, sigma float64) {
	return dist.LogNormalParams(p50, p99)
}

// Sample draws a think time.
func (ts *ThinkSampler) Sample() time.Duration {
	switch {
	case ts.t.Dist == "exponential":
		return secs(ts.exp.Rand())
	case ts.t.Dist == "lognormal":
		return secs(ts.ln.Rand())
	default:
		return ts.At(ts.rng.Float64())
	}
}

// At returns the think time at quantile u ∈ [0, 1).
func (ts *ThinkSampler) At(u float64) time.Duration {
	t := ts.t
	switch {
	case t.Dist == "exponential":
		return secs(ts.exp.Quantile(u))
	case t.Dist == "lognormal":
		return secs(ts.ln.Quantile(math.Max(u, 1e-300)))
	case t.Max > t.Min:
		return t.Min.D() + time.Duration(u*float64(t.Max.D()-t.Min.D()))
	}
	return t.Fixed.D()
}

// WallThink converts a scenario-time pause to run time at compression c: think times shrink
// with compress like everything else in scenario time.
func WallThink(d time.Duration, c float64) time.Duration {
	if c <= 0 {
		return d
	}
	return time.Duration(float64(d) / c)
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an HTTP date (relative to
// now). It returns false for anything else.
func ParseRetryAfter(v []byte, now time.Time) (time.Duration, bool) {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := time.Parse(time.RFC1123, s); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// MaxServerTiming is the largest server time ParseServerTiming accepts: a target's own time for
// one answer beyond an hour is a broken clock or header, not a measurement.
const MaxServerTiming = time.Hour

// ParseServerTiming reads a Server-Timing header value (W3C Server-Timing: metrics separated by
// ",", each a name and parameters after ";", a parameter name=value with value a token or a
// quoted string) and returns the dur of the first metric that has one: milliseconds, a decimal
// number (digits, ".", an exponent). Whitespace around the separators is tolerated; commas and
// semicolons inside quoted strings do not separate. false when no metric has a dur, or when the
// first dur is not a number in [0, MaxServerTiming]. It does not allocate.
func ParseServerTiming(v []byte) (time.Duration, bool) {
	for len(v) > 0 {
		var metric []byte
		metric, v = cutUnquoted(v, ',')
		name, params := cutUnquoted(metric, ';')
		if len(bytes.TrimSpace(name)) == 0 {
			continue
		}
		for len(params) > 0 {
			var p []byte
			p, params = cutUnquoted(params, ';')
			k, val, ok := bytes.Cut(p, []byte("="))
			if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte("dur")) {
				continue
			}
			return parseDurMs(bytes.TrimSpace(val))
		}
	}
	return 0, false
}

// cutUnquoted cuts b at the first sep outside a quoted string (where a backslash escapes the
// next byte).
func cutUnquoted(b []byte, sep byte) (before, after []byte) {
	quoted := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// parseDurMs reads a dur value, milliseconds, possibly quoted.
func parseDurMs(v []byte) (time.Duration, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if len(v) == 0 || len(v) > 32 {
		return 0, false
	}
	if d, ok := fixedMs(v); ok {
		return d, true
	}
	return floatMs(v)
}

// floatMs is parseDurMs's general parse of an unquoted value.
func floatMs(v []byte) (time.Duration, bool) {
	for _, c := range v {
		if (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			return 0, false // no inf, nan, hex or digit separators: a decimal number only
		}
	}
	ms, err := strconv.ParseFloat(string(v), 64)
	if err != nil || !(ms >= 0 && ms <= float64(MaxServerTiming/time.Millisecond)) {
		return 0, false
	}
	return time.Duration(math.Round(ms * float64(time.Millisecond))), true
}

// fixedMs reads the common form of a dur, digits with at most six decimals ("0.019"), in
// integers: every answer of a run carries one, and the float parse costs a tenth of a
// microsecond. The value is exact, so it equals the float parse's rounded one. false: another
// form (or out of range), for the general parse.
func fixedMs(v []byte) (time.Duration, bool) {
	var whole, frac int64
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if i >= 7 { // more than 9,999,999 ms is out of range anyway
			return 0, false
		}
		whole = whole*10 + int64(v[i]-'0')
	}
	if i == 0 {
		return 0, false
	}
	scale := int64(time.Millisecond)
	if i < len(v) {
		if v[i] != '.' || i+1 == len(v) || len(v)-i-1 > 6 {
			return 0, false
		}
		for _, c := range v[i+1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			frac = frac*10 + int64(c-'0')
			scale /= 10
		}
	}
	d := time.Duration(whole)*time.Millisecond + time.Duration(frac*scale)
	if d > MaxServerTiming {
		return 0, false
	}
	return d, true
}

// DefaultAPI is flashload's target API, the presets' default endpoints.
var DefaultAPI = API{
	View:        "GET /v1/skus/{{sku}}",
	Purchase:    "POST /v1/skus/{{sku}}/purchase",
	Pay:         "POST /v1/orders/{{order}}/pay",
	Cancel:      "POST /v1/orders/{{order}}/cancel",
	JoinGroup:   "POST /v1/groups/{{group}}/join",
	CreateGroup: "POST /v1/groups",
	Open:        "GET /v1/skus/{{sku}}",
}

// ParseEndpoint reads an api entry, "METHOD /path/{{var}}" or "/path" (method GET for a bare
// path), and compiles its path template.
func ParseEndpoint(s string, table *Table) (method string, path *Template, err error) {
	method, p := "GET", strings.TrimSpace(s)
	if m, rest, ok := strings.Cut(p, " "); ok {
		method, p = m, strings.TrimSpace(rest)
		if !methodRe.MatchString(method) {
			return "", nil, fmt.Errorf("%q: want \"METHOD /path\" (GET, POST, ...)", s)
		}
	}
	if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://") {
		return "", nil, fmt.Errorf("%q: the path must start with / or be an http(s) URL", s)
	}
	t, err := CompileTemplate(p, table)
	if err != nil {
		return "", nil, err
	}
	return method, t, nil
}

// Preset is a preset step resolved to a request: what the engine sends for view, purchase, pay,
// cancel, join_group (join, or create when the journey has no group yet) and wait_until_open.
type Preset struct {
	Method string
	Path   *Template
	Body   *Template // nil: no body
	Retry  *Retry
}

// Presets compiles the presets of a scenario's API (after Parse, which validated it).
type Presets struct {
	View, Purchase, PurchaseGroup, Pay, Cancel, JoinGroup, CreateGroup, Open Preset
}

// NewPresets compiles the scenario's api entries and preset bodies.
func NewPresets(s *Scenario) (*Presets, error) {
	a := s.API
	get := func(e, def string, body string) (Preset, error) {
		if e == "" {
			e = def
		}
		m, p, err := ParseEndpoint(e, s.UserTable)
		if err != nil {
			return Preset{}, err
		}
		pr := Preset{Method: m, Path: p}
		if body != "" {
			if pr.Body, err = CompileTemplate(body, nil); err != nil {
				return Preset{}, err
			}
		}
		return pr, nil
	}
	var ps Presets
	var err error
	for _, x := range []struct {
		dst       *Preset
		e, def, b string
	}{
		{&ps.View, a.View, DefaultAPI.View, ""},
		{&ps.Purchase, a.Purchase, DefaultAPI.Purchase, `{"qty":1}`},
		{&ps.PurchaseGroup, a.Purchase, DefaultAPI.Purchase, `{"qty":1,"group_id":"{{group}}"}`},
		{&ps.Pay, a.Pay, DefaultAPI.Pay, ""},
		{&ps.Cancel, a.Cancel, DefaultAPI.Cancel, ""},
		{&ps.JoinGroup, a.JoinGroup, DefaultAPI.JoinGroup, ""},
		{&ps.CreateGroup, a.CreateGroup, DefaultAPI.CreateGroup, `{"sku":"{{sku}}"}`},
		{&ps.Open, a.Open, DefaultAPI.Open, ""},
	} {
		if *x.dst, err = get(x.e, x.def, x.b); err != nil {
			return nil, err
		}
	}
	return &ps, nil
}

// PurchaseBody renders the body of a purchase of qty (with a group and a coupon when set).
func PurchaseBody(dst []byte, qty int, group, coupon string) []byte {
	dst = append(dst, `{"qty":`...)
	dst = strconv.AppendInt(dst, int64(max(qty, 1)), 10)
	if group != "" {
		dst = append(dst, `,"group_id":`...)
		dst = strconv.AppendQuote(dst, group)
	}
	if coupon != "" {
		dst = append(dst, `,"coupon":`...)
		dst = strconv.AppendQuote(dst, coupon)
	}
	return append(dst, '}')
}
