package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

var rawCases = []struct {
	name       string
	in         string
	head, eof  bool
	status     int
	body       string
	retryAfter string
	timing     string // Server-Timing
	replica    string // X-Flashload-Replica
	close      bool
}{
	{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"code\":\"RESERVED\"}", status: 200, body: `{"code":"RESERVED"}`},
	{name: "chunked", in: "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"cod\r\na;ext=1\r\ne\":\"SOLD_O\r\n3\r\nUT\"\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n", status: 409, body: `{"code":"SOLD_OUT"}`},
	{name: "retry-after and close", in: "HTTP/1.1 429 Too Many Requests\r\nretry-after: 2\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}", status: 429, body: "{}", retryAfter: "2", close: true},
	{name: "server-timing", in: "HTTP/1.1 200 OK\r\nserver-timing:  app;dur=1.250 \r\nContent-Length: 2\r\n\r\n{}", status: 200, body: "{}", timing: "app;dur=1.250"},
	{name: "two server-timing headers", in: "HTTP/1.1 503 Service Unavailable\r\nServer-Timing: cache;desc=miss\r\nRetry-After: 1\r\nSERVER-TIMING: app;dur=2\r\nContent-Length: 0\r\n\r\n", status: 503, retryAfter: "1", timing: "cache;desc=miss"},
	{name: "replica", in: "HTTP/1.1 200 OK\r\nx-flashload-replica: replica-3 \r\nContent-Length: 2\r\nX-Flashload-Replica: replica-4\r\n\r\n{}", status: 200, body: "{}", replica: "replica-3"},
	{name: "no content", in: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
	{name: "head", in: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", head: true, status: 200},
	{name: "continue first", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", status: 201},
	{name: "until close", in: "HTTP/1.0 200 OK\r\n\r\nhello", eof: true, status: 200, body: "hello", close: true},
	{name: "status without reason", in: "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", status: 503},
}

var replicaLower = []byte("x-flashload-replica")

func TestParseResponse(t *testing.T) {
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			a, err := parseResponse([]byte(c.in), c.head, c.eof, nil, replicaLower)
			if err != nil || !a.done {
				t.Fatalf("done %v err %v", a.done, err)
			}
			if a.status != c.status || string(a.body) != c.body || string(a.heads.retryAfter) != c.retryAfter || string(a.heads.serverTiming) != c.timing ||
				string(a.heads.replica) != c.replica || a.close != c.close {
				t.Fatalf("got status %d body %q retry-after %q server-timing %q replica %q close %v", a.status, a.body, a.heads.retryAfter, a.heads.serverTiming, a.heads.replica, a.close)
			}
			if b, _ := parseResponse([]byte(c.in), c.head, c.eof, nil, nil); b.heads.replica != nil {
				t.Fatalf("replica %q read without a header name", b.heads.replica)
			}
			if a.n != len(c.in) {
				t.Fatalf("used %d of %d bytes", a.n, len(c.in))
			}
			// Split reads: every shorter prefix asks for more bytes, or (at EOF) is a cut answer.
			for k := 0; k < len(c.in); k++ {
				p, err := parseResponse([]byte(c.in[:k]), c.head, false, nil, nil)
				if c.eof && err == nil && !p.done {
					continue
				}
				if err != nil || p.done {
					t.Fatalf("prefix %d: done %v err %v", k, p.done, err)
				}
				if _, err := parseResponse([]byte(c.in[:k]), c.head, true, nil, nil); !c.eof && classifyErr(err) != outcome.ErrReset {
					t.Fatalf("prefix %d at EOF: %v, want a reset", k, err)
				}
			}
		})
	}
}

func TestParseResponseGarbage(t *testing.T) {
	for _, in := range []string{
		"garbage\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
	} {
		_, err := parseResponse([]byte(in), false, false, nil, nil)
		if classifyErr(err) != outcome.ErrBadAnswer {
			t.Errorf("%q: %v, want bad_answer", in, err)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, c := range rawCases {
		f.Add([]byte(c.in), c.head, c.eof)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), false, false)
	f.Add([]byte("garbage\r\n\r\n"), false, true)
	f.Fuzz(func(t *testing.T, in []byte, head, eof bool) {
		a, err := parseResponse(in, head, eof, nil, replicaLower)
		if err != nil {
			if c := classifyErr(err); c != outcome.ErrBadAnswer && c != outcome.ErrReset {
				t.Fatalf("error class %s (%v)", c, err)
			}
			return
		}
		if !a.done {
			return
		}
		if a.n > len(in) || a.status < 200 || a.status > 999 || len(a.body) > len(in) {
			t.Fatalf("answer %+v from %d bytes", a, len(in))
		}
		// A header value is within one line of the answer's head, trimmed (a bare CR inside a
		// line is kept: lines end at LF).
		for _, v := range [][]byte{a.heads.retryAfter, a.heads.serverTiming, a.heads.replica} {
			if bytes.ContainsRune(v, '\n') || len(bytes.TrimSpace(v)) != len(v) || !bytes.Contains(in[:a.n], v) {
				t.Fatalf("header value %q from %q", v, in[:a.n])
			}
		}
		// The answer's own bytes parse to the same answer.
		b, err := parseResponse(in[:a.n], head, eof, nil, replicaLower)
		if err != nil || !b.done || b.status != a.status || !bytes.Equal(b.body, a.body) || !bytes.Equal(b.heads.serverTiming, a.heads.serverTiming) ||
			!bytes.Equal(b.heads.replica, a.heads.replica) {
			t.Fatalf("re-parse of %d bytes: %+v %v, first %+v", a.n, b, err, a)
		}
	})
}

// monoEpoch is the origin of monoNow, the tests' monotonic clock for rawConn's exchanges.
var monoEpoch = time.Now()

func monoNow() time.Duration { return time.Since(monoEpoch) }

func rawDo(t *testing.T, rc *rawConn, url string) (*fasthttp.Response, error) {
	t.Helper()
	var req fasthttp.Request
	req.SetRequestURI(url)
	req.Header.Set("X-User-Id", "7")
	resp := new(fasthttp.Response)
	return resp, rc.do(&req, resp, monoNow())
}

func TestRawConnKeepAliveAndChunked(t *testing.T) {
	var conns, gotUA atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "flashload" && r.Header.Get("X-User-Id") == "7" {
			gotUA.Add(1)
		}
		switch r.URL.Path {
		case "/chunked":
			w.WriteHeader(201)
			fmt.Fprint(w, `{"code":`)
			w.(http.Flusher).Flush()
			fmt.Fprint(w, `"RESERVED"}`)
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.Header().Set("Server-Timing", "app;dur=0.125")
			w.WriteHeader(503)
			fmt.Fprint(w, `{"code":"SHED"}`)
		default:
			fmt.Fprint(w, `{"code":"OK"}`)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	rc := newRawConn(srv.Listener.Addr().String(), &rawConfig{timeout: 5 * time.Second})
	defer rc.close()
	for i := 0; i < 20; i++ {
		path, status, body := "/plain", 200, `{"code":"OK"}`
		switch i % 3 {
		case 1:
			path, status, body = "/chunked", 201, `{"code":"RESERVED"}`
		case 2:
			path, status, body = "/busy", 503, `{"code":"SHED"}`
		}
		resp, err := rawDo(t, rc, srv.URL+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if resp.StatusCode() != status || string(resp.Body()) != body {
			t.Fatalf("%s: %d %q", path, resp.StatusCode(), resp.Body())
		}
		if status == 503 && string(rc.got.retryAfter) != "3" {
			t.Fatalf("Retry-After %q", rc.got.retryAfter)
		}
		if st := rc.got.serverTiming; (status == 503) != (string(st) == "app;dur=0.125") {
			t.Fatalf("%s: Server-Timing %q", path, st)
		}
	}
	if conns.Load() != 1 || gotUA.Load() != 20 {
		t.Fatalf("%d connections (want 1), %d requests with the User-Agent and header (want 20)", conns.Load(), gotUA.Load())
	}
}

// rawServer accepts connections and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

func readRequest(c net.Conn) {
	buf := make([]byte, 4096)
	have := 0
	for !bytes.Contains(buf[:have], []byte("\r\n\r\n")) {
		n, err := c.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
	}
}

func TestRawConnErrorClasses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	stall := make(chan struct{})
	defer close(stall)
	cases := map[string]struct {
		addr string
		want outcome.ErrorClass
	}{
		"refused": {refused, outcome.ErrRefused},
		"timeout": {rawServer(t, func(c net.Conn) { readRequest(c); <-stall; c.Close() }), outcome.ErrTimeout},
		"reset": {rawServer(t, func(c net.Conn) {
			readRequest(c)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}), outcome.ErrReset},
		"cut": {rawServer(t, func(c net.Conn) {
			readRequest(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			c.Close()
		}), outcome.ErrReset},
		"garbage": {rawServer(t, func(c net.Conn) {
			readRequest(c)
			io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
			<-stall
			c.Close()
		}), outcome.ErrBadAnswer},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rc := newRawConn(c.addr, &rawConfig{timeout: 300 * time.Millisecond})
			_, err := rawDo(t, rc, "http://"+c.addr+"/v1/skus/x")
			if got := classifyErr(err); got != c.want {
				t.Fatalf("%v: class %s, want %s", err, got, c.want)
			}
			if rc.c != nil {
				t.Fatal("the connection was kept after an error")
			}
		})
	}
}

func BenchmarkParseResponse(b *testing.B) {
	in := []byte("HTTP/1.1 200 OK\r\nServer: flashload\r\nDate: Sun, 22 Nov 2026 14:29:17 GMT\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"code\":\"RESERVED\"}")
	b.ReportAllocs()
	for b.Loop() {
		if a, err := parseResponse(in, false, false, nil, nil); err != nil || !a.done {
			b.Fatal(a, err)
		}
	}
}

// BenchmarkRawConn is one round trip over the raw transport to a fasthttp server on loopback
// (compare BenchmarkHostClient: the same exchange through fasthttp's HostClient).
func BenchmarkRawConn(b *testing.B) {
	addr := benchServer(b)
	rc := newRawConn(addr, &rawConfig{timeout: 5 * time.Second})
	defer rc.close()
	var req fasthttp.Request
	var resp fasthttp.Response
	req.SetRequestURI("http://" + addr + "/v1/skus/bench")
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		if err := rc.do(&req, &resp, monoNow()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostClient(b *testing.B) {
	addr := benchServer(b)
	hc := newHostClient(targetURL{Host: addr}, clientSizing{MaxConns: 1, Timeout: 5 * time.Second, ConnWaitTimeout: time.Second})
	var req fasthttp.Request
	var resp fasthttp.Response
	req.SetRequestURI("http://" + addr + "/v1/skus/bench")
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		if err := hc.Do(&req, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"sku":"bench","price":1,"available":1000,"code":"OK"}`)
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go s.Serve(ln)
	b.Cleanup(func() { s.Shutdown() })
	return ln.Addr().String()
}

// TestRawRenderMatchesFastHTTP: the same journeys sent over the raw transport (requests
// rendered by sendRaw) and through fasthttp reach the server as the same requests.
func TestRawRenderMatchesFastHTTP(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %s host=%s ua=%s user=%s key=%s ct=%s cl=%d body=%s", r.Method, r.URL.RequestURI(), r.Host,
			r.Header.Get("User-Agent"), r.Header.Get("X-User-Id"), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), r.ContentLength, body))
		mu.Unlock()
		w.WriteHeader(409)
		io.WriteString(w, `{"code":"SOLD_OUT"}`)
	}))
	defer srv.Close()
	s := mustParse(t, `
name: render
duration: 1s
skus: [{sku: mug-1, stock: 10, price: 20}]
traffic: {arrivals: uniform, start_rps: 100, stages: [{duration: 1s, rps: 100}]}
journeys:
  - {name: viewer, steps: [{view: {sku: mug-1}}]}
  - {name: buyer, steps: [{purchase: {sku: mug-1, qty: 2}}]}
`)
	runWith := func(fast bool, conns int) []string {
		mu.Lock() // the handler's appends come through the socket, unseen by the race detector
		got = nil
		mu.Unlock()
		_, err := Run(context.Background(), s, Options{Target: srv.URL, NoPreflight: true, NoAudit: true, RunID: "r1",
			Workers: 32, MaxConns: conns, FastHTTPOnly: fast})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		out := append([]string(nil), got...)
		sort.Strings(out)
		return out
	}
	raw, fast, pooled := runWith(false, 32), runWith(true, 32), runWith(false, 4)
	if len(raw) != 100 || !slices.Equal(raw, fast) {
		t.Fatalf("%d requests raw, %d fasthttp; first raw %q, first fasthttp %q", len(raw), len(fast), raw[:min(1, len(raw))], fast[:min(1, len(fast))])
	}
	if !slices.Equal(pooled, fast) {
		t.Fatalf("%d requests raw pooled, %d fasthttp; first pooled %q", len(pooled), len(fast), pooled[:min(1, len(pooled))])
	}
	if !strings.Contains(strings.Join(raw, "\n"), `body={"qty":2}`) {
		t.Fatalf("no purchase among %q", raw[:3])
	}
}

// TestServerTimingOverFastHTTP: the fasthttp client keeps header names as sent, so a Server-Timing
// or Retry-After that a proxy lowercased is found by folding case, as the raw transport finds it.
func TestServerTimingOverFastHTTP(t *testing.T) {
	for name, head := range map[string]string{"canonical": "Server-Timing", "lowercase": "server-timing", "none": "X-Other"} {
		t.Run(name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) {
				defer c.Close()
				readRequest(c)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%s: app;dur=4.5\r\n%s: 7\r\nContent-Length: 2\r\n\r\n{}",
					head, strings.Replace(strings.Replace(head, "Server-Timing", "Retry-After", 1), "server-timing", "retry-after", 1))
			})
			hc := newHostClient(targetURL{Host: addr}, clientSizing{MaxConns: 1, Timeout: 5 * time.Second, ConnWaitTimeout: time.Second})
			var req fasthttp.Request
			var resp fasthttp.Response
			req.SetRequestURI("http://" + addr + "/")
			if err := hc.Do(&req, &resp); err != nil {
				t.Fatal(err)
			}
			d, ok := scenario.ParseServerTiming(answerHeader(&resp.Header, "Server-Timing", hdrServerTiming))
			if want := name != "none"; ok != want || want && d != 4500*time.Microsecond {
				t.Fatalf("server time %v %v from %s", d, ok, head)
			}
			ra := answerHeader(&resp.Header, "Retry-After", hdrRetryAfter)
			if want := name != "none"; (string(ra) == "7") != want {
				t.Fatalf("Retry-After %q from %s", ra, head)
			}
		})
	}
}
