package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
)

// ProgressLine is the plain progress line printed once per second without a TTY: wall clock,
// scenario clock and progress, achieved/target rate of the last window, p99 of the last window,
// errors and dropped so far, stock left. The run's warnings are printed apart, once each.
func ProgressLine(s result.Snapshot) string {
	s = sanitized(s)
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] ", clock(s.Wall))
	if s.Name != "" {
		b.WriteString(s.Name)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "scenario %s/%s (%s)", clock(s.ScenarioT), clock(s.ScenarioDuration), pct(s.Progress))
	fmt.Fprintf(&b, " · rate %s/%s req/s", count(int64(math.Round(finite(s.Last.AchievedRPS)))), count(int64(math.Round(finite(s.Last.TargetRPS)))))
	fmt.Fprintf(&b, " · p99 %s ms", ms(s.Last.Latency.P99))
	fmt.Fprintf(&b, " · errors %s · dropped %s", count(s.Total.Errors), count(s.Total.Dropped))
	switch {
	case len(s.SKUs) > 0:
		for _, k := range s.SKUs {
			if k.SoldOutAtS != nil {
				fmt.Fprintf(&b, " · %s sold out at %s", k.SKU, clock(time.Duration(finite(*k.SoldOutAtS)*float64(time.Second))))
			} else if k.Stock > 0 {
				fmt.Fprintf(&b, " · %s left %s/%s", k.SKU, count(k.Left), count(k.Stock))
			}
		}
	case s.Stock > 0:
		fmt.Fprintf(&b, " · stock left %s/%s", count(s.StockLeft), count(s.Stock))
	}
	if s.Oversold > 0 {
		fmt.Fprintf(&b, " · OVERSOLD %s", count(s.Oversold))
	}
	if s.Mode == "sim" || s.Replicas > 0 {
		fmt.Fprintf(&b, " · replicas %d/%d", s.Replicas, s.DesiredReplicas)
	}
	b.WriteString(replicaProgress(s))
	if unreachable(s) {
		b.WriteString(" · target unreachable")
	}
	if s.Done {
		if s.Partial {
			b.WriteString(" · done (partial)")
		} else {
			b.WriteString(" · done")
		}
	}
	return b.String()
}

// warnings are the snapshot's own warnings (deduplicated, in order) plus what the dashboard
// can tell from the numbers when the producer did not say it.
func warnings(s result.Snapshot) []string {
	var out []string
	seen := map[string]bool{}
	add := func(w string) {
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	mentions := func(word string) bool {
		for _, w := range s.Warnings {
			if strings.Contains(strings.ToLower(w), word) {
				return true
			}
		}
		return false
	}
	for _, w := range s.Warnings {
		add(w)
	}
	if s.Last.Dropped > 0 && !mentions("drop") {
		add(fmt.Sprintf("%s arrivals dropped in the last window (the generator could not start them on time)", count(s.Last.Dropped)))
	}
	if unreachable(s) && !mentions("unreachable") {
		add("target unreachable: every request of the last window failed, connections refused")
	}
	return out
}

// unreachable: every request of the last window failed and connections were refused.
func unreachable(s result.Snapshot) bool {
	return s.Last.Requests > 0 && s.Last.Errors >= s.Last.Requests && s.ByError[string(outcome.ErrRefused)] > 0
}

// clock formats a duration as h:mm:ss (hours grow as needed).
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// pct formats a 0..1 fraction as a percentage.
func pct(f float64) string {
	f = math.Max(0, math.Min(1, finite(f)))
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

// ms formats milliseconds with three significant figures where they matter.
func ms(f float64) string {
	f = finite(f)
	switch {
	case f <= 0:
		return "0"
	case f < 10:
		return strconv.FormatFloat(f, 'f', 2, 64)
	case f < 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	case f < 100000:
		return strconv.FormatFloat(f, 'f', 0, 64)
	default:
		return strconv.FormatFloat(f/1000, 'f', 0, 64) + "s"
	}
}

// count formats an integer with thousands separators: 1,234,567.
func count(n int64) string {
	s := strconv.FormatInt(n, 10) // works on the digits: -MinInt64 does not exist
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// compact formats a rate for chart labels: 950, 2.0k, 350k, 1.2M.
func compact(f float64) string {
	f = finite(f)
	a := math.Abs(f)
	switch {
	case a < 1000:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case a < 10000:
		return strconv.FormatFloat(f/1000, 'f', 1, 64) + "k"
	case a < 1e6:
		return strconv.FormatFloat(f/1000, 'f', 0, 64) + "k"
	case a < 1e9:
		return strconv.FormatFloat(f/1e6, 'f', 1, 64) + "M"
	default:
		return strconv.FormatFloat(f/1e9, 'f', 1, 64) + "G"
	}
}

// finite turns NaN and infinities into 0, so a broken figure never breaks the layout.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// printable drops control characters and invalid UTF-8 from text a producer sent, so a name
// or a warning can never move the cursor or open an escape sequence on the user's terminal.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// sanitized returns s with every text field made printable (maps are only read by key).
func sanitized(s result.Snapshot) result.Snapshot {
	s.Name, s.Mode, s.Target = printable(s.Name), printable(s.Mode), printable(s.Target)
	s.Strategy, s.Segment, s.NextStage = printable(s.Strategy), printable(s.Segment), printable(s.NextStage)
	s.Autoscaler = printable(s.Autoscaler)
	if len(s.SKUs) > 0 {
		ks := make([]result.SKUStats, len(s.SKUs))
		for i, k := range s.SKUs {
			k.SKU = printable(k.SKU)
			ks[i] = k
		}
		s.SKUs = ks
	}
	if len(s.Warnings) > 0 {
		ws := make([]string, len(s.Warnings))
		for i, w := range s.Warnings {
			ws[i] = printable(w)
		}
		s.Warnings = ws
	}
	if len(s.ByError) > 0 {
		be := make(map[string]int64, len(s.ByError))
		for k, v := range s.ByError {
			be[printable(k)] += v
		}
		s.ByError = be
	}
	return s
}
