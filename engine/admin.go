package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

// adminClient talks to a flashload target's /admin routes (the target's admin API). It
// has its own connections, so the once-a-second gauge reads never wait behind the load.
type adminClient struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	c     *fasthttp.Client
}

func newAdminClient(base, token string) *adminClient {
	return &adminClient{base: strings.TrimRight(base, "/"), token: token, c: &fasthttp.Client{
		Name: "flashload-admin", ReadTimeout: 30 * time.Second, WriteTimeout: 10 * time.Second,
		MaxConnsPerHost: 4, MaxResponseBodySize: 1 << 30,
	}}
}

// call sends one admin request and returns the status and the body (a copy).
func (a *adminClient) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(a.base + path)
	req.Header.SetMethod(method)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(body)
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := a.c.DoDeadline(req, resp, deadline); err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// skuSetup is the body of POST /admin/skus.
type skuSetup struct {
	SKU          string        `json:"sku"`
	Stock        int64         `json:"stock"`
	Price        float64       `json:"price"`
	Cost         float64       `json:"cost,omitempty"`
	LimitPerUser int           `json:"limit_per_user,omitempty"`
	StartsAt     string        `json:"starts_at,omitempty"`
	EndsAt       string        `json:"ends_at,omitempty"`
	Pricing      *pricingSetup `json:"pricing,omitempty"`
}

type pricingSetup struct {
	Ladder     *ladderSetup `json:"ladder,omitempty"`
	FirstNHalf int64        `json:"first_n_half,omitempty"`
}

type ladderSetup struct {
	Start         float64 `json:"start,omitempty"`
	Step          float64 `json:"step,omitempty"`
	Every         string  `json:"every,omitempty"` // a Go duration: the target reads "1h0m0s"
	FloorOverCost float64 `json:"floor_over_cost,omitempty"`
}

func toPricingSetup(p *scenario.Pricing) *pricingSetup {
	if p == nil {
		return nil
	}
	ps := &pricingSetup{FirstNHalf: p.FirstNHalf}
	if l := p.Ladder; l != nil {
		ps.Ladder = &ladderSetup{Start: l.Start, Step: l.Step, FloorOverCost: l.FloorOverCost}
		if l.Every > 0 {
			ps.Ladder.Every = l.Every.D().String()
		}
	}
	return ps
}

// SetupSKUs creates (or resets) the scenario's SKUs on a flashload target through
// POST /admin/skus. `flashload run --setup` and `flashload rehearse` call it before load.
func SetupSKUs(ctx context.Context, adminURL, token string, skus []scenario.SKU) error {
	if token == "" {
		return fmt.Errorf("setup: the target's admin token is needed to create SKUs")
	}
	a := newAdminClient(adminURL, token)
	for _, k := range skus {
		body, err := json.Marshal(skuSetup{SKU: k.SKU, Stock: k.Stock, Price: k.Price, Cost: k.Cost,
			LimitPerUser: k.LimitPerUser, StartsAt: k.StartsAt, EndsAt: k.EndsAt, Pricing: toPricingSetup(k.Pricing)})
		if err != nil {
			return err
		}
		status, resp, err := a.call(ctx, "POST", "/admin/skus", body)
		if err != nil {
			return fmt.Errorf("setup sku %q: %w", k.SKU, err)
		}
		if status/100 != 2 {
			return fmt.Errorf("setup sku %q: %d %s", k.SKU, status, bytes.TrimSpace(resp))
		}
	}
	return nil
}

// readAudit reads GET /admin/audit: {"skus":[...]} or one object.
func (a *adminClient) readAudit(ctx context.Context) (map[string]audit.SKUAudit, error) {
	status, body, err := a.call(ctx, "GET", "/admin/audit", nil)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("GET /admin/audit: %d %s", status, bytes.TrimSpace(body))
	}
	var all struct {
		SKUs []audit.SKUAudit `json:"skus"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fmt.Errorf("GET /admin/audit: %w", err)
	}
	if all.SKUs == nil {
		var one audit.SKUAudit
		if err := json.Unmarshal(body, &one); err == nil && one.SKU != "" {
			all.SKUs = []audit.SKUAudit{one}
		}
	}
	m := make(map[string]audit.SKUAudit, len(all.SKUs))
	for _, s := range all.SKUs {
		m[s.SKU] = s
	}
	return m, nil
}

// readOrders reads GET /admin/orders?sku=ID (NDJSON) for each SKU.
// A SKU the target answers 404 for has no orders: its store forgot it (a store restarted
// without persistence); missing names those SKUs.
func (a *adminClient) readOrders(ctx context.Context, skus []scenario.SKU) (out []audit.Order, missing []string, err error) {
	for _, k := range skus {
		status, body, err := a.call(ctx, "GET", "/admin/orders?sku="+k.SKU, nil)
		if err != nil {
			return nil, nil, err
		}
		if status == 404 {
			missing = append(missing, k.SKU)
			continue
		}
		if status != 200 {
			return nil, nil, fmt.Errorf("GET /admin/orders?sku=%s: %d %s", k.SKU, status, bytes.TrimSpace(body))
		}
		os, err := audit.ReadOrders(bytes.NewReader(body))
		if err != nil {
			return nil, nil, fmt.Errorf("GET /admin/orders?sku=%s: %w", k.SKU, err)
		}
		out = append(out, os...)
	}
	return out, missing, nil
}

// pollGauges feeds the Recorder's gauges from /admin/audit once a second until ctx ends.
func (r *run) pollGauges(ctx context.Context) {
	a := newAdminClient(r.adminURL(), r.opts.AdminToken)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failures := 0
	for {
		m, err := a.readAudit(ctx)
		if err != nil {
			failures++
			if failures == 3 {
				r.warn.say("gauges", "target audit unreachable: "+err.Error())
			}
		} else {
			failures = 0
			r.rec.SetGauges(r.now(), r.skuGauges(m))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
