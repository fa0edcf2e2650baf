package traffic

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func importFile(t *testing.T, path string, o ImportOptions) *Import {
	t.Helper()
	imp, err := ImportFiles(context.Background(), []string{path}, o)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func wantValues(t *testing.T, s Series, want []float64) {
	t.Helper()
	if len(s.Values) != len(want) {
		t.Fatalf("got %d values %v, want %d %v", len(s.Values), s.Values, len(want), want)
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(s.Values[i]) || (!math.IsNaN(want[i]) && math.Abs(s.Values[i]-want[i]) > 1e-9) {
			t.Fatalf("values %v, want %v", s.Values, want)
		}
	}
}

func TestImportNginx(t *testing.T) {
	for _, format := range []string{FormatNginx, FormatAuto, "apache"} {
		imp := importFile(t, "testdata/nginx.log", ImportOptions{Format: format, Mix: true})
		r := imp.Report
		if r.Format != FormatNginx || r.Lines != 9 || r.Records != 7 || r.Bad != 2 {
			t.Fatalf("%s: report %+v", format, r)
		}
		if r.BadSamples[0].Line != 5 || r.BadSamples[1].Line != 8 || r.BadSamples[1].Reason != "bad time" {
			t.Fatalf("samples %v", r.BadSamples)
		}
		if r.OutOfOrder != 1 || r.FirstOutOfOrder.Line != 7 || !strings.Contains(r.FirstOutOfOrder.Reason, "1m20s") {
			t.Fatalf("out of order %d %v", r.OutOfOrder, r.FirstOutOfOrder)
		}
		if !imp.Series.Start.Equal(time.Date(2024, 11, 10, 16, 0, 0, 0, time.UTC)) || imp.Series.Step != time.Minute {
			t.Fatalf("series starts %v step %v", imp.Series.Start, imp.Series.Step)
		}
		wantValues(t, imp.Series, []float64{4.0 / 60, 2.0 / 60, 1.0 / 60})
		got := map[string]int64{}
		for _, rt := range imp.Mix.Routes() {
			got[rt.Method+" "+rt.Path] = rt.Count
		}
		want := map[string]int64{"GET /v1/skus/phone-x": 2, "POST /v1/skus/phone-x/purchase": 1, "GET /v1/orders/{id}": 1,
			"POST /v1/orders/{id}/pay": 1, "GET /v1/orders/{uuid}": 1}
		if len(got) != len(want) || imp.Mix.Invalid != 1 || imp.Mix.Total != 7 {
			t.Fatalf("mix %v invalid %d total %d", got, imp.Mix.Invalid, imp.Mix.Total)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("mix %v, want %v", got, want)
			}
		}
		if rts := imp.Mix.Routes(); rts[0].Path != "/v1/skus/phone-x" || math.Abs(rts[0].Share-2.0/7) > 1e-12 {
			t.Fatalf("first route %+v", rts[0])
		}
	}
}

func TestImportALB(t *testing.T) {
	imp := importFile(t, "testdata/alb.log", ImportOptions{Format: FormatALB, Mix: true})
	r := imp.Report
	if r.Lines != 5 || r.Records != 4 || r.Bad != 1 || r.BadSamples[0].Line != 4 {
		t.Fatalf("report %+v", r)
	}
	if !imp.Series.Start.Equal(time.Date(2018, 7, 2, 22, 23, 0, 0, time.UTC)) {
		t.Fatalf("start %v", imp.Series.Start)
	}
	wantValues(t, imp.Series, []float64{2.0 / 60, 1.0 / 60, 1.0 / 60})
	routes := imp.Mix.Routes()
	if len(routes) != 3 || routes[0].Path != "/" || routes[0].Count != 2 {
		t.Fatalf("routes %+v", routes)
	}
	paths := map[string]bool{}
	for _, rt := range routes {
		paths[rt.Method+" "+rt.Path] = true
	}
	if !paths["GET /v1/skus/{id}/price"] || !paths["POST /v1/skus/phone-x/purchase"] {
		t.Fatalf("routes %+v", routes)
	}
}

func TestImportGzipAndSeveralFiles(t *testing.T) {
	data, err := os.ReadFile("testdata/nginx.log")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/a.log.gz", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	imp, err := ImportFiles(context.Background(), []string{dir + "/a.log.gz", "testdata/nginx.log"}, ImportOptions{Format: FormatNginx})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Report.Files != 2 || imp.Report.Records != 14 || imp.Report.Bytes != 2*int64(len(data)) {
		t.Fatalf("report %+v", imp.Report)
	}
	wantValues(t, imp.Series, []float64{8.0 / 60, 4.0 / 60, 2.0 / 60})
}

func TestImportPrometheus(t *testing.T) {
	imp := importFile(t, "testdata/prometheus.json", ImportOptions{})
	r := imp.Report
	if r.Format != FormatPrometheus || r.Lines != 8 || r.Bad != 1 || r.Records != 4 || imp.Native != time.Minute {
		t.Fatalf("report %+v native %v", r, imp.Native)
	}
	if r.GapCount != 1 || !r.Gaps[0].From.Equal(time.Date(2024, 11, 10, 16, 3, 0, 0, time.UTC)) || !r.Gaps[0].To.Equal(time.Date(2024, 11, 10, 16, 5, 0, 0, time.UTC)) {
		t.Fatalf("gaps %v", r.Gaps)
	}
	nan := math.NaN()
	wantValues(t, imp.Series, []float64{11, 14, 14, nan, nan, 24})
	if r.Filled != 2 {
		t.Fatalf("filled %d", r.Filled)
	}
	f := imp.Series.Filled()
	wantValues(t, f, []float64{11, 14, 14, 17.333333333333332, 20.666666666666668, 24})
}

func TestImportPrometheusErrors(t *testing.T) {
	for name, in := range map[string]string{
		"failed": `{"status":"error","errorType":"bad_data","error":"parse error"}`,
		"vector": `{"status":"success","data":{"resultType":"vector","result":[]}}`,
		"json":   `{"status":`,
		"empty":  `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
	} {
		_, err := ImportReader(context.Background(), strings.NewReader(in), name, ImportOptions{Format: FormatPrometheus})
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
	}
}

func TestImportCSV(t *testing.T) {
	imp := importFile(t, "testdata/history.csv", ImportOptions{})
	r := imp.Report
	if r.Format != FormatCSV || r.Lines != 9 || r.Bad != 2 || r.BadSamples[0].Line != 7 || r.BadSamples[1].Line != 9 {
		t.Fatalf("report %+v", r)
	}
	if r.OutOfOrder != 1 || r.FirstOutOfOrder.Line != 5 || r.Duplicates != 1 || r.FirstDuplicate.Line != 6 {
		t.Fatalf("order %d %v duplicates %d %v", r.OutOfOrder, r.FirstOutOfOrder, r.Duplicates, r.FirstDuplicate)
	}
	if r.GapCount != 1 || r.Gaps[0].Line != 8 || r.Gaps[0].To.Sub(r.Gaps[0].From) != 4*time.Minute {
		t.Fatalf("gaps %v", r.Gaps)
	}
	nan := math.NaN()
	wantValues(t, imp.Series, []float64{60, 120, 90, 240, nan, nan, nan, nan, 300, 360})

	counts := importFile(t, "testdata/history.csv", ImportOptions{Unit: UnitCount, Step: 2 * time.Minute})
	// Counts per minute, summed at the duplicate, then two minutes a step.
	wantValues(t, counts.Series, []float64{(60 + 120) / 120.0, (180 + 240) / 120.0, nan, nan, (300 + 360) / 120.0})
}

func TestNothingParsed(t *testing.T) {
	_, err := ImportReader(context.Background(), strings.NewReader("no\nlog\nhere\n"), "junk", ImportOptions{Format: FormatNginx})
	if !errors.Is(err, ErrNothingParsed) || !strings.Contains(err.Error(), "junk:1:") || !strings.Contains(err.Error(), "junk:3:") {
		t.Fatalf("err %v", err)
	}
	_, err = ImportReader(context.Background(), strings.NewReader("a,b\nc,d\n"), "x.csv", ImportOptions{Format: FormatCSV})
	if !errors.Is(err, ErrNothingParsed) {
		t.Fatalf("csv err %v", err)
	}
}

func TestCurveRoundTrip(t *testing.T) {
	s := Series{Start: time.Date(2024, 11, 11, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: []float64{1, math.NaN(), 3, 4.5}}
	var buf bytes.Buffer
	if err := WriteCurve(&buf, s, "test"); err != nil {
		t.Fatal(err)
	}
	want := "# start 2024-11-11T00:00:00Z step 1m test\nt,rps\n0,1\n60,2\n120,3\n180,4.5\n"
	if buf.String() != want {
		t.Fatalf("curve\n%s\nwant\n%s", buf.String(), want)
	}
	imp, err := ImportReader(context.Background(), &buf, "curve.csv", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !imp.Series.Start.Equal(s.Start) {
		t.Fatalf("start %v", imp.Series.Start)
	}
	wantValues(t, imp.Series, []float64{1, 2, 3, 4.5})
}

func TestAppendRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/":                            "/",
		"/v1/skus/phone-x":             "/v1/skus/phone-x",
		"/v1/orders/88123/pay?x=1#f":   "/v1/orders/{id}/pay",
		"/v1/orders/ord-2024-1111/pay": "/v1/orders/{id}/pay",
		"/v1/items/iphone15":           "/v1/items/iphone15",
		"/s/aB3dE5gH7jK9mN1p":          "/s/{id}",
		"/u/3F2504E0-4F89-11D3-9A0C-0305E82C3301": "/u/{uuid}",
		"https://shop.example:443/v1/skus/9?q":    "/v1/skus/{id}",
		"*":                                       "*",
		"shop.example:443":                        "{authority}",
		"/a/b/c/d/e/f/g/h/i/j/k/l/m/n":            "/a/b/c/d/e/f/g/h/i/j/k/l/…",
		"/x/" + strings.Repeat("a", 65):           "/x/{long}",
		"/v1/skus/":                               "/v1/skus/",
	} {
		if got := string(AppendRoute(nil, []byte(in))); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestMixBound(t *testing.T) {
	m := NewMix(2)
	for _, p := range []string{"/a", "/b", "/c", "/a", "/c"} {
		m.add([]byte("GET"), []byte(p))
	}
	if rs := m.Routes(); len(rs) != 2 || rs[0].Path != "/a" || rs[0].Count != 2 || m.Other != 2 || m.Total != 5 {
		t.Fatalf("routes %+v other %d", rs, m.Other)
	}
}

func TestBucketsSpan(t *testing.T) {
	b := newBuckets(time.Minute, true)
	// 90 requests over 90 s starting 30 s into a minute: 30 in the first, 60 in the second.
	if err := b.span(int64(30*time.Second), int64(120*time.Second), 90); err != nil {
		t.Fatal(err)
	}
	s := b.series()
	wantValues(t, s, []float64{1, 1})
	if b.covered[0] != 30 || b.covered[1] != 60 {
		t.Fatalf("covered %v", b.covered)
	}
	// Events before the first one grow the series at its front.
	e := newBuckets(time.Minute, false)
	e.event(int64(10 * time.Minute))
	e.event(int64(7*time.Minute + time.Second))
	wantValues(t, e.series(), []float64{1.0 / 60, 0, 0, 1.0 / 60})
	if e.series().Start.Unix() != 420 {
		t.Fatalf("start %v", e.series().Start)
	}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
