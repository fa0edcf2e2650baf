// Package web serves a run's live page: `--web ADDR` on run, rehearse and watch. The page is
// report/web/ui's front-end (the one report.html uses) fed by server-sent events of the same
// snapshots the terminal dashboard draws. Data enters through Watch (a snapshot source, polled
// once per Interval from the server's own goroutine, however many pages are open) and Finish
// (the finished run's summary and its report.html); what leaves is HTTP:
//
//	GET  /              the page
//	GET  /events        text/event-stream: hello (the run so far), snapshot (each poll), result, bye
//	GET  /summary.json  the finished run's summary (404 until then)
//	GET  /report.html   the finished run's report (404 until then)
//	POST /stop          what q does on the dashboard (only with a token)
//
// On a loopback address no token is needed, and requests must name a loopback host (a DNS
// rebinding page cannot reach the server). Any other address needs Options.Token, and then
// every request must carry it (?token=, the X-Flashload-Token header, or a bearer
// Authorization); only then does the page offer the stop button. Nothing else on the page
// changes the run.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flashload/flashload/report/web/ui"
	"github.com/flashload/flashload/result"
)

// Defaults of Options.
const (
	DefaultInterval = time.Second     // how often Watch reads the run's snapshot
	DefaultLinger   = 5 * time.Second // how long Close waits for open pages to keep the report
	DefaultPing     = 15 * time.Second
)

// TokenHeader carries the token when a query parameter will not do (the stop button).
const TokenHeader = "X-Flashload-Token"

// ErrNeedsToken is Listen's answer to a non-loopback address without a token.
var ErrNeedsToken = errors.New("--web on an address other than loopback needs --web-token (the page shows the run to whoever reaches it)")

// Options configure the server; zero values take the defaults.
type Options struct {
	// Token, when set, is required on every request and enables the stop button. Required on an
	// address other than loopback.
	Token    string
	Interval time.Duration // how often Watch polls its source (DefaultInterval)
	Linger   time.Duration // Close waits at most this long for pages to fetch the report (DefaultLinger)
	Ping     time.Duration // a comment on idle streams, so proxies keep them (DefaultPing)
}

// Server is the live page's HTTP server. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	ln       net.Listener
	http     *http.Server
	loopback bool
	page     []byte
	closing  chan struct{}
	served   chan struct{}

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	run      int           // incremented by each Watch: pages start their charts afresh
	tick     uint64        // incremented by each poll
	snap     []byte        // the last snapshot, encoded
	hist     []histPoint   // the current run's timeline, by wall
	stop     func()
	result   []byte // the result event, nil until Finish
	summary  []byte
	report   string              // report.html's path
	awaiting map[string]bool     // clients sent the result, by id: whether they fetched the report
	clients  map[string]struct{} // open streams
}

type histPoint struct {
	p   result.TimelinePoint
	ver uint64 // the tick that last changed it
}

// Listen checks addr (loopback, or a token), listens and starts serving. ADDR is HOST:PORT;
// port 0 picks a free one (URL tells which).
func Listen(addr string, o Options) (*Server, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.Ping <= 0 {
		o.Ping = DefaultPing
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--web %q: want HOST:PORT: %w", addr, err)
	}
	loop := IsLoopbackHost(host)
	if !loop && o.Token == "" {
		return nil, ErrNeedsToken
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--web: %w", err)
	}
	s := &Server{opts: o, ln: ln, loopback: loop, closing: make(chan struct{}), served: make(chan struct{}),
		changed: make(chan struct{}), awaiting: map[string]bool{}, clients: map[string]struct{}{}}
	if s.page, err = livePage(); err != nil {
		ln.Close()
		return nil, err
	}
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.http.Serve(ln) // ErrServerClosed after Close
	}()
	return s, nil
}

// IsLoopbackHost says whether host (of HOST:PORT) is only reachable from this machine:
// localhost, or an IP address in 127.0.0.0/8 or ::1. "" and 0.0.0.0 (every interface) are not.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the page's address (without the token).
func (s *Server) URL() string {
	a := s.ln.Addr().(*net.TCPAddr)
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port)) + "/"
}

// Watch shows a run: it reads source at once and then every Interval until ctx is done or a
// snapshot says Done (each read goes to every open page), and offers stop (with a token) while
// it runs. source must be cheap and safe to call from another goroutine (Recorder.Snapshot).
// Each Watch is a new run on the page (rehearse plays one per strategy).
func (s *Server) Watch(ctx context.Context, source func() result.Snapshot, stop func()) {
	s.mu.Lock()
	s.run++
	s.hist, s.result, s.summary, s.report, s.snap = nil, nil, nil, "", nil
	s.stop = stop
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stop = nil
		s.mu.Unlock()
	}()
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		sn := source()
		select {
		case <-ctx.Done():
			sn.Done = true // the load is over: what follows is the audit and the report
		default:
		}
		s.publish(sn)
		if sn.Done {
			return
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// publish merges a snapshot into the run's state and wakes the streams.
func (s *Server) publish(sn result.Snapshot) {
	b, err := json.Marshal(wireSnap(sn))
	if err != nil {
		return // numbers are made finite first: this does not happen
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick++
	s.snap = b
	s.merge(sn.Timeline)
	s.notifyLocked()
}

// merge keeps the run's whole timeline: a snapshot carries its last windows only. A window
// already held is replaced when it changed (late answers, a generator's late window).
func (s *Server) merge(tl []result.TimelinePoint) {
	for _, p := range tl {
		i := len(s.hist)
		for i > 0 && s.hist[i-1].p.Wall >= p.Wall {
			i--
		}
		switch {
		case i < len(s.hist) && s.hist[i].p.Wall == p.Wall:
			if !samePoint(&s.hist[i].p, &p) {
				s.hist[i] = histPoint{p: p, ver: s.tick}
			}
		case i == len(s.hist):
			s.hist = append(s.hist, histPoint{p: p, ver: s.tick})
		default: // a window the snapshots skipped: keep the order
			s.hist = append(s.hist, histPoint{})
			copy(s.hist[i+1:], s.hist[i:])
			s.hist[i] = histPoint{p: p, ver: s.tick}
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Finish hands the page the finished run: its summary (served as summary.json, shown as the
// result) and its report.html (linked; "" when none was written). Call it after the last Watch
// of the run returned.
func (s *Server) Finish(sum *result.Summary, reportPath string) error {
	js, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("web: summary: %w", err)
	}
	ev := resultEvent{Summary: json.RawMessage(js), Audit: auditText(&sum.Audit), Gates: gateRows(sum.Gates)}
	if reportPath != "" {
		ev.Report = "report.html"
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("web: result: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.result, s.summary, s.report = b, js, reportPath
	if reportPath != "" {
		// Every open page is about to be shown the result: Close waits for each to keep the report.
		for id := range s.clients {
			s.awaiting[id] = false
		}
	}
	s.notifyLocked()
	return nil
}

// Close tells every page that the process is ending, waits (at most Linger) for pages that
// were shown the result to keep a copy of report.html, and stops the server.
func (s *Server) Close() error {
	select {
	case <-s.closing:
		return nil
	default:
	}
	close(s.closing)
	deadline := time.Now().Add(s.opts.Linger)
	for time.Now().Before(deadline) && s.waiting() {
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	<-s.served
	return err
}

// waiting says whether a page shown the result has not fetched the report yet.
func (s *Server) waiting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.report == "" {
		return false
	}
	for _, fetched := range s.awaiting {
		if !fetched {
			return true
		}
	}
	return false
}

// Handler is the server's routes behind the token or loopback host check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /summary.json", s.serveSummary)
	mux.HandleFunc("GET /report.html", s.serveReport)
	mux.HandleFunc("POST /stop", s.serveStop)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return s.guard(mux)
}

// guard refuses a request without the token (when there is one) or, on loopback without one,
// naming a host other than loopback.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token != "" {
			if !s.hasToken(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="flashload"`)
				http.Error(w, "this page needs its token: open it as /?token=TOKEN (flashload's --web-token)", http.StatusUnauthorized)
				return
			}
		} else if host, _, err := net.SplitHostPort(r.Host); !IsLoopbackHost(r.Host) && (err != nil || !IsLoopbackHost(host)) {
			http.Error(w, "this page answers only to a loopback host name (localhost, 127.0.0.1, [::1])", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", ui.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hasToken(r *http.Request) bool {
	got := r.URL.Query().Get("token")
	if got == "" {
		got = r.Header.Get(TokenHeader)
	}
	if got == "" {
		if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = a
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(s.page)
}

func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b := s.summary
	s.mu.Unlock()
	if b == nil {
		http.Error(w, "summary.json: the run has not finished", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	path := s.report
	s.mu.Unlock()
	if path == "" {
		http.Error(w, "report.html: the run has not finished", http.StatusNotFound)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		http.Error(w, "report.html: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// The report's own policy (a meta element) applies to it; the server's would too.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
	if id := r.URL.Query().Get("client"); id != "" {
		s.mu.Lock()
		if _, ok := s.awaiting[id]; ok {
			s.awaiting[id] = true
		}
		s.mu.Unlock()
	}
}

func (s *Server) serveStop(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" {
		http.Error(w, "stop needs the server's token (--web-token)", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	if stop == nil {
		http.Error(w, "no run to stop", http.StatusConflict)
		return
	}
	go stop() // stop may wait for the run to wind down; the page learns of it from the stream
	w.WriteHeader(http.StatusAccepted)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var pageTmpl = template.Must(template.New("live").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>flashload: live</title>
{{.Head}}
</head>
<body class="live">
<header><div><h1>flashload: <span id="name">waiting for the run</span></h1><p class="meta" id="meta"></p></div>
<div><span id="status" class="status dim">connecting</span> <button id="stop" type="button" hidden>Stop the run</button></div></header>
<p id="clocks"></p><progress id="progress" max="1" value="0"></progress><p class="note" id="next"></p>
<div id="result" hidden></div>
<div id="figures"></div>
<div id="gates" hidden></div>
<p class="note">hover for the values at a time; drag across a chart to zoom in, double-click to zoom out; click a legend entry to hide or show its line</p>
<div id="charts"></div>
<div class="panels"><div id="latency"></div><div id="answers"></div><div id="sale"></div><div id="replicas" hidden></div><div id="faults" hidden></div><div id="generators" hidden></div><div id="push" hidden></div><div id="warnings" hidden></div></div>
<noscript><p>the live page needs JavaScript; summary.json and report.html are served once the run has finished</p></noscript>
{{.Data}}
{{.Scripts}}
</body>
</html>
`))

func livePage() ([]byte, error) {
	data, err := ui.Data(map[string]string{"mode": "live"})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = pageTmpl.Execute(&b, map[string]any{"Head": ui.Head(), "Scripts": ui.Scripts(), "Data": data})
	return b.Bytes(), err
}
