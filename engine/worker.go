package engine

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"net/http/cookiejar"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

// worker plays sessions one at a time. Everything it touches on the hot path is its own:
// request and response objects, buffers, the random source (reseeded per arrival, so a
// session's choices depend on the seed and the arrival only, not on which worker ran it).
type worker struct {
	r     *run
	id    int
	sh    *result.Shard
	pcg   *rand.PCG
	rng   *rand.Rand
	timer *time.Timer
	req   fasthttp.Request
	resp  fasthttp.Response
	raw   *rawConn // the worker's own connection to the target (the rawConns transport), else nil
	tgt   int      // the replica (index in run.targets) of the worker's request: transport.next
	gen   uint64   // the Options.Active generation w.tgt was chosen in
	// rendered: sendRaw put the request in out (head: it is a HEAD); do sends it as is.
	rendered, head bool
	out            []byte            // a rendered request; swapped with the connection's buffer when sent
	answer         []byte            // a pooled connection's answer body, copied before the connection goes back
	replicaIDs     map[string]string // replica names this worker has seen, interned (replicaNames)
	buf            []byte
	body           []byte // the request body: SetBodyRaw keeps it until the next request
	key            []byte
	order          []byte
	group          []byte
	vars           scenario.Vars
	log            attemptLog
	first          bool                 // the next request is the session's first: it stands for the arrival (Result.First)
	last           time.Duration        // when the worker's last answer came (its Done): the clock read once per request, reused
	cls            *scenario.Classifier // the classify rules of the request do sends next; nil: the target's codes
	hd             answerHeads          // the last answer's headers the engine reads (every transport fills them)

	// The journey instance's own state (captures.go).
	jp       *scenario.JourneyProgram
	caps     [][]byte // captured values by the journey's slots
	jar      *cookiejar.Jar
	held     []Attempt // the journey's purchase attempts, logged when it ends
	lastURL  []byte    // the URL of the request being sent, for the jar
	lastTgt  *targetURL
	lastFull bool
	view     respAnswer // w.resp as captures read it
	heads    bool       // the step being sent captures a header: the raw transport keeps them all

	herd *herd // a crowd watcher's worker: its purchases count in the herd (crowd.go)
}

func (r *run) newWorker(i int) *worker {
	w := &worker{r: r, id: i, sh: r.rec.Shard(i % r.shards), pcg: rand.NewPCG(uint64(r.seed), uint64(i)), tgt: i % len(r.targets)}
	w.rng = rand.New(w.pcg)
	w.log.spill = r.spill
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	r.workersMu.Lock()
	r.workers[w] = struct{}{}
	r.workersMu.Unlock()
	return w
}

// retire hands a finished worker's attempts to the run (to the spill file, or clipped to their
// length when there is none) and drops the worker, so the pool's churn over a long run
// accumulates neither worker structs nor partly filled chunks.
func (w *worker) retire() {
	w.timer.Stop()
	w.raw.close()
	w.log.mu.Lock()
	chunks := w.log.chunks
	w.log.chunks = nil
	w.log.mu.Unlock()
	r := w.r
	kept := chunks[:0]
	for _, c := range chunks {
		switch {
		case len(c) == 0:
		case r.spill != nil && r.spill.write(c):
		case len(c) < cap(c)/2:
			kept = append(kept, append([]Attempt(nil), c...))
		default:
			kept = append(kept, c)
		}
	}
	r.workersMu.Lock()
	r.retired = append(r.retired, kept...)
	delete(r.workers, w)
	r.workersMu.Unlock()
}

// sleep waits d or until ctx is done; it reports whether the full wait happened.
func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	w.timer.Reset(d)
	select {
	case <-w.timer.C:
		return true
	case <-ctx.Done():
		w.timer.Stop()
		return false
	}
}

// session plays one arrival's journey. intended is when its first request should go out.
func (w *worker) session(ctx context.Context, a scenario.Arrival, intended time.Duration) {
	w.play(ctx, w.r.prog.Journey(w.r.seed, a.Seq), a, intended)
}

// play plays journey ji for arrival a (a crowd's watcher plays the herd's journey, not a drawn one).
func (w *worker) play(ctx context.Context, ji int, a scenario.Arrival, intended time.Duration) {
	r := w.r
	w.pcg.Seed(uint64(r.seed), uint64(a.Seq)^0x5851f42d4c957f2d)
	jp := &r.prog.Journeys[ji]
	w.startJourney(jp)
	defer w.endJourney()
	w.order = w.order[:0]
	w.group = w.group[:0]
	w.first = true
	next := intended
	for i := range jp.Steps {
		st := &jp.Steps[i]
		if ctx.Err() != nil {
			return
		}
		switch st.Op {
		case scenario.OpThink:
			if !w.sleep(ctx, scenario.WallThink(st.ThinkAt(r.seed, a.Seq), r.compressNow())) {
				return
			}
			next = r.now()
			w.last = next
			continue
		case scenario.OpPay, scenario.OpCancel:
			if st.Skip(len(w.order) > 0, w.rng.Float64()) {
				continue
			}
			if st.Delay > 0 {
				if !w.sleep(ctx, time.Duration(float64(st.Delay)/r.compressNow())) {
					return
				}
				next = r.now()
				w.last = next
			}
		}
		cont := w.step(ctx, st, jp.Name, a.Seq, r.prog.User(ji, st, a.Seq), next)
		// The next step is due when this one ended: its last answer's time, read by do (no
		// second clock read per request).
		next = max(w.last, next)
		if !cont {
			return
		}
	}
}

func (r *run) compressNow() float64 {
	c := r.play.CompressAt(r.now())
	if c <= 0 {
		return 1
	}
	return c
}

// answer is what one request got.
type answer struct {
	status int
	code   string
	errc   outcome.ErrorClass
	after  float64 // Retry-After seconds, 0 when absent
	hasRA  bool
}

// step plays one request step (with its retries). It returns false when the journey ends here.
func (w *worker) step(ctx context.Context, st *scenario.Instr, journey string, seq, user int64, intended time.Duration) bool {
	r := w.r
	switch st.Op {
	case scenario.OpWaitOpen:
		return w.waitOpen(ctx, st, journey, seq, user, intended)
	case scenario.OpJoinGroup:
		return w.joinGroup(ctx, st, journey, seq, user, intended)
	case scenario.OpSubscribe:
		return w.subscribe(ctx, st, journey, intended)
	}
	if len(st.Needs) > 0 {
		if why := w.needs(st, user); why != "" {
			w.sh.Skip(st.Name, why)
			return false
		}
	}
	w.vars = scenario.Vars{User: user, SKU: st.SKU, Seq: seq, Rand: w.rng.Uint64(), Caps: w.caps}
	if st.Audited || st.Op == scenario.OpRequest {
		w.key = appendKey(w.key[:0], r.runID, seq, st.Index)
		w.vars.Key = w.key
	}
	if st.Op == scenario.OpRequest {
		w.vars.Row = r.s.UserRow(user)
	}
	var an answer
	var oc outcome.Outcome
	for n := 0; ; n++ {
		if n > 0 {
			u := 0.0
			if st.Rules.Retry.Jitter > 0 {
				u = w.rng.Float64()
			}
			var ra time.Duration
			if scenario.HonoursRetryAfter(an.status) {
				ra = time.Duration(an.after * float64(time.Second))
			}
			if !w.sleep(ctx, st.Rules.Retry.Delay(n, u, ra)) {
				break
			}
			intended = r.now()
		}
		an = w.send(st, journey, intended, n > 0)
		if w.herd != nil && st.Audited {
			w.herd.purchase(intended, w.last)
		}
		oc = st.Rules.Outcome(an.status, an.code, an.errc, w.resp.Body())
		if oc == outcome.Acknowledged {
			w.keepOrder(st, w.resp.Body())
		}
		if !st.Rules.Again(n, an.status, an.code, an.errc, oc) {
			break
		}
	}
	st.Rates(oc, w.sh.Ratio)
	if st.Op == scenario.OpCancel && oc == outcome.Acknowledged {
		w.order = w.order[:0]
	}
	if st.Audited {
		w.hold(Attempt{Seq: seq, User: user, Step: st.Index, SKU: skuIndex(st), Qty: uint16(min(st.Qty, math.MaxUint16)),
			Outcome: oc, Flags: soldOutIf(oc == outcome.SoldOut)})
		if oc == outcome.SoldOut {
			w.r.noteSoldOut(skuIndex(st), intended)
		}
	}
	if st.Pays && oc == outcome.Acknowledged {
		w.paid(st.Settles)
	}
	// A refused purchase leaves nothing to pay or cancel; an answer without the values the
	// later steps read leaves them nothing to send.
	end, why := st.After(oc)
	if !end && len(st.Captures) > 0 {
		why = w.capture(st, user)
		end = why != ""
	}
	if why != "" {
		w.sh.Skip(st.Name, why)
	}
	return !end
}

// skuIndex is the step's SKU as the attempt log keeps it.
func skuIndex(st *scenario.Instr) uint16 {
	if st.SKUIndex < 0 {
		return noSKU
	}
	return uint16(st.SKUIndex)
}

func (w *worker) keepOrder(st *scenario.Instr, body []byte) {
	if st.Op != scenario.OpPurchase {
		return
	}
	if v, ok := scenario.JSONField(body, quotedOrderID); ok {
		w.order = append(w.order[:0], v...)
	}
}

// send builds and sends one request of a step and records its Result.
func (w *worker) send(st *scenario.Instr, journey string, intended time.Duration, retry bool) answer {
	r := w.r
	req := &w.req
	w.vars.Order = bytesToString(w.order)
	w.vars.Group = bytesToString(w.group)
	w.buf = w.buf[:0]
	t := &r.targets[w.tgt]
	if !st.Endpoint.Full {
		t = w.next()
		w.buf = append(w.buf, t.Prefix...)
	}
	w.buf = st.Endpoint.URL.Append(w.buf, &w.vars)
	w.noteURL(t, st.Endpoint.Full)
	if st.Op != scenario.OpRequest && !st.Endpoint.Full && r.tr.renders() && plainPath(w.buf) && w.jar == nil {
		return w.sendRaw(st, journey, intended, retry) // w.req is not used
	}
	req.Reset()
	setURI(req, w.buf, !st.Endpoint.Full, t.Host)
	req.Header.SetMethod(st.Endpoint.Method)
	w.sendCookies(req)
	switch st.Op {
	case scenario.OpRequest:
		for i := range st.Headers {
			h := &st.Headers[i]
			w.buf = h.Value.Append(w.buf[:0], &w.vars)
			req.Header.SetBytesV(h.Name, w.buf)
		}
		if st.Body != nil {
			w.buf = st.Body.Append(w.buf[:0], &w.vars)
			w.body = append(w.body[:0], w.buf...)
			req.SetBodyRaw(w.body)
		}
	default:
		w.buf = appendUser(w.buf[:0], w.vars.User)
		req.Header.SetBytesV("X-User-Id", w.buf)
		if st.Op == scenario.OpPurchase {
			req.Header.SetBytesV("Idempotency-Key", w.key)
			req.Header.SetContentType("application/json")
			b := w.purchaseBody(st)
			req.SetBodyRaw(b)
		}
	}
	w.cls = st.Rules.Classify
	w.heads = capturesHeader(st)
	an := w.do(journey, st.Name, intended, retry, st.Endpoint.Full)
	w.heads = false
	return an
}

// purchaseBody renders a purchase's JSON body ({"qty", and group_id and coupon when the step
// has them}) into w.body, for both transports.
func (w *worker) purchaseBody(st *scenario.Instr) []byte {
	b := append(w.body[:0], `{"qty":`...)
	b = appendInt(b, int64(st.Qty))
	if st.Group && len(w.group) > 0 {
		b = append(b, `,"group_id":"`...)
		b = append(b, w.group...)
		b = append(b, '"')
	}
	if st.Coupon != "" {
		b = append(b, `,"coupon":"`...)
		b = append(b, st.Coupon...)
		b = append(b, '"')
	}
	b = append(b, '}')
	w.body = b
	return b
}

// sendRaw renders a preset step's request straight into the raw transport's format (the same
// bytes fasthttp would write: request line, Host, User-Agent, X-User-Id, and for a purchase
// Idempotency-Key, Content-Type, Content-Length and the JSON body), skipping the
// fasthttp.Request. w.buf holds the path.
func (w *worker) sendRaw(st *scenario.Instr, journey string, intended time.Duration, retry bool) answer {
	r := w.r
	o := append(w.out[:0], st.Endpoint.Method...)
	o = append(o, ' ')
	o = append(o, w.buf...)
	o = append(o, " HTTP/1.1\r\nHost: "...)
	o = append(o, r.targets[w.tgt].Host...)
	o = append(o, "\r\nUser-Agent: flashload\r\nX-User-Id: "...)
	o = appendUser(o, w.vars.User)
	if st.Op == scenario.OpPurchase {
		o = append(o, "\r\nIdempotency-Key: "...)
		o = append(o, w.key...)
		b := w.purchaseBody(st)
		o = append(o, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		o = appendInt(o, int64(len(b)))
		o = append(o, "\r\n\r\n"...)
		o = append(o, b...)
	} else {
		o = append(o, "\r\n\r\n"...)
	}
	w.out = o
	w.rendered, w.head = true, st.Endpoint.Method == "HEAD"
	return w.do(journey, st.Name, intended, retry, false)
}

// plainPath: a path the raw renderer may write as is (what fasthttp would write unchanged:
// no query, no bytes it would escape).
func plainPath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '/' || c == '-' || c == '_' || c == '.' || c == '~':
		default:
			return false
		}
	}
	return true
}

// setURI sets the request's URI. A path on the target without a query is set in place (no
// parse of a request URI on every request, which is a tenth of the engine's own CPU); a full URL
// or a query takes the general route.
func setURI(req *fasthttp.Request, uri []byte, onTarget bool, host string) {
	if !onTarget || bytes.IndexByte(uri, '?') >= 0 {
		req.SetRequestURIBytes(uri)
		if onTarget {
			req.Header.SetHost(host)
		}
		return
	}
	u := req.URI()
	u.DisablePathNormalizing = true
	u.SetPathBytes(uri)
	u.SetHost(host)
}

// do sends w.req (or, when rendered, w.out) and records the Result. The transport waits for a
// connection first: service time runs from when the request got one, latency from intended.
func (w *worker) do(journey, step string, intended time.Duration, retry, full bool) answer {
	r := w.r
	resp := &w.resp
	resp.Reset()
	res := result.Result{Intended: intended, Journey: journey, Step: step, Retry: retry, First: w.first}
	w.first = false
	rendered, cls := w.rendered, w.cls
	w.rendered, w.cls = false, nil
	res.InFlight = int32(r.inflight.Load() + 1)
	var err error
	if full {
		r.closeN.mark(&w.req)
		res.Sent = r.now()
		r.inflight.Add(1)
		err = r.other.DoTimeout(&w.req, resp, r.timeout)
		r.inflight.Add(-1)
		if err == nil {
			w.hd.fromHeader(&resp.Header, r.replica, r.replicaL)
		}
	} else {
		res.Sent, err = r.tr.do(w, rendered)
	}
	res.Done = r.now()
	w.last = res.Done
	var an answer
	if err != nil {
		an.errc = classifyErr(err)
		res.Err = an.errc
	} else {
		an.status = resp.StatusCode()
		body := resp.Body()
		an.code = answerCode(body)
		res.Status, res.Code, res.Bytes = an.status, an.code, len(body)
		if cls != nil {
			res.Outcome, res.Code = cls.ClassifyCode(an.status, body)
			res.Classified = true
		}
		w.keepCookies()
		if d, ok := scenario.ParseServerTiming(w.hd.serverTiming); ok {
			res.Server = d
		}
		res.Replica = w.replicaOf(w.hd.replica)
		if an.status == 429 || an.status == 503 {
			if d, ok := scenario.ParseRetryAfter(w.hd.retryAfter, time.Now()); ok {
				an.after, an.hasRA = d.Seconds(), true
			}
		}
	}
	w.sh.Record(&res)
	return an
}

// waitOpen polls the SKU until the target says it is on sale (or the session is stopped).
func (w *worker) waitOpen(ctx context.Context, st *scenario.Instr, journey string, seq, user int64, intended time.Duration) bool {
	if w.pushServed(ctx, st.SKU) {
		// The target pushes the opening: one subscription instead of polls, under the same name.
		if ok, held := w.holdFeed(ctx, &waitOpenCond, st.SKU, st.Name, journey, intended); ok || held {
			return ok
		}
		intended = w.r.now()
	}
	w.vars = scenario.Vars{User: user, SKU: st.SKU, Seq: seq}
	for {
		an := w.send(st, journey, intended, false)
		if an.errc == outcome.ErrNone && an.status < 300 {
			status, _ := scenario.JSONField(w.resp.Body(), quotedStatus)
			if !notOpen(status) {
				return true
			}
		} else if an.errc == outcome.ErrRefused {
			return false
		}
		if !w.sleep(ctx, 100*time.Millisecond) {
			return false
		}
		intended = w.r.now()
	}
}

func notOpen(status []byte) bool {
	for _, s := range [...]string{"scheduled", "not_started", "upcoming", "pending", "closed_until_start"} {
		if bytes.EqualFold(status, []byte(s)) {
			return true
		}
	}
	return false
}

// joinGroup joins the SKU's open group, or opens one when there is none or it is full.
func (w *worker) joinGroup(ctx context.Context, st *scenario.Instr, journey string, seq, user int64, intended time.Duration) bool {
	r := w.r
	r.groupsMu.Lock()
	cur := append(w.group[:0], r.groups[st.SKU]...)
	r.groupsMu.Unlock()
	w.group = cur
	w.vars = scenario.Vars{User: user, SKU: st.SKU, Seq: seq}
	if len(cur) > 0 {
		an := w.send(st, journey, intended, false)
		if an.errc == outcome.ErrNone && an.status >= 200 && an.status < 300 {
			return true
		}
		intended = r.now()
	}
	// Open a group: POST /v1/groups {"sku","size"}; the creator is its first member.
	req := &w.req
	req.Reset()
	t := w.next()
	w.buf = append(w.buf[:0], t.Prefix...)
	w.buf = st.Create.URL.Append(w.buf, &w.vars)
	w.noteURL(t, false)
	setURI(req, w.buf, true, t.Host)
	req.Header.SetMethod(st.Create.Method)
	w.sendCookies(req)
	w.buf = appendUser(w.buf[:0], user)
	req.Header.SetBytesV("X-User-Id", w.buf)
	req.Header.SetContentType("application/json")
	b := append(w.body[:0], `{"sku":"`...)
	b = append(b, st.SKU...)
	b = append(b, '"')
	if st.Size > 0 {
		b = append(b, `,"size":`...)
		b = appendInt(b, int64(st.Size))
	}
	b = append(b, '}')
	w.body = b
	req.SetBodyRaw(b)
	an := w.do(journey, "create_group", intended, false, false)
	if an.errc != outcome.ErrNone || an.status >= 300 {
		w.group = w.group[:0]
		return an.errc != outcome.ErrRefused
	}
	body := w.resp.Body()
	id, ok := scenario.JSONField(body, quotedGroupID)
	if !ok {
		id, ok = scenario.JSONField(body, quotedID)
	}
	if !ok {
		w.group = w.group[:0]
		return true
	}
	w.group = append(w.group[:0], id...)
	r.groupsMu.Lock()
	r.groups[st.SKU] = append([]byte(nil), id...)
	r.groupsMu.Unlock()
	// The creator joins its own group like everyone else.
	an = w.send(st, journey, r.now(), false)
	if an.errc != outcome.ErrNone || an.status >= 300 {
		w.group = w.group[:0]
	}
	return an.errc != outcome.ErrRefused
}
