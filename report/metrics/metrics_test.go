package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
)

// Scrape fetches url and parses it with Prometheus' own text parser.
func Scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, b)
	}
	return fams
}

// Value finds the metric of family name whose labels include want, and returns its counter,
// gauge or histogram count.
func Value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestServerExposesTheRecorder: what the Recorder holds is what a scrape reads: answers by step
// and code, a latency histogram per step whose buckets are cumulative, dropped, in flight,
// stock per SKU; a second run replaces the first.
func TestServerExposesTheRecorder(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := "http://" + s.Addr().String() + "/metrics"
	if fams := Scrape(t, url); len(fams) != 0 {
		t.Errorf("before any run: %v", fams)
	}
	rec := result.NewRecorder(result.RecorderOptions{Window: time.Second})
	rec.SetInFlight(func() int64 { return 7 })
	sh := rec.Shard(0)
	for i := range 100 {
		r := result.Result{Intended: time.Duration(i) * time.Millisecond, Step: "purchase", Journey: "rusher", Status: 201, Code: "RESERVED"}
		if i%4 == 0 {
			r.Status, r.Code = 410, "SOLD_OUT"
		}
		r.Sent, r.Done = r.Intended, r.Intended+time.Duration(1+i)*time.Millisecond // 1..100 ms
		sh.Record(&r)
	}
	sh.Record(&result.Result{Step: "view", Err: outcome.ErrTimeout, Done: 5 * time.Second})
	sh.DropN(0, 3)
	rec.SetGauges(time.Millisecond, result.Gauges{SKUs: []result.SKUStats{{SKU: "phone", Stock: 10, Left: 4}}})
	s.Observe(context.Background(), rec, func() result.Snapshot { return rec.Snapshot(2 * time.Second) })

	fams := Scrape(t, url)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"flashload_requests_total", map[string]string{"step": "purchase", "code": "RESERVED"}, 75},
		{"flashload_requests_total", map[string]string{"step": "purchase", "code": "SOLD_OUT"}, 25},
		{"flashload_requests_total", map[string]string{"step": "view", "code": "timeout"}, 1},
		{"flashload_request_duration_seconds", map[string]string{"step": "purchase"}, 100},
		{"flashload_dropped_total", nil, 3},
		{"flashload_in_flight", nil, 7},
		{"flashload_stock_left", map[string]string{"sku": "phone"}, 4},
	} {
		if got, ok := Value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	h := fams["flashload_request_duration_seconds"].GetMetric()[0].GetHistogram()
	for _, b := range h.GetBucket() {
		want := map[float64]uint64{0.01: 10, 0.025: 25, 0.05: 50, 0.1: 100}[b.GetUpperBound()]
		if want != 0 && (b.GetCumulativeCount() < want-1 || b.GetCumulativeCount() > want+1) { // HDR's 3 digits
			t.Errorf("bucket le=%v: %d, want about %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}

	next := result.NewRecorder(result.RecorderOptions{Window: time.Second})
	s.Observe(context.Background(), next, func() result.Snapshot { return next.Snapshot(0) })
	if _, ok := Value(Scrape(t, url), "flashload_requests_total", nil); ok {
		t.Error("the second run still shows the first run's answers")
	}
}

// TestServerExposesSnapshots: a view without a Recorder (flashload watch's merged snapshots)
// serves answers by code under step "all", dropped arrivals and stock per SKU as a scrape reads
// them.
func TestServerExposesSnapshots(t *testing.T) {
	ms, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	snap := result.Snapshot{ByCode: map[string]int64{"RESERVED": 7, "SOLD_OUT": 2}, Progress: 0.5,
		SKUs: []result.SKUStats{{SKU: "phone", Left: 3}}}
	snap.Total.Dropped = 4
	ms.ObserveSnapshots(func() result.Snapshot { return snap })
	fams := Scrape(t, "http://"+ms.Addr().String()+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"flashload_requests_total", map[string]string{"step": "all", "code": "RESERVED"}, 7},
		{"flashload_requests_total", map[string]string{"step": "all", "code": "SOLD_OUT"}, 2},
		{"flashload_dropped_total", nil, 4},
		{"flashload_stock_left", map[string]string{"sku": "phone"}, 3},
		{"flashload_progress_ratio", nil, 0.5},
	} {
		if got, ok := Value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if fams["flashload_request_duration_seconds"] != nil {
		t.Error("a view without a Recorder has no latency histogram by step")
	}
}
