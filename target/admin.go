package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/target/inventory"
)

// Duration reads "1h30m" or a number of seconds from JSON.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration: want a string like \"1h\" or a number of seconds")
	}
	if math.IsNaN(f) || math.Abs(f) > 1e9 {
		return errors.New("duration out of range")
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// SKUConfig is POST /admin/skus's body: the shape of scenario.SKU in JSON.
type SKUConfig struct {
	SKU          string         `json:"sku"`
	Stock        int64          `json:"stock"`
	Price        float64        `json:"price"` // list price
	Cost         float64        `json:"cost"`
	LimitPerUser int64          `json:"limit_per_user"`
	StartsAt     string         `json:"starts_at"` // RFC 3339, or "+5s" from now
	EndsAt       string         `json:"ends_at"`
	Pricing      *PricingConfig `json:"pricing"`
}

// PricingConfig holds the ladder and first-N rules.
type PricingConfig struct {
	Ladder     *LadderConfig `json:"ladder"`
	FirstNHalf int64         `json:"first_n_half"`
}

// LadderConfig is Ladder in JSON; zero fields take DefaultLadder's.
type LadderConfig struct {
	Start         float64  `json:"start"`
	Step          float64  `json:"step"`
	Every         Duration `json:"every"`
	FloorOverCost float64  `json:"floor_over_cost"`
}

var skuName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// parseWhen reads RFC 3339 or an offset like "+5s" (or "-1m") from now; "" is no bound.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if v[0] == '+' || v[0] == '-' {
		d, err := time.ParseDuration(v)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	}
	return time.Parse(time.RFC3339, v)
}

// build validates c and turns it into the server's rules, reporting every problem at once.
func (c *SKUConfig) build(now time.Time) (*sku, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !skuName.MatchString(c.SKU) {
		bad("sku must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	if c.Stock < 0 || c.Stock > 1e12 {
		bad("stock must be between 0 and 1e12")
	}
	if !(c.Price >= 0) || c.Price > 1e12 {
		bad("price must be between 0 and 1e12")
	}
	if !(c.Cost >= 0) || c.Cost > 1e12 {
		bad("cost must be between 0 and 1e12")
	}
	if c.LimitPerUser < 0 {
		bad("limit_per_user must be >= 0")
	}
	k := &sku{name: c.SKU, list: c.Price, cost: c.Cost, stock: c.Stock, limit: c.LimitPerUser, created: now}
	var err error
	if k.starts, err = parseWhen(c.StartsAt, now); err != nil {
		bad("starts_at: %v", err)
	}
	if k.ends, err = parseWhen(c.EndsAt, now); err != nil {
		bad("ends_at: %v", err)
	}
	if !k.starts.IsZero() && !k.ends.IsZero() && !k.ends.After(k.starts) {
		bad("ends_at must be after starts_at")
	}
	if !k.starts.IsZero() {
		k.startsStr = k.starts.UTC().Format(time.RFC3339Nano)
	}
	if !k.ends.IsZero() {
		k.endsStr = k.ends.UTC().Format(time.RFC3339Nano)
	}
	if p := c.Pricing; p != nil {
		if p.FirstNHalf < 0 {
			bad("pricing.first_n_half must be >= 0")
		}
		k.firstN = p.FirstNHalf
		if l := p.Ladder; l != nil {
			lad := Ladder{Start: l.Start, Step: l.Step, Every: time.Duration(l.Every), FloorOverCost: l.FloorOverCost}.withDefaults()
			if lad.Start < 0 || lad.Step < 0 || lad.FloorOverCost < 0 || math.IsNaN(lad.Start+lad.Step+lad.FloorOverCost) {
				bad("pricing.ladder: start, step and floor_over_cost must be >= 0")
			}
			if l.Every < 0 {
				bad("pricing.ladder.every must be > 0")
			}
			k.ladder = &lad
		}
	}
	return k, errors.Join(errs...)
}

func (s *Server) adminSKUs(ctx *fasthttp.RequestCtx) {
	switch {
	case ctx.IsGet():
		if err := s.syncCatalog(s.ctx); err != nil {
			invErr(ctx, err)
			return
		}
		b := append([]byte(nil), `{"skus":[`...)
		for i, k := range s.sortedSKUs() {
			c, err := s.inv.Counts(s.ctx, k.name)
			if err != nil {
				invErr(ctx, err)
				return
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = s.appendView(b, k, c, time.Now())
		}
		b = append(b, "]}"...)
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	case ctx.IsPost():
		var c SKUConfig
		dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "malformed SKU: "+err.Error())
			return
		}
		k, err := s.configure(s.ctx, c)
		var bad *badSKUError
		if errors.As(err, &bad) {
			writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, strings.ReplaceAll(bad.err.Error(), "\n", "; "))
			return
		}
		if err != nil {
			invErr(ctx, err)
			return
		}
		cnt, err := s.inv.Counts(s.ctx, k.name)
		if err != nil {
			invErr(ctx, err)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusCreated)
		ctx.SetContentType("application/json")
		ctx.SetBody(s.appendView(nil, k, cnt, time.Now()))
	default:
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use GET or POST")
	}
}

func (s *Server) sortedSKUs() []*sku {
	l := s.skuList()
	sort.Slice(l, func(i, j int) bool { return l[i].name < l[j].name })
	return l
}

func appendAudit(b []byte, name string, a inventory.Audit, fast bool) []byte {
	b = append(b, '{')
	b = fStr(b, "sku", name)
	b = fInt(b, "stock", a.Stock)
	b = fInt(b, "available", a.Available)
	b = fInt(b, "reserved", a.Reserved)
	b = fInt(b, "paid", a.Paid)
	b = fInt(b, "released", a.Released)
	b = fInt(b, "sold", a.Sold)
	b = fInt(b, "oversold", a.Oversold)
	b = fInt(b, "orders", a.Orders)
	if !fast {
		b = fInt(b, "duplicates", a.Duplicates)
		b = fInt(b, "undersold", a.Undersold)
		b = fInt(b, "backlog_seen", a.BacklogSeen)
		b = fInt(b, "backlog", a.Backlog)
	}
	return append(b, '}')
}

func (s *Server) adminAudit(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use GET")
		return
	}
	// ?fast=1 skips the duplicates check, which reads every order on the Redis strategies:
	// for gauges polled during load. The full audit is the default.
	fast := ctx.QueryArgs().GetBool("fast")
	audit := func(name string) (inventory.Audit, error) {
		if fast {
			c, err := s.inv.Counts(s.ctx, name)
			a := inventory.Audit{Counts: c, Sold: c.Reserved + c.Paid}
			a.Oversold = max(a.Sold-c.Stock, 0)
			return a, err
		}
		return s.inv.Audit(s.ctx, name)
	}
	ctx.SetContentType("application/json")
	if name := ctx.QueryArgs().Peek("sku"); len(name) > 0 {
		k, err := s.lookup(name)
		if err != nil {
			invErr(ctx, err)
			return
		}
		if k == nil {
			writeErr(ctx, fasthttp.StatusNotFound, codes.NotFound, "unknown sku")
			return
		}
		a, err := audit(k.name)
		if err != nil {
			invErr(ctx, err)
			return
		}
		ctx.SetBody(appendAudit(nil, k.name, a, fast))
		return
	}
	if err := s.syncCatalog(s.ctx); err != nil {
		invErr(ctx, err)
		return
	}
	b := append([]byte(nil), `{"skus":[`...)
	for i, k := range s.sortedSKUs() {
		a, err := audit(k.name)
		if err != nil {
			invErr(ctx, err)
			return
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAudit(b, k.name, a, fast)
	}
	ctx.SetBody(append(b, "]}"...))
}

func (s *Server) adminOrders(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use GET")
		return
	}
	if err := s.syncCatalog(s.ctx); err != nil {
		invErr(ctx, err)
		return
	}
	list := s.sortedSKUs()
	if name := ctx.QueryArgs().Peek("sku"); len(name) > 0 {
		k, err := s.lookup(name)
		if err != nil {
			invErr(ctx, err)
			return
		}
		if k == nil {
			writeErr(ctx, fasthttp.StatusNotFound, codes.NotFound, "unknown sku")
			return
		}
		list = []*sku{k}
	}
	var b []byte
	for _, k := range list {
		err := s.inv.Orders(s.ctx, k.name, func(o *inventory.Order) error {
			b = append(b, '{')
			b = appendOrderFields(b, o)
			b = append(b, '}', '\n')
			return nil
		})
		if err != nil {
			invErr(ctx, err)
			return
		}
	}
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBody(b)
}

// WriteOrders writes every order of every SKU as NDJSON, the lines of GET /admin/orders
// (serve --orders-out uses it after Shutdown, so the memory strategies' orders outlive the process).
func (s *Server) WriteOrders(ctx context.Context, w io.Writer) error {
	if err := s.syncCatalog(ctx); err != nil {
		return err
	}
	var b []byte
	for _, k := range s.sortedSKUs() {
		err := s.inv.Orders(ctx, k.name, func(o *inventory.Order) error {
			b = append(b[:0], '{')
			b = appendOrderFields(b, o)
			b = append(b, '}', '\n')
			_, err := w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// FaultsConfig is POST /admin/faults's body. Each POST replaces the faults; {} clears them.
type FaultsConfig struct {
	Latency   Duration `json:"latency"`    // added to every API request
	Stall     Duration `json:"stall"`      // one stall of the whole API, starting now
	ErrorRate float64  `json:"error_rate"` // share of API requests answered 500 FAULT
	For       Duration `json:"for"`        // how long the faults last; 0: until the next POST
	// Consumers "kill" stops this replica's stream consumers as a crash would (redis-mq; 501
	// NOT_SUPPORTED elsewhere); new ones start when the fault ends (for) or at the next POST.
	Consumers string `json:"consumers"`
}

func (s *Server) adminFaults(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use POST")
		return
	}
	var c FaultsConfig
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "malformed faults: "+err.Error())
		return
	}
	if c.Latency < 0 || c.Stall < 0 || c.For < 0 || !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "latency, stall and for must be >= 0; error_rate in [0,1]")
		return
	}
	cs, hasConsumers := s.inv.(inventory.Consumers)
	switch {
	case c.Consumers != "" && c.Consumers != "kill":
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, `consumers: want "kill"`)
		return
	case c.Consumers != "" && !hasConsumers:
		writeErr(ctx, fasthttp.StatusNotImplemented, codes.NotSupported, "strategy "+s.inv.Name()+" has no stream consumers")
		return
	}
	gen := s.consumerFault.Add(1)
	if hasConsumers {
		if c.Consumers == "kill" {
			cs.KillConsumers()
			if c.For > 0 {
				time.AfterFunc(time.Duration(c.For), func() {
					if s.consumerFault.Load() == gen && s.ctx.Err() == nil {
						cs.StartConsumers()
					}
				})
			}
		} else {
			cs.StartConsumers()
		}
	}
	now := time.Now()
	f := &faultState{latency: time.Duration(c.Latency), errorRate: c.ErrorRate}
	if c.Stall > 0 {
		f.stallUntil = now.Add(time.Duration(c.Stall))
	}
	if c.For > 0 {
		f.until = now.Add(time.Duration(c.For))
	}
	s.faults.Store(f)
	b := append([]byte(nil), `{"code":"`+codes.OK+`"`...)
	b = fStr(b, "latency", time.Duration(c.Latency).String())
	b = fStr(b, "stall", time.Duration(c.Stall).String())
	b = fFloat(b, "error_rate", c.ErrorRate)
	if c.Consumers != "" {
		b = fStr(b, "consumers", c.Consumers)
	}
	if !f.until.IsZero() {
		b = fTime(b, "until", f.until)
	}
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// badSKUError is an invalid SKUConfig (400), as opposed to a store failure.
type badSKUError struct{ err error }

func (e *badSKUError) Error() string { return "invalid sku: " + e.err.Error() }
func (e *badSKUError) Unwrap() error { return e.err }

func (s *Server) configure(ctx context.Context, c SKUConfig) (*sku, error) {
	k, err := c.build(time.Now())
	if err != nil {
		return nil, &badSKUError{err}
	}
	if k.def, err = encodeDef(c, k); err != nil {
		return nil, err
	}
	if err := s.inv.Configure(ctx, inventory.SKU{SKU: k.name, Stock: k.stock, LimitPerUser: k.limit,
		StartsAt: k.starts, EndsAt: k.ends, FirstNHalf: k.firstN, Def: k.def}); err != nil {
		return nil, err
	}
	k = s.putSKU(k)
	s.push.changed(k)
	return k, nil
}

// ConfigureSKU creates or resets a SKU in-process, as POST /admin/skus does.
func (s *Server) ConfigureSKU(ctx context.Context, c SKUConfig) error {
	_, err := s.configure(ctx, c)
	return err
}

// Audit is GET /admin/audit?sku= in-process.
func (s *Server) Audit(ctx context.Context, name string) (inventory.Audit, error) {
	k, err := s.lookup([]byte(name))
	if err != nil {
		return inventory.Audit{}, err
	}
	if k == nil {
		return inventory.Audit{}, inventory.ErrUnknownSKU
	}
	return s.inv.Audit(ctx, name)
}

// SKUs lists the configured SKU names, sorted (every replica's, when the store answers).
func (s *Server) SKUs() []string {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	_ = s.syncCatalog(ctx) // else the SKUs known so far
	var out []string
	for _, k := range s.sortedSKUs() {
		out = append(out, k.name)
	}
	return out
}
