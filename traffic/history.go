package traffic

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/flashload/flashload/scenario"
)

// sample is one row of a history: a value at a time, from a line of a file.
type sample struct {
	ns   int64
	v    float64
	line int64
	file string
}

// Units of a timestamp,value history.
const (
	UnitRPS   = "rps"   // each value is a rate, requests per second
	UnitCount = "count" // each value is the requests of the interval it starts
)

// readCSV reads timestamp,value rows. A timestamp is RFC 3339, "2006-01-02 15:04:05" (UTC,
// also with a T and fractions), or Unix seconds; a first row that is not a time is a header.
// A replay curve (t,rps, with the "# start" comment WriteCurve writes) reads as well: t is then
// seconds from that start, or from the Unix epoch when the comment is missing.
func readCSV(r io.Reader, name string, rep *Report, out []sample) ([]sample, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var origin int64
	offsets := false
	// Comments before the first row may carry a curve's start; encoding/csv drops comments,
	// so they are read here first.
	var line int64
	for {
		peek, err := br.Peek(1)
		if err != nil || peek[0] != '#' {
			break
		}
		l, err := br.ReadString('\n')
		line++
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), strings.TrimSpace(StartComment)); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if t, perr := time.Parse(time.RFC3339Nano, f[0]); perr == nil {
					origin, offsets = t.UnixNano(), true
				}
			}
		}
		if err != nil {
			break
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		rep.Lines++
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rep.bad(name, int64(pe.Line)+line, pe.Err.Error(), nil)
			continue
		}
		if err != nil {
			return out, err
		}
		l, _ := cr.FieldPos(0)
		l += int(line)
		if len(rec) < 2 {
			rep.bad(name, int64(l), fmt.Sprintf("want two columns timestamp,value, got %d", len(rec)), []byte(strings.Join(rec, ",")))
			continue
		}
		ts, val := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first {
			first = false
			if strings.EqualFold(ts, "t") {
				offsets = true
				rep.Lines--
				continue
			}
			if _, _, terr := parseTime(ts); terr != nil && val != "" && !isNumber(val) {
				rep.Lines-- // a header
				continue
			}
		}
		var ns int64
		if offsets {
			d, derr := scenario.ParseDuration(ts)
			if derr != nil {
				rep.bad(name, int64(l), "t: "+derr.Error(), []byte(strings.Join(rec, ",")))
				continue
			}
			ns = origin + int64(d)
		} else {
			var terr error
			if ns, _, terr = parseTime(ts); terr != nil {
				rep.bad(name, int64(l), terr.Error(), []byte(strings.Join(rec, ",")))
				continue
			}
		}
		v, verr := strconv.ParseFloat(val, 64)
		if verr != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			rep.bad(name, int64(l), fmt.Sprintf("value %q: want a number ≥ 0", val), []byte(strings.Join(rec, ",")))
			continue
		}
		out = append(out, sample{ns: ns, v: v, line: int64(l), file: name})
	}
	return out, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}

// ParseTime reads a time as a history or a flag gives it: RFC 3339, "2006-01-02 15:04:05"
// (UTC, also with a T, fractions, or only to the minute or the day) or Unix seconds.
func ParseTime(s string) (time.Time, error) {
	ns, _, err := parseTime(strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns).UTC(), nil
}

// parseTime reads a history timestamp (layouts as readCSV says), in Unix nanoseconds.
func parseTime(s string) (int64, bool, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixNano(), true, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && math.Abs(f) < 1e11 {
		return int64(math.Round(f * 1e9)), false, nil
	}
	return 0, false, fmt.Errorf("timestamp %q: want RFC 3339, 2006-01-02 15:04:05 or Unix seconds", s)
}

// maxPrometheusBytes bounds a query_range answer read into memory (Prometheus itself caps an
// answer at 11,000 points a series).
const maxPrometheusBytes = 1 << 30

// readPrometheus reads the JSON answer of /api/v1/query_range. Every series of the matrix is
// summed at each time (a rate by instance becomes the service's rate).
func readPrometheus(r io.Reader, name string, rep *Report, out []sample) ([]sample, error) {
	var resp struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPrometheusBytes+1))
	if err != nil {
		return out, err
	}
	rep.Bytes += int64(len(data))
	if len(data) > maxPrometheusBytes {
		return out, fmt.Errorf("%s: larger than %d bytes: query a coarser step or a shorter range", name, maxPrometheusBytes)
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return out, fmt.Errorf("%s: not a Prometheus query_range answer: %w", name, err)
	}
	if resp.Status != "success" {
		return out, fmt.Errorf("%s: the query failed (status %q, %s: %s)", name, resp.Status, resp.ErrorType, resp.Error)
	}
	if resp.Data.ResultType != "matrix" {
		return out, fmt.Errorf("%s: resultType %q: want matrix (a query_range answer)", name, resp.Data.ResultType)
	}
	var m model.Matrix
	if err := json.Unmarshal(resp.Data.Result, &m); err != nil {
		return out, fmt.Errorf("%s: data.result: %w", name, err)
	}
	sum := map[int64]float64{}
	var n int64
	for si, ss := range m {
		for pi, p := range ss.Values {
			n++
			rep.Lines++
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				rep.bad(name, n, fmt.Sprintf("series %d point %d (%s): value %v: want a number ≥ 0", si, pi, ss.Metric, v), nil)
				continue
			}
			sum[int64(p.Timestamp)*1e6] += v
		}
	}
	for ns, v := range sum {
		out = append(out, sample{ns: ns, v: v, file: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ns < out[j].ns })
	for i := range out {
		out[i].line = int64(i + 1)
	}
	return out, nil
}

// toSeries resamples rows onto step-aligned intervals. Each row stands for the interval from
// its time to the next row's, at most the history's own step (the median spacing), so a longer
// spacing is a gap: reported, and missing in the series. Rows out of order are sorted and
// reported; rows at a time already given are merged (rates averaged, counts summed).
func toSeries(rows []sample, step time.Duration, unit string, rep *Report) (Series, time.Duration, error) {
	if len(rows) == 0 {
		return Series{}, 0, fmt.Errorf("no rows")
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].ns < rows[i-1].ns {
			rep.OutOfOrder++
			if rep.FirstOutOfOrder == nil {
				rep.FirstOutOfOrder = &BadLine{File: rows[i].file, Line: rows[i].line, Reason: fmt.Sprintf("%s is before the row above it (%s)",
					time.Unix(0, rows[i].ns).UTC().Format(time.RFC3339), time.Unix(0, rows[i-1].ns).UTC().Format(time.RFC3339))}
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ns < rows[j].ns })
	merged := rows[:1]
	same := 1
	for _, r := range rows[1:] {
		last := &merged[len(merged)-1]
		if r.ns != last.ns {
			merged, same = append(merged, r), 1
			continue
		}
		rep.Duplicates++
		if rep.FirstDuplicate == nil {
			rep.FirstDuplicate = &BadLine{File: r.file, Line: r.line, Reason: "a second row for " + time.Unix(0, r.ns).UTC().Format(time.RFC3339)}
		}
		if unit == UnitCount {
			last.v += r.v
		} else {
			last.v = (last.v*float64(same) + r.v) / float64(same+1)
		}
		same++
	}
	native := nativeStep(merged)
	if step <= 0 {
		step = native
	}
	if step <= 0 {
		return Series{}, 0, fmt.Errorf("one row is no history: give --step")
	}
	if native <= 0 {
		native = step // one row: it stands for one step
	}
	b := newBuckets(step, true)
	for i, r := range merged {
		end := r.ns + int64(native)
		if i+1 < len(merged) {
			next := merged[i+1].ns
			if next > end+int64(native)/2 {
				rep.gap(Gap{From: time.Unix(0, end).UTC(), To: time.Unix(0, next).UTC(), Line: merged[i+1].line, Why: "no rows"})
			}
			end = min(end, next)
		}
		amount := r.v * float64(end-r.ns) / 1e9
		if unit == UnitCount {
			amount = r.v * float64(end-r.ns) / float64(native)
		}
		if err := b.span(r.ns, end, amount); err != nil {
			rep.bad(r.file, r.line, err.Error(), nil)
			continue
		}
		rep.Records++
	}
	return b.series(), native, nil
}

// nativeStep is the median spacing of sorted rows (0 with fewer than two).
func nativeStep(rows []sample) time.Duration {
	if len(rows) < 2 {
		return 0
	}
	d := make([]float64, 0, len(rows)-1)
	for i := 1; i < len(rows); i++ {
		d = append(d, float64(rows[i].ns-rows[i-1].ns))
	}
	return time.Duration(median(d))
}

// sniff guesses a history's format from its first bytes.
func sniff(head []byte) string {
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	switch {
	case bytes.HasPrefix(head, []byte("{")):
		return FormatPrometheus
	case func() bool { _, _, _, r := (&combined{}).parse(line); return r == "" }():
		return FormatNginx
	case func() bool { _, _, _, r := (&alb{}).parse(line); return r == "" }():
		return FormatALB
	default:
		return FormatCSV
	}
}
