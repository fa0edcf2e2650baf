package render

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/flashload/flashload/result"
)

// JSON writes the summary as summary.json has it (indented).
func JSON(w io.Writer, s *result.Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// Markdown writes a pull-request comment: the verdict, the gates, the key figures (beside the
// prediction when there is one) and the audit.
func Markdown(w io.Writer, s *result.Summary, predicted *result.Summary) error {
	return MarkdownFull(w, s, predicted, nil)
}

// MarkdownFull is Markdown with the full-scale simulation's sell-out moments beside the run's.
func MarkdownFull(w io.Writer, s, predicted, full *result.Summary) error {
	ew := &errWriter{w: w}
	failed := 0
	for _, g := range s.Gates {
		if !g.Pass {
			failed++
		}
	}
	verdict := "no gates"
	switch {
	case len(s.Gates) > 0 && failed == 0:
		verdict = fmt.Sprintf(":white_check_mark: %d/%d gates passed", len(s.Gates), len(s.Gates))
	case failed > 0:
		verdict = fmt.Sprintf(":x: %d of %d gates failed", failed, len(s.Gates))
	}
	ew.printf("### flashload `%s` (%s): %s\n\n", s.Name, s.Mode, verdict)
	meta := []string{fmt.Sprintf("%s of run clock", dur(s.DurationS))}
	if s.ScenarioTimeS != s.DurationS {
		meta = append(meta, fmt.Sprintf("%s of scenario", dur(s.ScenarioTimeS)))
	}
	if s.Strategy != "" {
		meta = append(meta, "strategy `"+s.Strategy+"`")
	}
	if s.Segment != "" {
		meta = append(meta, "segment "+s.Segment)
	}
	meta = append(meta, fmt.Sprintf("seed %d", s.Seed))
	if s.Partial {
		meta = append(meta, "**partial**")
	}
	ew.printf("%s\n\n", strings.Join(meta, " · "))
	if len(s.Gates) > 0 {
		ew.printf("| | gate | measured |\n|---|---|---|\n")
		for _, g := range s.Gates {
			mark := ":white_check_mark:"
			if !g.Pass {
				mark = ":x:"
			}
			ew.printf("| %s | `%s` | %s |\n", mark, mdEscape(g.Expr), mdEscape(GateValue(g)))
		}
		ew.printf("\n")
	}
	if predicted != nil {
		ew.printf("| metric | measured | predicted |\n|---|---:|---:|\n")
		for _, row := range sideBySide(s, predicted) {
			ew.printf("| %s | %s | %s |\n", row[0], row[1], row[2])
		}
	} else {
		ew.printf("| metric | value |\n|---|---:|\n")
		for _, row := range keyFigures(s) {
			ew.printf("| %s | %s |\n", row[0], row[1])
		}
	}
	ew.printf("\n")
	if len(s.Steps) > 0 {
		namedMarkdown(ew, "step", s.Steps)
	}
	if len(s.Journeys) > 0 {
		namedMarkdown(ew, "journey", s.Journeys)
	}
	if len(s.SKUs) > 0 {
		skuMarkdown(ew, s, full)
	}
	if len(s.Requests.ByReplica) > 1 {
		replicaMarkdown(ew, s)
	}
	ew.printf("**Audit:** %s\n", mdEscape(AuditLine(&s.Audit)))
	for _, v := range s.Audit.Violations {
		ew.printf("- %s\n", mdEscape(v))
	}
	if s.Capacity != nil && ew.err == nil {
		ew.printf("\n")
		ew.err = CapacityMarkdown(ew.w, s.Capacity)
	}
	if len(s.Warnings) > 0 {
		ew.printf("\n<details><summary>warnings (%d)</summary>\n\n", len(s.Warnings))
		for _, warn := range s.Warnings {
			ew.printf("- %s\n", mdEscape(warn))
		}
		ew.printf("\n</details>\n")
	}
	return ew.err
}

func keyFigures(s *result.Summary) [][2]string {
	r := s.Requests
	rows := [][2]string{
		{"requests", fmt.Sprintf("%d (%d ok, %d errors, %d shed, %d dropped)", r.Total, r.OK, r.Errors, r.Shed, r.Dropped)},
		{"achieved / target rate", fmt.Sprintf("%s / %s", rps(s.Rate.AchievedAvg), rps(s.Rate.TargetAvg))},
		{"latency p50 / p90 / p99 / p99.9", fmt.Sprintf("%s / %s / %s / %s", result.FormatMs(s.LatencyMs.P50),
			result.FormatMs(s.LatencyMs.P90), result.FormatMs(s.LatencyMs.P99), result.FormatMs(s.LatencyMs.P999))},
		{"service time p99", result.FormatMs(s.ServiceTimeMs.P99)},
	}
	if p := s.ServerTimeMs; p != nil {
		rows = append(rows, [2]string{"server time p99 (the target's own, Server-Timing)", result.FormatMs(p.P99)})
	}
	for _, k := range slices.Sorted(maps.Keys(s.Rates)) {
		q := s.Rates[k]
		rows = append(rows, [2]string{"rate(" + k + ")", fmt.Sprintf("%s (%d/%d)", pct(q.Value), q.Num, q.Den)})
	}
	if s.Replicas.Max > 0 {
		rows = append(rows, [2]string{"replicas", fmt.Sprintf("%d..%d", s.Replicas.Min, s.Replicas.Max)})
	}
	return rows
}

func mdEscape(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out,omitempty"` // the per-step and per-journey tables
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the gates as JUnit XML: one test case per gate; a failed gate is a failure whose
// message carries the measured value.
func JUnit(w io.Writer, s *result.Summary) error {
	suite := junitSuite{Name: "flashload." + s.Name, Tests: len(s.Gates), Time: strconv.FormatFloat(s.DurationS, 'f', 3, 64),
		Properties: []junitProperty{{"mode", s.Mode}, {"seed", strconv.FormatInt(s.Seed, 10)}}}
	if s.Strategy != "" {
		suite.Properties = append(suite.Properties, junitProperty{"strategy", s.Strategy})
	}
	for _, g := range s.Gates {
		c := junitCase{Name: g.Expr, Classname: "flashload.gates." + s.Name}
		val := GateValue(g)
		if g.Pass {
			c.SystemOut = "measured " + val
		} else {
			suite.Failures++
			msg := "measured " + val
			if g.Error != "" {
				msg = g.Error
			}
			c.Failure = &junitFailure{Message: msg, Type: "gate", Text: fmt.Sprintf("gate %s failed: %s", g.Expr, msg)}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if len(s.Steps) > 0 {
		var b strings.Builder
		_ = NamedTable(&b, "", "step", s.Steps)
		if len(s.Journeys) > 0 {
			b.WriteString("\n")
			_ = NamedTable(&b, "", "journey", s.Journeys)
		}
		suite.SystemOut = &junitText{Text: b.String()}
	}
	doc := junitSuites{Name: "flashload", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// CSV writes the timeline, one row per window.
func CSV(w io.Writer, s *result.Summary) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"t", "wall", "target_rps", "achieved_rps", "requests", "arrivals", "p50_ms", "p99_ms", "errors", "shed", "dropped", "replicas", "stock_left"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, p := range s.Timeline {
		_ = cw.Write([]string{f(p.T), f(p.Wall), f(p.TargetRPS), f(p.AchievedRPS), i(p.Requests), i(p.Arrivals), f(p.P50Ms), f(p.P99Ms),
			i(p.Errors), i(p.Shed), i(p.Dropped), i(int64(p.Replicas)), i(p.StockLeft)})
	}
	cw.Flush()
	return cw.Error()
}
