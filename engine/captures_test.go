package engine

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

// shopLike is a service of another kind than flashload's target, on net/http: POST /login
// sets a session cookie (and cookies that RFC 6265's rules keep from being sent back: another
// path, Secure on plain HTTP, expired, another domain) and answers a token; POST /checkout
// needs the session and the token and answers a reservation code; POST /purchase?code= pays
// it; GET /api/me shows which cookies came. It records what each request carried.
type shopLike struct {
	mu       sync.Mutex
	cookies  map[string][]string // path → the Cookie headers received
	paid     map[string]bool     // codes paid
	bad      []string            // what a request lacked
	noCodeOf string              // a user whose checkout answers without a code
	orders   string              // the orders export (user,sku,qty), rewritten on each checkout
	rows     []string
}

func (s *shopLike) handler() http.Handler {
	mux := http.NewServeMux()
	note := func(r *http.Request) {
		s.mu.Lock()
		s.cookies[r.URL.Path] = append(s.cookies[r.URL.Path], r.Header.Get("Cookie"))
		s.mu.Unlock()
	}
	fail := func(w http.ResponseWriter, why string) {
		s.mu.Lock()
		s.bad = append(s.bad, why)
		s.mu.Unlock()
		w.WriteHeader(401)
	}
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		note(r)
		u := r.URL.Query().Get("user_id")
		http.SetCookie(w, &http.Cookie{Name: "SESSION", Value: "s" + u, Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "scoped", Value: "api", Path: "/api"})
		http.SetCookie(w, &http.Cookie{Name: "secure", Value: "tls-only", Path: "/", Secure: true})
		http.SetCookie(w, &http.Cookie{Name: "expired", Value: "old", Path: "/", Expires: time.Unix(1, 0)})
		http.SetCookie(w, &http.Cookie{Name: "foreign", Value: "x", Path: "/", Domain: "example.com"})
		fmt.Fprintf(w, `{"user":{"id":%s,"token":"T%s"}}`, u, u)
	})
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		note(r)
		u := r.URL.Query().Get("user_id")
		if c, err := r.Cookie("SESSION"); err != nil || c.Value != "s"+u {
			fail(w, "checkout of "+u+" without its session")
			return
		}
		if r.Header.Get("Authorization") != "Bearer T"+u {
			fail(w, "checkout of "+u+" with token "+r.Header.Get("Authorization"))
			return
		}
		w.Header().Set("Location", "/orders/"+u)
		s.mu.Lock()
		s.rows = append(s.rows, u+",x-1,1")
		os.WriteFile(s.orders, []byte("user,sku,qty\n"+strings.Join(s.rows, "\n")+"\n"), 0o644)
		s.mu.Unlock()
		if u == s.noCodeOf {
			fmt.Fprint(w, `{"status":"reserved"}`) // reserved, but the answer forgets the code
			return
		}
		fmt.Fprintf(w, `{"code":"C%s"}`, u)
	})
	mux.HandleFunc("POST /purchase", func(w http.ResponseWriter, r *http.Request) {
		note(r)
		s.mu.Lock()
		s.paid[r.URL.Query().Get("code")] = true
		s.mu.Unlock()
		fmt.Fprint(w, `{"status":"paid"}`)
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		note(r)
		fmt.Fprint(w, `{}`)
	})
	return mux
}

const shopJourney = `
name: captures
duration: 1s
skus: [{sku: x-1, stock: 100, price: 1}]
users: 20
traffic: {arrivals: uniform, start_rps: 20, stages: [{duration: 1s, rps: 20}]}
journeys:
  - name: buyer
    %s
    steps:
      - request: {name: login, method: POST, url: "/login?user_id={{user}}", capture: [{json: "$.user.token", as: token}]}
      - request:
          name: checkout
          method: POST
          url: /checkout?user_id={{user}}
          headers: {Authorization: "Bearer {{token}}"}
          sku: x-1
          purchase: true
          capture: [{json: "$.code", as: code}, {header: location, as: next}]
      - request: {name: confirm, method: POST, url: "/purchase?code={{code}}", settles: checkout}
      - request: {name: me, url: "/api/me?next={{next}}"}
`

// TestJourneyCapturesAndCookies: a two-step reserve/confirm journey behind a login on a service
// of another kind, over the raw transport and over fasthttp: the token and the code are taken
// from the answers and sent by the later steps, the session cookie comes back under RFC 6265's
// rules (path, expiry, domain; Secure ones too, since loopback is a secure origin as browsers
// and net/http's jar hold: TestJarRules shows Secure on another host), the confirm pays the checkout's purchase (pay_success,
// the attempt marked paid, paid in the audit), and a checkout whose answer has no code ends
// that journey, counted as skipped with its reason rather than as an error.
func TestJourneyCapturesAndCookies(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fasthttp=%v", fast), func(t *testing.T) {
			dir := t.TempDir()
			shop := &shopLike{cookies: map[string][]string{}, paid: map[string]bool{}, noCodeOf: "7", orders: filepath.Join(dir, "orders.csv")}
			base := serveHTTP(t, shop.handler())
			s := mustParse(t, fmt.Sprintf(shopJourney, ""))
			attempts := filepath.Join(dir, audit.AttemptsFile)
			res, err := Run(context.Background(), s, Options{Target: base, RunID: "cap", NoPreflight: true, FastHTTPOnly: fast,
				AttemptsFile: attempts, OrdersFile: shop.orders})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary
			if len(shop.bad) > 0 {
				t.Fatalf("requests without their values: %v", shop.bad)
			}
			if sum.Requests.Errors != 0 || sum.Requests.Total != 20+20+19+19 {
				t.Fatalf("requests %+v", sum.Requests)
			}
			if len(shop.paid) != 19 || shop.paid["C7"] {
				t.Errorf("codes paid %v: want every buyer's but user 7's", shop.paid)
			}
			co := sum.Steps["checkout"]
			if co.Skipped != 1 || co.SkippedReasons["code: json $.code not found"] != 1 || co.Failed != 0 {
				t.Errorf("checkout %+v: want user 7's journey skipped for want of a code", co)
			}
			if r := sum.Rates["pay_success"]; r.Den != 19 || r.Num != 19 {
				t.Errorf("pay_success %+v", r)
			}
			// Cookies: the session on every later request, the /api cookie only under /api, and
			// never the expired or foreign ones.
			for path, want := range map[string][]string{"/checkout": {"SESSION", "secure"}, "/purchase": {"SESSION", "secure"}, "/api/me": {"SESSION", "scoped", "secure"}} {
				for _, h := range shop.cookies[path] {
					if got := cookieNames(h); !slices.Equal(got, want) {
						t.Errorf("%s got cookies %q, want %v", path, h, want)
					}
				}
			}
			if h := shop.cookies["/login"]; len(h) != 20 || slices.ContainsFunc(h, func(c string) bool { return c != "" }) {
				t.Errorf("login got cookies %q: each journey instance starts with an empty jar", h)
			}
			// The attempts know which purchases were paid, and so does the audit.
			f, err := os.Open(attempts)
			if err != nil {
				t.Fatal(err)
			}
			_, at, err := audit.ReadAttempts(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			paid := 0
			for _, a := range at {
				if a.Paid() {
					paid++
				}
			}
			if len(at) != 20 || paid != 19 {
				t.Errorf("%d attempts, %d paid: want 20 and 19", len(at), paid)
			}
			if a := sum.Audit; !a.Checked || a.Sold != 20 || a.Paid != 19 || a.Lost != 0 || len(a.Violations) != 0 {
				t.Errorf("audit %+v: want 20 sold, 19 paid (the orders export has no status: the client's payments count)", a)
			}
		})
	}
}

func cookieNames(h string) []string {
	var names []string
	for _, c := range strings.Split(h, ";") {
		if name, _, ok := strings.Cut(strings.TrimSpace(c), "="); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestCookiesOff: cookies: false on a journey sends none back.
func TestCookiesOff(t *testing.T) {
	shop := &shopLike{cookies: map[string][]string{}, paid: map[string]bool{}, orders: filepath.Join(t.TempDir(), "o.csv")}
	base := serveHTTP(t, shop.handler())
	s := mustParse(t, fmt.Sprintf(shopJourney, "cookies: false"))
	res, err := Run(context.Background(), s, Options{Target: base, RunID: "off", NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	// Every checkout is refused (no session): a refused purchase ends the journey by itself,
	// not as a skip.
	if co := res.Summary.Steps["checkout"]; co.Count != 20 || co.Failed != 20 || co.Skipped != 0 || res.Summary.Steps["confirm"].Count != 0 {
		t.Errorf("checkout %+v, confirm %+v", co, res.Summary.Steps["confirm"])
	}
	if len(shop.cookies["/checkout"]) != 20 || slices.ContainsFunc(shop.cookies["/checkout"], func(c string) bool { return c != "" }) {
		t.Errorf("cookies sent with cookies: false: %q", shop.cookies["/checkout"])
	}
}

// TestJarRules: the jar a journey instance keeps, fed and read at the URLs the engine builds
// for the target, applies RFC 6265: a cookie goes back to its domain only, under its path
// only, until it expires, and a Secure one only over https (off loopback).
func TestJarRules(t *testing.T) {
	w := &worker{jp: &scenario.JourneyProgram{Cookies: true}}
	at := func(tgt targetURL, path string) {
		w.buf = append(w.buf[:0], path...)
		w.noteURL(&tgt, false)
	}
	shop, tls, other := targetURL{Host: "shop.test:8080"}, targetURL{Host: "shop.test:8443", TLS: true}, targetURL{Host: "other.test:80"}
	at(shop, "/login?user_id=1")
	w.resp.Reset()
	for _, c := range []string{"SESSION=s1; Path=/", "scoped=api; Path=/api", "secure=tls; Path=/; Secure",
		"gone=x; Path=/; Max-Age=0", "later=x; Path=/; Expires=" + time.Now().Add(time.Hour).UTC().Format(http.TimeFormat),
		"parent=x; Path=/; Domain=shop.test", "foreign=x; Path=/; Domain=example.com", "suffix=x; Path=/; Domain=test"} {
		w.resp.Header.Add("Set-Cookie", c)
	}
	w.keepCookies()
	sent := func(tgt targetURL, path string) []string {
		at(tgt, path)
		var req fasthttp.Request
		w.sendCookies(&req)
		var names []string
		for k := range req.Header.Cookies() {
			names = append(names, string(k))
		}
		slices.Sort(names)
		return names
	}
	for _, c := range []struct {
		tgt  targetURL
		path string
		want []string
	}{
		{shop, "/checkout", []string{"SESSION", "later", "parent"}},
		{shop, "/api/me?x=1", []string{"SESSION", "later", "parent", "scoped"}},
		{shop, "/apiary", []string{"SESSION", "later", "parent"}},
		{tls, "/checkout", []string{"SESSION", "later", "parent", "secure"}},
		{other, "/checkout", nil},
	} {
		if got := sent(c.tgt, c.path); !slices.Equal(got, c.want) {
			t.Errorf("%s%s: sent %v, want %v", c.tgt.Host, c.path, got, c.want)
		}
	}
	// An answer that expires a cookie removes it.
	at(shop, "/logout")
	w.resp.Reset()
	w.resp.Header.Add("Set-Cookie", "SESSION=; Path=/; Max-Age=0")
	w.keepCookies()
	if got := sent(shop, "/checkout"); slices.Contains(got, "SESSION") {
		t.Errorf("SESSION still sent after it expired: %v", got)
	}
}

// TestUserScopeCapture: a token captured with scope: user in one journey is sent by another
// journey of the same user on a later arrival; an arrival of a user who kept none yet ends at
// that step, counted as skipped.
func TestUserScopeCapture(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"token":"T%s"}`, r.URL.Query().Get("user_id"))
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Query().Get("user_id")+"="+r.Header.Get("X-Token"))
		mu.Unlock()
	})
	base := serveHTTP(t, mux)
	s := mustParse(t, `
name: user-scope
duration: 2s
skus: [{sku: x-1, stock: 1, price: 1}]
users: 3
traffic: {arrivals: uniform, start_rps: 30, stages: [{duration: 2s, rps: 30}]}
journeys:
  - name: login
    steps: [{request: {method: POST, url: "/login?user_id={{user}}", capture: [{json: "$.token", as: token, scope: user}]}}]
  - name: browse
    steps: [{request: {name: me, url: "/me?user_id={{user}}", headers: {X-Token: "{{token}}"}}}]
`)
	res, err := Run(context.Background(), s, Options{Target: base, RunID: "us", Workers: 1, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	// The handler's appends reach this goroutine through the socket, which the race detector
	// does not see on the raw transport's reads: the mutex says it.
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	me := res.Summary.Steps["me"]
	browse := res.Summary.Journeys["browse"]
	if len(got) == 0 || me.Skipped == 0 || int64(len(got))+me.Skipped != browse.Count+me.Skipped {
		t.Fatalf("/me sent %d times, skipped %d: want both (the first arrivals find no token)", len(got), me.Skipped)
	}
	for _, v := range got {
		u, tok, _ := strings.Cut(v, "=")
		if tok != "T"+u {
			t.Errorf("user %s sent token %q", u, tok)
		}
	}
	if me.SkippedReasons["token: no value kept for this user yet (scope: user)"] != me.Skipped {
		t.Errorf("reasons %v", me.SkippedReasons)
	}
}

// FuzzRawAnswerHeaders: the raw transport hands a step's captures the headers and cookies
// net/http reads from the same answer.
func FuzzRawAnswerHeaders(f *testing.F) {
	f.Add("Location", "/orders/1", "SESSION=u1; Path=/", "location")
	f.Add("X-Token", "abc", `a="q"; Secure`, "X-TOKEN")
	f.Add("Retry-After", "3", "b=1", "retry-after")
	f.Add("Server-Timing", "app;dur=1.5", "b=1", "Server-Timing")
	f.Fuzz(func(t *testing.T, name, value, setCookie, asked string) {
		for _, s := range []string{name, value, setCookie, asked} {
			if strings.ContainsAny(s, "\r\n\x00") {
				return
			}
		}
		raw := "HTTP/1.1 200 OK\r\n" + name + ": " + value + "\r\nSet-Cookie: " + setCookie + "\r\nContent-Length: 2\r\n\r\n{}"
		ref, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
		if err != nil || strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding") ||
			strings.EqualFold(name, "Connection") || strings.EqualFold(name, "Set-Cookie") {
			return
		}
		a, perr := parseResponse([]byte(raw), false, false, nil, nil)
		if perr != nil || !a.done {
			return // the raw parser is stricter than net/http: an error is a failed request, not a wrong value
		}
		var w worker
		w.resp.SetBodyRaw(a.body)
		copyHeads(&w.resp, a.head, true)
		w.view.r = &w.resp
		for _, c := range []scenario.Capture{{Header: asked, As: "h"}, {Cookie: asked, As: "c"}} {
			r, err := scenario.CompileCapture(c)
			if err != nil {
				return
			}
			got, why := r.Append(nil, &w.view)
			var want string
			var ok bool
			if c.Header != "" {
				vs := ref.Header.Values(asked)
				if ok = len(vs) > 0; ok {
					want = vs[0]
				}
				if strings.EqualFold(asked, "Set-Cookie") {
					continue // kept as cookies
				}
			} else {
				for _, ck := range ref.Cookies() {
					if ck.Name == asked {
						want, ok = ck.Value, true
					}
				}
			}
			if len(want) > scenario.MaxCaptureLen {
				continue
			}
			if (why == "") != ok || string(got) != want {
				t.Fatalf("%+v in %q: got %q %q, net/http %q %v", c, raw, got, why, want, ok)
			}
		}
	})
}
