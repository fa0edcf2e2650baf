package traffic

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// The fast combined-log time parser must agree with the standard library wherever it accepts.
func FuzzCombinedLine(f *testing.F) {
	data, _ := readLines("testdata/nginx.log")
	for _, l := range data {
		f.Add(l)
	}
	f.Add(`x [29/Feb/2024:23:59:60 -1130] "GET / HTTP/1.1"`)
	f.Add(`x [29/Feb/2023:00:00:00 +0000] "GET / HTTP/1.1"`)
	f.Fuzz(func(t *testing.T, line string) {
		c := &combined{}
		ns, method, target, reason := c.parse([]byte(line))
		if reason != "" {
			return
		}
		i := strings.IndexByte(line, '[')
		ts := line[i+1 : i+27]
		if ts[18:20] == "60" {
			return // a leap second, which time.Parse refuses and a log may still hold
		}
		want, err := time.Parse("02/Jan/2006:15:04:05 -0700", ts)
		if err != nil {
			t.Fatalf("accepted %q, which time.Parse refuses: %v", ts, err)
		}
		if ns != want.UnixNano() {
			t.Fatalf("%q: got %v, want %v", ts, time.Unix(0, ns).UTC(), want.UTC())
		}
		// A second parse through the minute cache gives the same answer.
		if ns2, _, _, _ := c.parse([]byte(line)); ns2 != ns {
			t.Fatalf("cached parse %d != %d", ns2, ns)
		}
		checkRequest(t, method, target)
	})
}

// The ALB time parser must agree with RFC 3339 wherever it accepts.
func FuzzALBLine(f *testing.F) {
	data, _ := readLines("testdata/alb.log")
	for _, l := range data {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a := &alb{}
		ns, method, target, reason := a.parse([]byte(line))
		if reason != "" {
			return
		}
		f := strings.Fields(line)
		ts := f[0]
		if len(line) > 0 && (line[0] < '0' || line[0] > '9') {
			ts = strings.SplitN(line, " ", 3)[1]
			ts = strings.SplitN(ts, " ", 2)[0]
		}
		if ts[17:19] == "60" {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("accepted %q, which time.Parse refuses: %v", ts, err)
		}
		if ns != want.UnixNano() {
			t.Fatalf("%q: got %v, want %v", ts, time.Unix(0, ns).UTC(), want.UTC())
		}
		checkRequest(t, method, target)
	})
}

func checkRequest(t *testing.T, method, target []byte) {
	if (method == nil) != (target == nil) {
		t.Fatalf("method %q without target %q or the reverse", method, target)
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			t.Fatalf("method %q", method)
		}
	}
}

func readLines(path string) ([]string, error) {
	data, err := readFile(path)
	return strings.Split(strings.TrimSpace(string(data)), "\n"), err
}

// Whatever a log holds, an import counts every line once and makes a curve of finite rates.
func FuzzImportLog(f *testing.F) {
	for _, p := range []string{"testdata/nginx.log", "testdata/alb.log"} {
		data, _ := readFile(p)
		f.Add(data, p == "testdata/alb.log")
	}
	f.Fuzz(func(t *testing.T, data []byte, isALB bool) {
		format := FormatNginx
		if isALB {
			format = FormatALB
		}
		imp, err := ImportReader(context.Background(), bytes.NewReader(data), "fuzz", ImportOptions{Format: format, Mix: true})
		if err != nil {
			return
		}
		checkImport(t, imp)
		if imp.Mix.Total != imp.Report.Records {
			t.Fatalf("mix counted %d of %d records", imp.Mix.Total, imp.Report.Records)
		}
	})
}

// Whatever a CSV or a Prometheus answer holds, an import fails cleanly or gives a sane curve.
func FuzzImportHistory(f *testing.F) {
	for _, p := range []string{"testdata/history.csv", "testdata/prometheus.json"} {
		data, _ := readFile(p)
		f.Add(data, p == "testdata/prometheus.json", false)
	}
	f.Add([]byte("# start 2024-11-11T00:00:00Z step 1m\nt,rps\n0,1\n60,2\n"), false, true)
	f.Fuzz(func(t *testing.T, data []byte, prom, count bool) {
		o := ImportOptions{Format: FormatCSV, Step: time.Minute}
		if prom {
			o.Format = FormatPrometheus
		}
		if count {
			o.Unit = UnitCount
		}
		imp, err := ImportReader(context.Background(), bytes.NewReader(data), "fuzz", o)
		if err != nil {
			return
		}
		checkImport(t, imp)
	})
}

func checkImport(t *testing.T, imp *Import) {
	r := imp.Report
	if r.Records <= 0 || r.Records+r.Bad > r.Lines {
		t.Fatalf("records %d + bad %d > lines %d (or none)", r.Records, r.Bad, r.Lines)
	}
	if len(r.BadSamples) > MaxSamples || int64(len(r.BadSamples)) > r.Bad {
		t.Fatalf("%d samples of %d bad", len(r.BadSamples), r.Bad)
	}
	if imp.Series.Len() == 0 || imp.Series.Len() > MaxBuckets {
		t.Fatalf("%d intervals", imp.Series.Len())
	}
	for _, v := range imp.Series.Values {
		if v < 0 || math.IsInf(v, 0) {
			t.Fatalf("rate %v", v)
		}
	}
}

// A route is a path, '*' or {authority}; folding it again changes nothing.
func FuzzAppendRoute(f *testing.F) {
	for _, s := range []string{"/", "/v1/orders/88123/pay?x", "https://h/x/1", "*", "h:443", "/a\x01b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		r := AppendRoute(nil, []byte(target))
		if !(bytes.HasPrefix(r, []byte("/")) || string(r) == "*" || string(r) == "{authority}") {
			t.Fatalf("%q → %q", target, r)
		}
		if bytes.ContainsAny(r, "?#") || bytes.ContainsFunc(r, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			t.Fatalf("%q → %q", target, r)
		}
		if string(r) != "{authority}" {
			if again := AppendRoute(nil, r); !bytes.Equal(again, r) {
				t.Fatalf("%q → %q → %q", target, r, again)
			}
		}
	})
}
