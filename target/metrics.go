package target

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// route identifies a route template, the `route` label of the metrics.
type route uint8

const (
	rNotFound route = iota
	rHealthz
	rMetrics
	rView
	rPurchase
	rEvents
	rOrder
	rPay
	rCancel
	rGroupCreate
	rGroupJoin
	rAdminSKUs
	rAdminAudit
	rAdminOrders
	rAdminFaults
	rWS
	nRoutes
)

var routeNames = [nRoutes]string{"not_found", "healthz", "metrics", "view", "purchase", "events",
	"order", "pay", "cancel", "group_create", "group_join", "admin_skus", "admin_audit",
	"admin_orders", "admin_faults", "ws"}

// class of a route for overload protection.
const (
	classExempt  = iota // health, metrics, admin: never shed
	classCore           // purchase, pay, cancel, orders, groups
	classNonCore        // views and events: shed first
)

func (r route) class() int {
	switch r {
	case rView, rEvents, rWS:
		return classNonCore
	case rPurchase, rOrder, rPay, rCancel, rGroupCreate, rGroupJoin:
		return classCore
	}
	return classExempt
}

// metrics is the server's Prometheus registry (one per server: no global state).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	byCode   [nRoutes][600]atomic.Pointer[prometheus.Counter]
	latency  [nRoutes]prometheus.Observer
	shed     [2]prometheus.Counter // 0: in-flight, 1: rate
	reaps    prometheus.Counter
	handler  fasthttp.RequestHandler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flashload_target_requests_total", Help: "Requests answered, by route and HTTP status.",
	}, []string{"route", "code"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "flashload_target_request_duration_seconds",
		Help:    "Time from the request read to the answer, by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	for r := route(0); r < nRoutes; r++ {
		m.latency[r] = lat.WithLabelValues(routeNames[r])
	}
	shed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flashload_target_shed_total", Help: "Requests refused by overload protection, by reason.",
	}, []string{"reason"})
	m.shed[0] = shed.WithLabelValues("inflight")
	m.shed[1] = shed.WithLabelValues("rate")
	m.reaps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flashload_target_expiry_sweeps_total", Help: "Reservation expiry sweeps completed.",
	})
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "flashload_target_inflight", Help: "Requests being handled now.",
	}, func() float64 { return float64(s.inflight.Load()) })
	m.reg.MustRegister(m.requests, lat, shed, m.reaps, inflight, &stockCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return m
}

func (m *metrics) observe(r route, status int, d time.Duration) {
	m.latency[r].Observe(d.Seconds())
	if status < 0 || status >= 600 {
		status = 0
	}
	p := &m.byCode[r][status]
	c := p.Load()
	if c == nil {
		cc := m.requests.WithLabelValues(routeNames[r], strconv.Itoa(status))
		p.Store(&cc)
		c = &cc
	}
	(*c).Inc()
}

func (m *metrics) reaped() { m.reaps.Inc() }

// stockCollector reads the strategy's counts of every SKU at scrape time.
type stockCollector struct{ s *Server }

var (
	descStock     = prometheus.NewDesc("flashload_target_stock", "Units put on sale.", []string{"sku"}, nil)
	descAvailable = prometheus.NewDesc("flashload_target_available", "Units left.", []string{"sku"}, nil)
	descReserved  = prometheus.NewDesc("flashload_target_reserved", "Units in reserved (unpaid) orders.", []string{"sku"}, nil)
	descSold      = prometheus.NewDesc("flashload_target_sold", "Units sold: reserved + paid.", []string{"sku"}, nil)
	descPaid      = prometheus.NewDesc("flashload_target_paid", "Units paid.", []string{"sku"}, nil)
	descReleased  = prometheus.NewDesc("flashload_target_released", "Units released (cancel or expiry).", []string{"sku"}, nil)
)

func (c *stockCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStock, descAvailable, descReserved, descSold, descPaid, descReleased} {
		ch <- d
	}
}

func (c *stockCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.s.ctx, 2*time.Second)
	defer cancel()
	for _, k := range c.s.skuList() {
		n, err := c.s.inv.Counts(ctx, k.name)
		if err != nil {
			continue
		}
		for _, v := range []struct {
			d *prometheus.Desc
			v int64
		}{{descStock, n.Stock}, {descAvailable, n.Available}, {descReserved, n.Reserved},
			{descSold, n.Reserved + n.Paid}, {descPaid, n.Paid}, {descReleased, n.Released}} {
			ch <- prometheus.MustNewConstMetric(v.d, prometheus.GaugeValue, float64(v.v), k.name)
		}
	}
}
