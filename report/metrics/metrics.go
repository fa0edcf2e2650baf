// Package metrics serves a running generator's figures as Prometheus metrics (flashload run
// --metrics-addr, and rehearse): answers by step and code, latency histograms by step (from the
// intended send time), dropped arrivals, requests in flight, target against achieved rate and
// stock left per SKU. It reads the run's result.Recorder at scrape time, so recording stays as
// cheap as without it; it imports result and client_golang, nothing of the engines.
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flashload/flashload/result"
)

// Buckets are the latency histogram's upper bounds in seconds.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Collector is a prometheus.Collector over a run's Recorder and its snapshots.
type Collector struct {
	rec  *result.Recorder
	snap func() result.Snapshot

	requests, latency, dropped, inFlight, rate, stock, progress *prometheus.Desc
}

// New returns a Collector of rec; snap is the run's snapshot source (the dashboard's).
func New(rec *result.Recorder, snap func() result.Snapshot) *Collector {
	return &Collector{rec: rec, snap: snap,
		requests: prometheus.NewDesc("flashload_requests_total", "Answers by step and code (the JSON code, else the error class, else HTTP_<status>).", []string{"step", "code"}, nil),
		latency:  prometheus.NewDesc("flashload_request_duration_seconds", "Latency from the intended send time, by step.", []string{"step"}, nil),
		dropped:  prometheus.NewDesc("flashload_dropped_total", "Arrivals the generator could not start on time.", nil, nil),
		inFlight: prometheus.NewDesc("flashload_in_flight", "Requests sent and not yet answered.", nil, nil),
		rate:     prometheus.NewDesc("flashload_rate_per_second", "Target and achieved rate of the last complete window.", []string{"kind"}, nil),
		stock:    prometheus.NewDesc("flashload_stock_left", "Units left per SKU, as the target last reported.", []string{"sku"}, nil),
		progress: prometheus.NewDesc("flashload_progress_ratio", "Share of the scenario played.", nil, nil),
	}
}

// Describe sends the metrics' descriptions.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.latency, c.dropped, c.inFlight, c.rate, c.stock, c.progress} {
		ch <- d
	}
}

// Collect reads the Recorder and the snapshot now. Without a Recorder (flashload watch, whose
// view is merged snapshots) answers are by code under step "all" and there is no latency
// histogram.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.rec == nil {
		for code, n := range c.snap().ByCode {
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), "all", code)
		}
	} else {
		for _, st := range c.rec.Steps() {
			for code, n := range st.Codes {
				ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), st.Step, code)
			}
			counts, sum := histogram(st)
			ch <- prometheus.MustNewConstHistogram(c.latency, uint64(st.Latency.TotalCount()), sum, counts, st.Step)
		}
	}
	s := c.snap()
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Total.Dropped))
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(s.InFlight))
	ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, s.Last.TargetRPS, "target")
	ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, s.Last.AchievedRPS, "achieved")
	ch <- prometheus.MustNewConstMetric(c.progress, prometheus.GaugeValue, s.Progress)
	for _, k := range s.SKUs {
		ch <- prometheus.MustNewConstMetric(c.stock, prometheus.GaugeValue, float64(k.Left), k.SKU)
	}
}

// histogram turns a step's HDR histogram (µs) into cumulative bucket counts and a sum (s).
func histogram(st result.StepView) (map[float64]uint64, float64) {
	counts := make(map[float64]uint64, len(Buckets))
	var sum float64
	per := make([]uint64, len(Buckets))
	st.Latency.ForEachBucket(func(value, count int64) bool {
		sec := float64(value) / 1e6
		sum += sec * float64(count)
		for i, b := range Buckets {
			if sec <= b {
				per[i] += uint64(count)
				break
			}
		}
		return true
	})
	var cum uint64
	for i, b := range Buckets {
		cum += per[i]
		counts[b] = cum
	}
	return counts, sum
}

// Server serves /metrics of the run it is given, one run after another (a rehearsal of several
// strategies plays several): between runs it keeps answering with the last run's figures.
type Server struct {
	ln  net.Listener
	srv *http.Server
	cur atomic.Pointer[Collector]
}

// Listen listens on addr now (so a bad address fails before any load) and serves /metrics.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	s := &Server{ln: ln}
	reg := prometheus.NewRegistry()
	reg.MustRegister(current{s})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Observe is engine.Options.Observe: it serves rec's metrics from now on (the call returns
// at once; the figures stay until the next run's).
func (s *Server) Observe(_ context.Context, rec *result.Recorder, snap func() result.Snapshot) {
	s.cur.Store(New(rec, snap))
}

// ObserveSnapshots serves the figures of a view that has snapshots but no Recorder of its own:
// flashload watch's merge of many generators.
func (s *Server) ObserveSnapshots(snap func() result.Snapshot) {
	s.cur.Store(New(nil, snap))
}

// Close stops serving.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// current is the registered collector: whichever run the server serves now (none before the
// first: an empty scrape). Its metrics are unchecked (Describe sends nothing).
type current struct{ s *Server }

func (current) Describe(chan<- *prometheus.Desc) {}

func (c current) Collect(ch chan<- prometheus.Metric) {
	if cur := c.s.cur.Load(); cur != nil {
		cur.Collect(ch)
	}
}
