// Package dist is the one-line syntax of a service-time distribution, shared by the target
// (`serve --work DIST`), rehearse (`--work DIST|model`) and scenario models, which must not
// import each other:
//
//	exp:5ms                       exponential with mean 5ms      (also exponential:5ms)
//	const:5ms                     always 5ms                     (also deterministic:5ms)
//	lognormal:p50=4ms,p99=30ms    lognormal by its median and 99th percentile
//
// Durations are Go durations (time.ParseDuration), positive.
package dist

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Kinds of distribution, named as scenario models name them.
const (
	Exponential   = "exponential"
	Deterministic = "deterministic"
	LogNormal     = "lognormal"
)

// Spec is a parsed distribution. Mean is read by exponential and deterministic, P50 and P99 by
// lognormal.
type Spec struct {
	Kind     string
	Mean     time.Duration
	P50, P99 time.Duration
}

// z99 is the standard normal's 99th percentile.
const z99 = 2.3263478740408408

// LogNormalParams derives μ and σ (of log-seconds) from the median and the 99th percentile.
func LogNormalParams(p50, p99 time.Duration) (mu, sigma float64) {
	m := math.Max(p50.Seconds(), 1e-12)
	mu = math.Log(m)
	sigma = math.Max(math.Log(math.Max(p99.Seconds(), m)/m)/z99, 1e-12)
	return
}

// Parse reads DIST (see the package comment).
func Parse(s string) (Spec, error) {
	kind, args, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Spec{}, fmt.Errorf("distribution %q: want exp:MEAN, const:MEAN or lognormal:p50=D,p99=D", s)
	}
	var sp Spec
	switch strings.ToLower(kind) {
	case "exp", Exponential:
		sp.Kind = Exponential
	case "const", Deterministic:
		sp.Kind = Deterministic
	case LogNormal:
		sp.Kind = LogNormal
	default:
		return Spec{}, fmt.Errorf("distribution %q: unknown kind %q (want exp, const or lognormal)", s, kind)
	}
	if sp.Kind != LogNormal {
		d, err := duration(args)
		if err != nil {
			return Spec{}, fmt.Errorf("distribution %q: mean: %w", s, err)
		}
		sp.Mean = d
		return sp.prepare()
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Spec{}, fmt.Errorf("distribution %q: %q: want p50=D or p99=D", s, kv)
		}
		d, err := duration(v)
		if err != nil {
			return Spec{}, fmt.Errorf("distribution %q: %s: %w", s, k, err)
		}
		if seen[k] {
			return Spec{}, fmt.Errorf("distribution %q: %s given twice", s, k)
		}
		seen[k] = true
		switch k {
		case "p50":
			sp.P50 = d
		case "p99":
			sp.P99 = d
		default:
			return Spec{}, fmt.Errorf("distribution %q: unknown parameter %q (lognormal takes p50 and p99)", s, k)
		}
	}
	return sp.prepare()
}

func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s: must be positive", s)
	}
	return d, nil
}

// New builds a Spec from a scenario model's fields (kind exponential, deterministic or
// lognormal) and checks it as Parse does.
func New(kind string, mean, p50, p99 time.Duration) (Spec, error) {
	sp := Spec{Kind: strings.ToLower(kind), Mean: mean, P50: p50, P99: p99}
	switch sp.Kind {
	case Exponential, Deterministic:
		sp.P50, sp.P99 = 0, 0
		if mean <= 0 {
			return Spec{}, fmt.Errorf("%s needs a positive mean", sp.Kind)
		}
	case LogNormal:
		sp.Mean = 0
	default:
		return Spec{}, fmt.Errorf("distribution %q: want exponential, deterministic or lognormal", kind)
	}
	return sp.prepare()
}

var errLogNormal = errors.New("lognormal needs 0 < p50 < p99")

func (sp Spec) prepare() (Spec, error) {
	if sp.Kind == LogNormal && (sp.P50 <= 0 || sp.P99 <= sp.P50) {
		return Spec{}, fmt.Errorf("%w (p50 %s, p99 %s)", errLogNormal, sp.P50, sp.P99)
	}
	return sp, nil
}

// String is the canonical DIST of sp: Parse(sp.String()) is sp.
func (sp Spec) String() string {
	switch sp.Kind {
	case Exponential:
		return "exp:" + sp.Mean.String()
	case Deterministic:
		return "const:" + sp.Mean.String()
	case LogNormal:
		return "lognormal:p50=" + sp.P50.String() + ",p99=" + sp.P99.String()
	}
	return ""
}

// IsZero says whether sp was never set.
func (sp Spec) IsZero() bool { return sp.Kind == "" }

// MeanTime is the distribution's mean.
func (sp Spec) MeanTime() time.Duration {
	if sp.Kind == LogNormal {
		mu, sigma := LogNormalParams(sp.P50, sp.P99)
		return secs(math.Exp(mu + sigma*sigma/2))
	}
	return sp.Mean
}

// Sample draws one value with r (nil: the goroutine-safe global source).
func (sp Spec) Sample(r *rand.Rand) time.Duration {
	f := rand.Float64
	norm := rand.NormFloat64
	if r != nil {
		f, norm = r.Float64, r.NormFloat64
	}
	switch sp.Kind {
	case Exponential:
		return secs(-math.Log(1-f()) * sp.Mean.Seconds())
	case LogNormal:
		mu, sigma := LogNormalParams(sp.P50, sp.P99)
		return secs(math.Exp(mu + sigma*norm()))
	}
	return sp.Mean
}

func secs(s float64) time.Duration {
	if s >= math.MaxInt64/1e9 {
		return math.MaxInt64
	}
	return time.Duration(s * 1e9)
}
