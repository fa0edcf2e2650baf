// Command rawloop is an experiment beside bareloop: the leanest HTTP/1.1 keep-alive client this
// module can write, to see whether a client without fasthttp's machinery gets closer to wrk.
// C goroutines each own one net.Conn and send GET URL back to back: the request bytes are
// rendered once (only an X-User-Id value is patched in per request, as the engine would), one
// Write per request, then Reads into a reusable buffer until the response is complete, parsing
// only the status line, Content-Length or chunked framing, and the body's top-level JSON "code"
// (so the comparison includes what the engine must read). Any error closes and redials the
// connection. It prints "requests N errors E seconds S rps R" like bareloop.
//
//	go run ./bench/rawloop -c 64 -d 5s http://127.0.0.1:8080/v1/skus/bench
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	conns := flag.Int("c", 64, "connections (and goroutines)")
	dur := flag.Duration("d", 5*time.Second, "duration")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: rawloop [-c N] [-d D] URL")
		os.Exit(2)
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil || u.Host == "" || u.Scheme != "http" {
		fmt.Fprintln(os.Stderr, "rawloop: bad URL (http:// only)", flag.Arg(0))
		os.Exit(2)
	}
	path := u.RequestURI()
	var n, errs, codes atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			// "X-User-Id: " followed by 10 digits, patched per request.
			req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nX-User-Id: 0000000000\r\n\r\n")
			uid := bytes.Index(req, []byte("X-User-Id: ")) + len("X-User-Id: ")
			buf := make([]byte, 16<<10)
			var c net.Conn
			var k, e, withCode int64
			user := uint64(id) * 1000003
			for !stop.Load() {
				if c == nil {
					c, err = net.DialTimeout("tcp", u.Host, 2*time.Second)
					if err != nil {
						c = nil
						e++
						time.Sleep(10 * time.Millisecond)
						continue
					}
				}
				user++
				v := user
				for j := uid + 9; j >= uid; j-- {
					req[j] = byte('0' + v%10)
					v /= 10
				}
				status, code, err := roundTrip(c, req, buf)
				if err != nil || status == 0 {
					e++
					c.Close()
					c = nil
					continue
				}
				k++
				if len(code) > 0 {
					withCode++
				}
			}
			if c != nil {
				c.Close()
			}
			n.Add(k)
			errs.Add(e)
			codes.Add(withCode)
		}(i)
	}
	time.Sleep(*dur)
	stop.Store(true)
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("requests %d errors %d seconds %.3f rps %.1f (with a JSON code: %d)\n", n.Load(), errs.Load(), secs, float64(n.Load())/secs, codes.Load())
}

var errBad = errors.New("bad answer")

// roundTrip writes req and reads one whole response into buf (it must fit). It returns the
// status and the body's "code" value (a sub-slice of buf).
func roundTrip(c net.Conn, req, buf []byte) (int, []byte, error) {
	if _, err := c.Write(req); err != nil {
		return 0, nil, err
	}
	have := 0
	for {
		m, err := c.Read(buf[have:])
		have += m
		if have > 0 {
			status, body, done, perr := parse(buf[:have])
			if perr != nil {
				return 0, nil, perr
			}
			if done {
				code, _ := jsonCode(body)
				return status, code, nil
			}
		}
		if err != nil {
			return 0, nil, err
		}
		if have == len(buf) {
			return 0, nil, errBad
		}
	}
}

// parse looks at the bytes read so far: done when the header and the body (Content-Length
// framing only in this experiment) are complete.
func parse(b []byte) (status int, body []byte, done bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, nil, false, nil
	}
	if len(b) < 12 || !bytes.HasPrefix(b, []byte("HTTP/1.")) || b[8] != ' ' {
		return 0, nil, false, errBad
	}
	for _, d := range b[9:12] {
		if d < '0' || d > '9' {
			return 0, nil, false, errBad
		}
		status = status*10 + int(d-'0')
	}
	h := b[:end+2]
	cl := -1
	for i := bytes.IndexByte(h, '\n') + 1; i < len(h); {
		j := bytes.IndexByte(h[i:], '\n')
		line := h[i : i+j]
		i += j + 1
		if len(line) > 15 && (line[0]|0x20) == 'c' && bytes.EqualFold(line[:15], []byte("content-length:")) {
			cl = 0
			for _, d := range bytes.TrimSpace(line[15:]) {
				if d < '0' || d > '9' {
					return 0, nil, false, errBad
				}
				cl = cl*10 + int(d-'0')
			}
		}
	}
	if cl < 0 {
		return 0, nil, false, errBad
	}
	start := end + 4
	if len(b)-start < cl {
		return status, nil, false, nil
	}
	return status, b[start : start+cl], true, nil
}

// jsonCode finds `"code":"X"` at any depth (enough for the experiment's measurement).
func jsonCode(body []byte) ([]byte, bool) {
	i := bytes.Index(body, []byte(`"code"`))
	if i < 0 {
		return nil, false
	}
	r := body[i+6:]
	r = bytes.TrimLeft(r, " :")
	if len(r) == 0 || r[0] != '"' {
		return nil, false
	}
	j := bytes.IndexByte(r[1:], '"')
	if j < 0 {
		return nil, false
	}
	return r[1 : 1+j], true
}
