package target

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/target/inventory"
)

// handle is the one fasthttp handler: route, admission (shedding, rate limit, faults),
// dispatch, metrics.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	ctx.Response.Header.SetBytesV(ReplicaHeader, s.replicaID)
	r, a := parseRoute(ctx.Path())
	if c := r.class(); c != classExempt {
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		if !s.admit(ctx, c, n, start) || !s.injectFaults(ctx, start) {
			s.answered(ctx, r, start)
			return
		}
	}
	var held func() // a work slot (--workers), freed after the request's work time
	if s.work != nil && r.class() != classExempt && r != rEvents && r != rWS {
		if held = s.work.hold(s.done); held == nil {
			ctx.Response.Header.Set("Retry-After", codes.RetryAfter)
			writeErr(ctx, fasthttp.StatusServiceUnavailable, codes.Shed, "shutting down")
			s.answered(ctx, r, start)
			return
		}
	}
	switch r {
	case rHealthz:
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
	case rMetrics:
		s.metrics.handler(ctx)
	case rView:
		s.view(ctx, a)
	case rPurchase:
		s.purchase(ctx, a)
	case rEvents:
		s.events(ctx, a)
	case rWS:
		s.feedWS(ctx, a)
	case rOrder, rPay, rCancel:
		s.order(ctx, r, a)
	case rGroupCreate:
		s.groupCreate(ctx)
	case rGroupJoin:
		s.groupJoin(ctx, a)
	case rAdminSKUs, rAdminAudit, rAdminOrders, rAdminFaults:
		if !s.authorized(ctx) {
			writeErr(ctx, fasthttp.StatusUnauthorized, codes.Unauthorized, "admin routes need Authorization: Bearer TOKEN")
			break
		}
		switch r {
		case rAdminSKUs:
			s.adminSKUs(ctx)
		case rAdminAudit:
			s.adminAudit(ctx)
		case rAdminOrders:
			s.adminOrders(ctx)
		case rAdminFaults:
			s.adminFaults(ctx)
		}
	default:
		writeErr(ctx, fasthttp.StatusNotFound, codes.NotFound, "no such route")
	}
	if held != nil {
		held()
	}
	s.answered(ctx, r, start)
}

// answered ends every answer of handle: the target's own time for it, from start to now (the
// work slot already freed), goes into the Server-Timing header (W3C Server-Timing, metric app,
// dur in milliseconds with 3 decimals) and the route's metrics. A client subtracts it from the
// time it measured to learn the round trip outside the target (network, kernels, HTTP stacks).
func (s *Server) answered(ctx *fasthttp.RequestCtx, r route, start time.Time) {
	d := time.Since(start)
	var buf [32]byte // "app;dur=" and up to 20 digits: stays on the stack, no allocation
	v := strconv.AppendFloat(append(buf[:0], "app;dur="...), float64(d)/float64(time.Millisecond), 'f', 3, 64)
	ctx.Response.Header.SetBytesV("Server-Timing", v)
	s.metrics.observe(r, ctx.Response.StatusCode(), d)
}

// parseRoute maps a path to its route and its one parameter (a SKU, an order or a group id).
func parseRoute(p []byte) (route, []byte) {
	switch string(p) {
	case "/healthz":
		return rHealthz, nil
	case "/metrics":
		return rMetrics, nil
	case "/v1/groups":
		return rGroupCreate, nil
	case "/admin/skus":
		return rAdminSKUs, nil
	case "/admin/audit":
		return rAdminAudit, nil
	case "/admin/orders":
		return rAdminOrders, nil
	case "/admin/faults":
		return rAdminFaults, nil
	}
	if rest, ok := bytes.CutPrefix(p, []byte("/v1/skus/")); ok {
		param, tail := splitParam(rest)
		switch {
		case len(param) == 0:
		case len(tail) == 0:
			return rView, param
		case string(tail) == "/purchase":
			return rPurchase, param
		case string(tail) == "/events":
			return rEvents, param
		case string(tail) == "/ws":
			return rWS, param
		}
	} else if rest, ok := bytes.CutPrefix(p, []byte("/v1/orders/")); ok {
		param, tail := splitParam(rest)
		switch {
		case len(param) == 0:
		case len(tail) == 0:
			return rOrder, param
		case string(tail) == "/pay":
			return rPay, param
		case string(tail) == "/cancel":
			return rCancel, param
		}
	} else if rest, ok := bytes.CutPrefix(p, []byte("/v1/groups/")); ok {
		if param, tail := splitParam(rest); len(param) > 0 && string(tail) == "/join" {
			return rGroupJoin, param
		}
	}
	return rNotFound, nil
}

func splitParam(rest []byte) (param, tail []byte) {
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i:]
	}
	return rest, nil
}

// admit applies --max-inflight and --max-rps; non-core routes are refused first.
func (s *Server) admit(ctx *fasthttp.RequestCtx, class int, inflight int64, now time.Time) bool {
	if m := int64(s.opts.MaxInflight); m > 0 {
		limit := m
		if class == classNonCore {
			limit = max(m/2, 1)
		}
		if inflight > limit {
			s.metrics.shed[0].Inc()
			ctx.Response.Header.Set("Retry-After", codes.RetryAfter)
			writeErr(ctx, fasthttp.StatusServiceUnavailable, codes.Shed, "overloaded: too many requests in flight")
			return false
		}
	}
	if s.limiter != nil && !s.limiter.allow(now, class == classCore) {
		s.metrics.shed[1].Inc()
		ctx.Response.Header.Set("Retry-After", codes.RetryAfter)
		writeErr(ctx, fasthttp.StatusTooManyRequests, codes.RateLimited, "rate limit exceeded")
		return false
	}
	return true
}

// injectFaults applies POST /admin/faults: a stall, added latency, a share of 500 answers.
func (s *Server) injectFaults(ctx *fasthttp.RequestCtx, now time.Time) bool {
	f := s.faults.Load()
	if f == nil || !f.active(now) {
		return true
	}
	wait := f.latency
	if now.Before(f.stallUntil) {
		wait += f.stallUntil.Sub(now)
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
		}
	}
	if f.fail() {
		writeErr(ctx, fasthttp.StatusInternalServerError, codes.Fault, "injected fault")
		return false
	}
	return true
}

func (s *Server) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	ctx.Response.Header.SetBytesV(ReplicaHeader, s.replicaID)
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		drainOversized(ctx)
		writeErr(ctx, fasthttp.StatusRequestEntityTooLarge, codes.BodyTooLarge, "request body over 64 KiB")
		return
	}
	if errors.Is(err, fasthttp.ErrSmallReadBuffer) {
		writeErr(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, codes.BadRequest, "request headers too large")
		return
	}
	writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "malformed HTTP request")
}

// An oversized body is refused from its Content-Length, before it is read, and the connection
// is closed after the 413. Closing a socket with unread bytes sends a reset, which can reach
// the client before the 413 and discard it (the client is still sending). So what is left of
// a body up to drainMax is read and dropped first, for at most drainWait: a lingering close.
const (
	drainMax  = 1 << 20
	drainWait = 50 * time.Millisecond
)

func drainOversized(ctx *fasthttp.RequestCtx) {
	n := ctx.Request.Header.ContentLength()
	c := ctx.Conn()
	if n <= 0 || n > drainMax || c == nil || c.SetReadDeadline(time.Now().Add(drainWait)) != nil {
		return // chunked, or too large to wait for: closed as it is
	}
	_, _ = io.CopyN(io.Discard, c, int64(n)) // fasthttp's reader may hold some: the deadline ends it
}

func writeErr(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	var arr [160]byte
	b := append(arr[:0], `{"code":"`...)
	b = append(b, code...)
	b = append(b, `","error":`...)
	b = appendStr(b, msg)
	b = append(b, '}')
	ctx.SetBody(b)
}

// invErr answers an inventory error with the code the rules give it.
func invErr(ctx *fasthttp.RequestCtx, err error) {
	code := inventory.Code(err)
	if codes.RetryAfterOf(code) > 0 {
		ctx.Response.Header.Set("Retry-After", codes.RetryAfter)
	}
	msg := err.Error()
	if code == codes.StoreDown {
		msg = "the inventory store is unavailable"
	}
	writeErr(ctx, inventory.StatusOf(code), code, msg)
}

// known looks a SKU up (the cache, else the store) and answers 404 or 503 itself when it
// cannot give one.
func (s *Server) known(ctx *fasthttp.RequestCtx, name []byte) *sku {
	k, err := s.lookup(name)
	if err != nil {
		invErr(ctx, err)
		return nil
	}
	if k == nil {
		writeErr(ctx, fasthttp.StatusNotFound, codes.NotFound, "unknown sku")
	}
	return k
}

// validID accepts 1..MaxIDBytes printable ASCII bytes (no spaces or control characters).
func validID(b []byte) bool {
	if len(b) == 0 || len(b) > MaxIDBytes {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// userID reads X-User-Id, answering 400 when it is missing or malformed.
func userID(ctx *fasthttp.RequestCtx) ([]byte, bool) {
	u := ctx.Request.Header.Peek("X-User-Id")
	if len(u) == 0 {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "the X-User-Id header is required")
		return nil, false
	}
	if !validID(u) {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "X-User-Id must be 1-128 printable ASCII characters")
		return nil, false
	}
	return u, true
}

func (s *Server) view(ctx *fasthttp.RequestCtx, name []byte) {
	if !ctx.IsGet() && !ctx.IsHead() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use GET")
		return
	}
	k := s.known(ctx, name)
	if k == nil {
		return
	}
	now := time.Now()
	c, err := s.viewCounts(k, now)
	if err != nil {
		invErr(ctx, err)
		return
	}
	var arr [384]byte
	ctx.SetContentType("application/json")
	ctx.SetBody(s.appendView(arr[:0], k, c, now))
}

// appendView renders GET /v1/skus/{sku}: price is what the next single unit costs now.
func (s *Server) appendView(b []byte, k *sku, c inventory.Counts, now time.Time) []byte {
	price := UnitPrice(k.list, k.cost, k.ladder, k.elapsed(now), 1, false)
	if FirstNHalf(c.Taken, 1, k.firstN) == 1 {
		price = inventory.Total(price, 1, 1)
	}
	b = append(b, '{')
	b = fStr(b, "sku", k.name)
	b = fFloat(b, "price", price)
	b = fFloat(b, "list_price", k.list)
	b = fStr(b, "status", k.status(now, c.Available))
	b = fTimeStr(b, "starts_at", k.startsStr)
	b = fTimeStr(b, "ends_at", k.endsStr)
	b = fInt(b, "available", c.Available)
	b = fInt(b, "stock", c.Stock)
	b = fInt(b, "limit_per_user", k.limit)
	return append(b, '}')
}

// purchaseBody is POST /v1/skus/{sku}/purchase's body; an empty body means qty 1.
type purchaseBody struct {
	Qty     int64  `json:"qty"`
	GroupID string `json:"group_id"`
	Coupon  string `json:"coupon"`
}

// fastQty reads the common body `{"qty":N}` (N of 1 to 7 digits) without reflection; any
// other body goes through encoding/json.
func fastQty(raw []byte, qty *int64) bool {
	const pre = `{"qty":`
	if len(raw) < len(pre)+2 || len(raw) > len(pre)+8 || string(raw[:len(pre)]) != pre || raw[len(raw)-1] != '}' {
		return false
	}
	digits := raw[len(pre) : len(raw)-1]
	if digits[0] == '0' && len(digits) > 1 {
		return false // not valid JSON; let encoding/json say so
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
		v = v*10 + int64(c-'0')
	}
	*qty = v
	return true
}

// maxQty bounds one purchase, whatever the SKU's limit.
const maxQty = 1_000_000

func (s *Server) purchase(ctx *fasthttp.RequestCtx, name []byte) {
	if !ctx.IsPost() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use POST")
		return
	}
	k := s.known(ctx, name)
	if k == nil {
		return
	}
	user, ok := userID(ctx)
	if !ok {
		return
	}
	key := ctx.Request.Header.Peek("Idempotency-Key")
	if len(key) > 0 && !validID(key) {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "Idempotency-Key must be 1-128 printable ASCII characters")
		return
	}
	body := purchaseBody{Qty: 1}
	if raw := ctx.PostBody(); len(bytes.TrimSpace(raw)) > 0 && !fastQty(raw, &body.Qty) {
		if err := json.Unmarshal(raw, &body); err != nil {
			writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "malformed JSON body: "+err.Error())
			return
		}
	}
	switch {
	case body.Qty <= 0:
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "qty must be at least 1")
		return
	case body.Qty > maxQty:
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "qty is too large")
		return
	case len(body.GroupID) > MaxIDBytes || len(body.Coupon) > MaxIDBytes:
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "group_id and coupon are at most 128 bytes")
		return
	}
	userS := string(user)
	members, err := inventory.Admit(s.ctx, s.inv, k.name, userS, body.Qty, k.limit, body.GroupID, body.Coupon, CouponTeam3)
	if err != nil {
		invErr(ctx, err)
		return
	}
	factor := 1.0
	if body.GroupID != "" {
		factor = GroupDiscount(members)
	}
	now := time.Now()
	req := inventory.Request{SKU: k.name, User: userS, Qty: body.Qty, Group: body.GroupID,
		Coupon: body.Coupon, Now: now, TTL: s.opts.ReservationTTL,
		UnitPrice: UnitPrice(k.list, k.cost, k.ladder, k.elapsed(now), factor, body.Coupon != ""),
		FP:        fingerprint(body.Qty, body.GroupID, body.Coupon)}
	if len(key) > 0 {
		req.Key = string(key)
		gk := k.name + "\x00" + userS + "\x00" + req.Key
		if !s.guard.acquire(gk) {
			invErr(ctx, inventory.ErrInFlight)
			return
		}
		defer s.guard.release(gk)
	}
	o, replay, err := s.inv.Reserve(s.ctx, req)
	if err != nil {
		invErr(ctx, err)
		return
	}
	if !replay {
		s.push.changed(k)
	}
	if replay {
		ctx.SetStatusCode(fasthttp.StatusOK)
	} else {
		ctx.SetStatusCode(fasthttp.StatusCreated)
	}
	var arr [384]byte
	b := append(arr[:0], `{"code":"`+codes.Reserved+`"`...)
	b = fStr(b, "order_id", o.ID)
	b = fStr(b, "sku", o.SKU)
	b = fInt(b, "qty", o.Qty)
	b = fFloat(b, "price", o.Price)
	b = fTime(b, "expires_at", o.ExpiresAt)
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// fingerprint identifies a purchase body (FNV-1a), so a key reused with another body is caught.
func fingerprint(qty int64, group, coupon string) uint64 {
	h := uint64(14695981039346656037)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	var q [20]byte
	mix(string(strconv.AppendInt(q[:0], qty, 10)))
	mix(group)
	mix(coupon)
	return h
}

// order answers GET /v1/orders/{id}, POST .../pay and POST .../cancel.
func (s *Server) order(ctx *fasthttp.RequestCtx, r route, id []byte) {
	if r == rOrder && !ctx.IsGet() || r != rOrder && !ctx.IsPost() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "wrong method")
		return
	}
	var o inventory.Order
	var err error
	switch r {
	case rOrder:
		o, err = s.inv.Order(s.ctx, string(id))
		if err == nil {
			if u := ctx.Request.Header.Peek("X-User-Id"); len(u) > 0 && string(u) != o.User {
				err = inventory.ErrNoOrder
			}
		}
	default:
		user, ok := userID(ctx)
		if !ok {
			return
		}
		if r == rPay {
			o, err = s.inv.Confirm(s.ctx, string(id), string(user), time.Now())
		} else {
			o, err = s.inv.Release(s.ctx, string(id), string(user), time.Now())
		}
	}
	if err != nil {
		invErr(ctx, err)
		return
	}
	if r == rCancel {
		s.push.changedName(o.SKU) // units went back to the stock
	}
	var arr [512]byte
	b := append(arr[:0], '{')
	code := codes.Reserved
	switch o.Status {
	case inventory.Paid:
		code = codes.Paid
	case inventory.Released:
		code = codes.Released
	}
	b = fStr(b, "code", code)
	b = appendOrderFields(b, &o)
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// appendOrderFields writes an order's fields (the NDJSON line of /admin/orders, plus order_id).
func appendOrderFields(b []byte, o *inventory.Order) []byte {
	b = fStr(b, "order_id", o.ID)
	b = fStr(b, "id", o.ID)
	b = fStr(b, "key", o.Key)
	b = fStr(b, "user", o.User)
	b = fStr(b, "sku", o.SKU)
	b = fInt(b, "qty", o.Qty)
	b = fStr(b, "status", o.Status.String())
	b = fFloat(b, "price", o.Price)
	b = fInt(b, "half_price_units", o.Half)
	b = fStr(b, "group_id", o.Group)
	b = fStr(b, "coupon", o.Coupon)
	b = fTime(b, "created_at", o.CreatedAt)
	return fTime(b, "expires_at", o.ExpiresAt)
}

func (s *Server) groupCreate(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use POST")
		return
	}
	var body struct {
		SKU string `json:"sku"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "malformed JSON body: "+err.Error())
		return
	}
	k := s.known(ctx, []byte(body.SKU))
	if k == nil {
		return
	}
	id, err := s.inv.CreateGroup(s.ctx, k.name)
	if err != nil {
		invErr(ctx, err)
		return
	}
	b := append([]byte(nil), `{"code":"`+codes.GroupCreated+`"`...)
	b = fStr(b, "group_id", id)
	b = fStr(b, "sku", k.name)
	b = append(b, '}')
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func (s *Server) groupJoin(ctx *fasthttp.RequestCtx, id []byte) {
	if !ctx.IsPost() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use POST")
		return
	}
	user, ok := userID(ctx)
	if !ok {
		return
	}
	members, err := s.inv.JoinGroup(s.ctx, string(id), string(user), GroupMax, TeamCouponMembers)
	switch {
	case errors.Is(err, inventory.ErrNoGroup):
		writeErr(ctx, fasthttp.StatusNotFound, codes.NotFound, "no such group")
		return
	case errors.Is(err, inventory.ErrGroupFull):
		writeErr(ctx, fasthttp.StatusConflict, codes.GroupFull, "the group has 10 members")
		return
	case err != nil:
		invErr(ctx, err)
		return
	}
	b := append([]byte(nil), `{"code":"`+codes.Joined+`"`...)
	b = fStr(b, "group_id", string(id))
	b = fInt(b, "members", int64(members))
	b = fFloat(b, "discount", GroupDiscount(members))
	if members >= TeamCouponMembers {
		b = fStr(b, "coupon", CouponTeam3)
	}
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	got := ctx.Request.Header.Peek("Authorization")
	return subtle.ConstantTimeCompare(got, s.token) == 1
}
