//go:build unix

package engine

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/valyala/fasthttp"
)

// readHTTPRequest reads one request with its Content-Length body from c; false at EOF.
func readHTTPRequest(c net.Conn, buf []byte) ([]byte, bool) {
	have := 0
	for {
		if i := bytes.Index(buf[:have], []byte("\r\n\r\n")); i >= 0 {
			cl := 0
			for _, line := range strings.Split(string(buf[:i]), "\r\n") {
				if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length: "); ok {
					cl, _ = strconv.Atoi(v)
				}
			}
			body := make([]byte, 0, cl)
			body = append(body, buf[i+4:have]...)
			for len(body) < cl {
				n, err := c.Read(buf)
				if err != nil {
					return nil, false
				}
				body = append(body, buf[:n]...)
			}
			return body, true
		}
		n, err := c.Read(buf[have:])
		if err != nil {
			return nil, false
		}
		have += n
	}
}

// TestRawIOWriteInsideRead: over TCP the request is written from inside the first read
// (rawIO). Answers that come late, in pieces, after a request too big for the socket's send
// buffer, and back to back on one connection all arrive; a connection the server closes and
// one it never answers end in their error classes by the deadline, without hanging.
func TestRawIOWriteInsideRead(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			body, ok := readHTTPRequest(c, buf)
			if !ok {
				return
			}
			switch {
			case bytes.HasPrefix(body, []byte("slow")):
				time.Sleep(50 * time.Millisecond)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
			case bytes.HasPrefix(body, []byte("pieces")):
				io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Le")
				time.Sleep(30 * time.Millisecond)
				io.WriteString(c, "ngth: 6\r\n\r\npie")
				time.Sleep(30 * time.Millisecond)
				io.WriteString(c, "ces")
			case bytes.HasPrefix(body, []byte("close")):
				return
			case bytes.HasPrefix(body, []byte("never")):
				time.Sleep(time.Second)
				return
			default:
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d", len(strconv.Itoa(len(body))), len(body))
			}
		}
	})
	rc := newRawConn(addr, &rawConfig{timeout: 300 * time.Millisecond})
	defer rc.close()
	postOn := func(rc *rawConn, body []byte) (*fasthttp.Response, error) {
		var req fasthttp.Request
		req.SetRequestURI("http://" + addr + "/x")
		req.Header.SetMethod("POST")
		req.SetBody(body)
		resp := new(fasthttp.Response)
		return resp, rc.do(&req, resp, monoNow())
	}
	post := func(body []byte) (*fasthttp.Response, error) { return postOn(rc, body) }
	checkOn := func(rc *rawConn, body []byte, status int, want string) {
		t.Helper()
		resp, err := postOn(rc, body)
		if err != nil || resp.StatusCode() != status || string(resp.Body()) != want {
			t.Fatalf("%.10q: %v %d %q, want %d %q", body, err, resp.StatusCode(), resp.Body(), status, want)
		}
		if rc.io == nil {
			t.Fatal("a TCP connection without its raw access: the write-inside-read path is not taken")
		}
	}
	check := func(body []byte, status int, want string) { t.Helper(); checkOn(rc, body, status, want) }
	check([]byte("x"), 200, "1")
	c := rc.c
	for i := 0; i < 2000; i++ { // an answer missed by the poller would wait for the deadline
		check([]byte("x"), 200, "1")
	}
	check([]byte("slow"), 200, "slow")
	check([]byte("pieces"), 201, "pieces")
	if rc.c != c {
		t.Fatal("the connection was not kept alive across the exchanges")
	}
	// 32 MiB is more than a loopback send buffer takes at once, so the write goes out in parts
	// between reads. Its own connection has a deadline that a loaded machine under the race
	// detector meets: 300 ms did not always carry 32 MiB through the test server's reads.
	bigRC := newRawConn(addr, &rawConfig{timeout: 20 * time.Second})
	defer bigRC.close()
	big := bytes.Repeat([]byte("b"), 32<<20)
	checkOn(bigRC, []byte("x"), 200, "1")
	bc := bigRC.c
	checkOn(bigRC, big, 200, strconv.Itoa(len(big)))
	checkOn(bigRC, []byte("x"), 200, "1")
	if bigRC.c != bc {
		t.Fatal("the connection was not kept alive across the large exchange")
	}
	for _, tc := range []struct {
		body string
		want outcome.ErrorClass
		max  time.Duration
	}{{"close", outcome.ErrReset, 200 * time.Millisecond}, {"never", outcome.ErrTimeout, time.Second}} {
		start := time.Now()
		_, err := post([]byte(tc.body))
		if got := classifyErr(err); got != tc.want || time.Since(start) > tc.max {
			t.Fatalf("%s: %v (class %s) after %v, want %s within %v", tc.body, err, got, time.Since(start), tc.want, tc.max)
		}
		if rc.c != nil {
			t.Fatalf("%s: the connection was kept after an error", tc.body)
		}
	}
}
