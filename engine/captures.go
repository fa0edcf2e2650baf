package engine

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/publicsuffix"
)

// What a journey instance keeps between its steps beside its order and group: the values its
// captures took (by the program's slots), its cookie jar, and its purchase attempts, held until
// the journey ends so that a later pay or settles step can mark its purchase paid. The program
// (scenario.Compile) decides which values a step takes and reads, what ends the journey and what
// a step settles; this file only takes the values from real answers.

// startJourney resets the worker's journey state for an arrival playing jp.
func (w *worker) startJourney(jp *scenario.JourneyProgram) {
	w.jp = jp
	for len(w.caps) < len(jp.Slots) {
		w.caps = append(w.caps, nil)
	}
	w.caps = w.caps[:len(jp.Slots)]
	for i := range w.caps {
		w.caps[i] = w.caps[i][:0]
	}
	w.jar = nil // made by the first answer that sets a cookie
	w.held = w.held[:0]
}

// endJourney hands the journey's purchase attempts to the worker's log.
func (w *worker) endJourney() {
	for i := range w.held {
		w.log.add(w.held[i])
	}
	w.held = w.held[:0]
}

// hold keeps a purchase attempt until the journey ends.
func (w *worker) hold(a Attempt) { w.held = append(w.held, a) }

// paid marks the purchase of step k of the journey paid: the step that pays it was acknowledged.
func (w *worker) paid(k int) {
	if k < 0 || k >= len(w.jp.Steps) {
		return
	}
	idx := w.jp.Steps[k].Index
	for i := len(w.held) - 1; i >= 0; i-- {
		if w.held[i].Step == idx {
			w.held[i].Mark(audit.FlagPaid, true)
			return
		}
	}
}

// needs loads the scope: user values step st reads without an earlier capture in the journey;
// the first the user never kept is why the journey ends here ("" when all are there).
func (w *worker) needs(st *scenario.Instr, user int64) string {
	for i := range st.Needs {
		n := &st.Needs[i]
		var ok bool
		if w.r.users != nil {
			w.caps[n.Slot], ok = w.r.users.Load(user, n.User, w.caps[n.Slot][:0])
		}
		if !ok {
			return n.Reason
		}
	}
	return ""
}

// capture takes the step's captures from its acknowledged answer (w.resp) into the journey's
// slots, and keeps the scope: user ones for the user's later arrivals. It returns why the
// journey ends here when a value is missing ("" when all were found).
func (w *worker) capture(st *scenario.Instr, user int64) string {
	w.view.r = &w.resp
	a := &w.view
	for i := range st.Captures {
		c := &st.Captures[i]
		v, why := c.Append(w.caps[c.Slot][:0], a)
		w.caps[c.Slot] = v
		if why != "" {
			return why
		}
		if c.User >= 0 && w.r.users != nil {
			w.r.users.Keep(user, c.User, v)
		}
	}
	return ""
}

// respAnswer is a fasthttp answer as captures read it (scenario.Answer). The worker holds one
// (w.view), so handing it over as an interface does not allocate.
type respAnswer struct{ r *fasthttp.Response }

func (a *respAnswer) Body() []byte { return a.r.Body() }

func (a *respAnswer) Header(name string) ([]byte, bool) {
	h := &a.r.Header
	if v := h.Peek(name); v != nil {
		return v, true
	}
	for k, v := range h.All() {
		if bytes.EqualFold(k, []byte(name)) {
			return v, true
		}
	}
	return nil, false
}

func (a *respAnswer) SetCookie(i int) ([]byte, bool) {
	n := 0
	for _, v := range a.r.Header.Cookies() {
		if n == i {
			return v, true
		}
		n++
	}
	return nil, false
}

// noteURL remembers the URL of the request being sent (w.buf: the target's prefix and path, or
// a full URL), for the journey's cookie jar: the answer's cookies are kept for it.
func (w *worker) noteURL(t *targetURL, full bool) {
	if w.jp == nil || !w.jp.Cookies {
		return
	}
	w.lastURL = append(w.lastURL[:0], w.buf...)
	w.lastTgt, w.lastFull = t, full
}

// jarURL is the URL noteURL remembered; nil when it cannot be read.
func (w *worker) jarURL() *url.URL {
	if w.lastFull {
		u, err := url.Parse(string(w.lastURL))
		if err != nil {
			return nil
		}
		return u
	}
	u := &url.URL{Scheme: "http", Host: w.lastTgt.Host}
	if w.lastTgt.TLS {
		u.Scheme = "https"
	}
	p := w.lastURL
	if i := bytes.IndexByte(p, '?'); i >= 0 {
		u.RawQuery = string(p[i+1:])
		p = p[:i]
	}
	u.Path = string(p)
	return u
}

// sendCookies adds the cookies the journey's jar holds for the request's URL (noteURL). Only a
// journey whose jar holds cookies pays for the look-up.
func (w *worker) sendCookies(req *fasthttp.Request) {
	if w.jar == nil {
		return
	}
	u := w.jarURL()
	if u == nil {
		return
	}
	for _, c := range w.jar.Cookies(u) {
		req.Header.SetCookie(c.Name, c.Value)
	}
}

// keepCookies gives the answer's Set-Cookie headers to the journey's jar (made on the first),
// which applies RFC 6265's rules: domain, path, expiry, Secure.
func (w *worker) keepCookies() {
	if w.jp == nil || !w.jp.Cookies {
		return
	}
	var cookies []*http.Cookie
	for _, v := range w.resp.Header.Cookies() {
		if c, err := http.ParseSetCookie(string(v)); err == nil {
			cookies = append(cookies, c)
		}
	}
	if len(cookies) == 0 {
		return
	}
	u := w.jarURL()
	if u == nil {
		return
	}
	if w.jar == nil {
		w.jar = newJar()
	}
	w.jar.SetCookies(u, cookies)
}

// newJar is a journey instance's cookie jar: net/http's, with the public suffix list, so a
// service cannot set a cookie for a whole top-level domain.
func newJar() *cookiejar.Jar {
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}) // never fails
	return j
}

// capturesHeader reports whether the step captures a header (the raw transport then keeps them).
func capturesHeader(st *scenario.Instr) bool {
	for i := range st.Captures {
		if st.Captures[i].Kind == scenario.CaptureHeader {
			return true
		}
	}
	return false
}

func soldOutIf(b bool) audit.Flags {
	if b {
		return audit.FlagSoldOut
	}
	return 0
}
