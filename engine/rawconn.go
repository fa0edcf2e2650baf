package engine

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// The raw transport: plain-HTTP (http://) requests to the target skip fasthttp's HostClient and
// go over a keep-alive net.Conn of the engine's own (rawConn), which a worker owns (MaxConns ≥
// Workers) or borrows from a pool (fewer connections than workers; see transport.go). The
// request is rendered by sendRaw, or serialized by fasthttp (so its bytes are exactly what the
// HostClient would send), into a reusable buffer, written with one write (over TCP from inside
// the first read: rawio_unix.go), and the answer is read into a reusable buffer and parsed by
// parseResponse (status, Content-Length or chunked or until-close framing, Retry-After,
// Server-Timing, the replica header, Connection: close). The answer is then handed to the caller
// as a fasthttp.Response (status, body by reference; other headers only for a step that
// captures one or keeps cookies) with the three header values the engine reads beside it
// (answerHeads), so everything after the transport is shared with fasthttp, which stays the
// client for https, FastHTTPOnly runs and request steps to other hosts.

const (
	rawMaxAnswer = 4 << 20          // like the HostClient's MaxResponseBodySize
	rawMaxIdle   = 10 * time.Second // a connection idle longer is redialed before use
)

var errBadAnswer = errors.New("cannot parse the answer")

// rawConfig is what every raw connection of a run shares: its timeout, its recycling and the
// header that names the replica that answered.
type rawConfig struct {
	timeout time.Duration
	recycle recycle
	// replicaLower is the replica header's name in lower case, as parseResponse looks for it;
	// nil: not read.
	replicaLower []byte
}

// rawConn is one connection to the target, used by one worker at a time (its owner, or the
// borrower from the pool). Not safe for concurrent use.
type rawConn struct {
	addr string
	cfg  *rawConfig
	dial func(addr string) (net.Conn, error) // nil: TCP with the timeout (tests replace it)
	c    net.Conn
	io   *rawIO // c's syscall access (TCP): the request is written inside the first read
	// The connection's current deadline, the start of its last exchange and when it was
	// dialled, on the caller's monotonic clock (the run's): the exchange reads no clock itself.
	deadline, used, born time.Duration
	requests             int    // exchanges completed on c
	gen                  uint64 // the Options.Active generation of its last use (rawPool)
	out                  rawBuf
	bw                   *bufio.Writer
	in                   []byte
	body                 []byte // a chunked answer's decoded body
	// heads: the exchange's answer keeps all its headers in resp (a step that captures one);
	// else only Set-Cookie.
	heads bool
	got   rawHeads // the last answer's headers the engine reads, in rc.in until the next exchange
}

// rawBuf is the io.Writer the request is serialized into.
type rawBuf struct{ b []byte }

func (w *rawBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func newRawConn(addr string, cfg *rawConfig) *rawConn {
	rc := &rawConn{addr: addr, cfg: cfg, in: make([]byte, 8<<10)}
	rc.bw = bufio.NewWriterSize(&rc.out, 4<<10)
	return rc
}

func (rc *rawConn) close() {
	if rc != nil && rc.c != nil {
		rc.c.Close()
		rc.c, rc.io = nil, nil
	}
}

// do sends req and fills resp (its body refers to rc's buffers until the next do). now is the
// time on the caller's monotonic clock. Any error closes the connection; the next do dials
// again. No retry: the engine retries by its rules.
func (rc *rawConn) do(req *fasthttp.Request, resp *fasthttp.Response, now time.Duration) error {
	req.Header.DisableNormalizing() // as the HostClient's DisableHeaderNamesNormalizing
	req.URI().DisablePathNormalizing = true
	if len(req.Header.UserAgent()) == 0 {
		req.Header.SetUserAgent("flashload") // what the HostClient (Name "flashload") sends
	}
	rc.out.b = rc.out.b[:0]
	if err := req.Write(rc.bw); err != nil {
		return err
	}
	if err := rc.bw.Flush(); err != nil {
		return err
	}
	return rc.send(req.Header.IsHead(), resp, now)
}

// send writes the request already in rc.out and reads its answer into resp; now as for do.
func (rc *rawConn) send(head bool, resp *fasthttp.Response, now time.Duration) error {
	timeout := rc.cfg.timeout
	if rc.c != nil && (now-rc.used > rawMaxIdle || rc.cfg.recycle.aged(now-rc.born)) {
		rc.close() // idle too long, or aged while idle: the next request opens a new one
	}
	if rc.c == nil {
		var c net.Conn
		var err error
		if rc.dial != nil {
			c, err = rc.dial(rc.addr)
		} else {
			c, err = net.DialTimeout("tcp", rc.addr, timeout)
		}
		if err != nil {
			return err
		}
		rc.c, rc.born, rc.requests = c, now, 0
		rc.io = newRawIO(c)
		rc.deadline = 0
	}
	// The deadline is moved only when less than the timeout is left, so a request always has
	// between 1 and 1.25 timeouts, without a deadline update per request.
	if rc.deadline-now < timeout {
		rc.deadline = now + timeout + timeout/4
		if err := rc.c.SetDeadline(time.Now().Add(timeout + timeout/4)); err != nil {
			rc.close()
			return err
		}
	}
	have, rerr := rc.first()
	for {
		eof := rerr == io.EOF
		a, perr := parseResponse(rc.in[:have], head, eof, rc.body[:0], rc.cfg.replicaLower)
		if perr != nil {
			rc.close()
			return perr
		}
		if a.done {
			rc.body = a.chunked
			resp.SetStatusCode(a.status)
			resp.SetBodyRaw(a.body)
			rc.got = a.heads
			if a.cookies || rc.heads {
				copyHeads(resp, a.head, rc.heads)
			}
			rc.requests++
			rc.used = now
			switch {
			case a.close || eof || a.n != have:
				rc.close() // the server closes, or sent more than one answer (no pipelining here)
			case rc.cfg.recycle.spent(rc.requests, rc.used-rc.born):
				rc.close() // recycled between requests: the next one opens a new connection
			}
			return nil
		}
		if rerr != nil {
			rc.close()
			return rerr
		}
		if have == len(rc.in) {
			if len(rc.in) >= rawMaxAnswer+64<<10 {
				rc.close()
				return errBadAnswer
			}
			rc.in = append(rc.in, make([]byte, len(rc.in))...)[:2*len(rc.in)]
		}
		var n int
		n, rerr = rc.c.Read(rc.in[have:])
		have += n
	}
}

// first writes the request in rc.out and reads the answer's first bytes into rc.in. Over TCP
// the write happens inside the read (rawIO), which saves the read that would find nothing yet.
func (rc *rawConn) first() (int, error) {
	out := rc.out.b
	if rc.io != nil {
		n, stuck, err := rc.io.writeRead(out, rc.in)
		if !stuck {
			return n, err
		}
		out = rc.io.out // a full send buffer: the rest waits for room in Write
	}
	if _, err := rc.c.Write(out); err != nil {
		return 0, err
	}
	return rc.c.Read(rc.in)
}

// rawHeads are the header values the engine reads (answerHeads), as parseResponse found them.
type rawHeads struct {
	retryAfter   []byte
	serverTiming []byte // the first Server-Timing header's value
	replica      []byte // the first replica header's value (parseResponse's replica name)
}

// rawAnswer is what parseResponse found.
type rawAnswer struct {
	done    bool
	status  int
	body    []byte // in the input, or in chunked (a chunked answer's decoded body)
	chunked []byte // the decode buffer, to reuse
	heads   rawHeads
	close   bool   // the server said Connection: close (or HTTP/1.0 without keep-alive)
	n       int    // bytes of the input the answer took
	head    []byte // the header lines (after the status line), each ending in CRLF
	cookies bool   // a Set-Cookie is among them
}

var (
	hdrContentLength = []byte("content-length")
	hdrTransferEnc   = []byte("transfer-encoding")
	hdrConnection    = []byte("connection")
	hdrRetryAfter    = []byte("retry-after")
	hdrServerTiming  = []byte("server-timing")
	hdrSetCookie     = []byte("set-cookie")
)

// copyHeads gives resp the answer's Set-Cookie headers (for the journey's cookie jar and
// cookie captures) and, with all, every other header but the framing ones (for header
// captures).
func copyHeads(resp *fasthttp.Response, head []byte, all bool) {
	for len(head) > 0 {
		j := bytes.IndexByte(head, '\n')
		if j < 0 {
			return
		}
		line := bytes.TrimSuffix(head[:j], []byte("\r"))
		head = head[j+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, hdrSetCookie):
			resp.Header.AddBytesV("Set-Cookie", val)
		case !all:
		case bytes.EqualFold(name, hdrContentLength), bytes.EqualFold(name, hdrTransferEnc), bytes.EqualFold(name, hdrConnection):
		default:
			resp.Header.AddBytesKV(name, val)
		}
	}
}

// parseResponse parses an HTTP/1.x answer from the bytes read so far. done false and no error:
// more bytes are needed. eof: the peer closed after b, which ends an until-close body (and
// makes any other incomplete answer an error). head: the request was HEAD (no body). A 1xx
// answer is skipped. dst is reused for a chunked body. replica, when set, is the lower-case
// name of the header that names the replica that answered. Errors are errBadAnswer, or
// errCut's io.EOF / io.ErrUnexpectedEOF for an answer the peer cut.
func parseResponse(b []byte, head, eof bool, dst, replica []byte) (rawAnswer, error) {
	var a rawAnswer
	off := 0
	for {
		end := bytes.Index(b[off:], []byte("\r\n\r\n"))
		if end < 0 {
			if len(b)-off > 64<<10 {
				return a, errBadAnswer
			}
			if eof {
				return a, errCut(len(b) - off)
			}
			return a, nil
		}
		h := b[off : off+end+2]
		bodyAt := off + end + 4
		if len(h) < 14 || !bytes.HasPrefix(h, []byte("HTTP/1.")) || h[8] != ' ' || (h[12] != ' ' && h[12] != '\r') {
			return a, errBadAnswer
		}
		status := 0
		for _, d := range h[9:12] {
			if d < '0' || d > '9' {
				return a, errBadAnswer
			}
			status = status*10 + int(d-'0')
		}
		if status < 100 {
			return a, errBadAnswer
		}
		if status < 200 {
			off = bodyAt // 100 Continue and friends: the real answer follows
			continue
		}
		a.status = status
		a.close = h[7] == '0'
		a.head = h[bytes.IndexByte(h, '\n')+1:]
		cl, chunked, ok := readHeads(h, &a, replica)
		if !ok {
			return a, errBadAnswer
		}
		rest := b[bodyAt:]
		switch {
		case head || status == 204 || status == 304:
			a.done, a.n = true, bodyAt
		case chunked:
			body, n, ok, err := dechunk(rest, dst[:0])
			if err != nil {
				return a, err
			}
			if !ok {
				if eof {
					return a, errCut(len(rest))
				}
				return a, nil
			}
			a.done, a.body, a.chunked, a.n = true, body, body, bodyAt+n
		case cl >= 0:
			if cl > rawMaxAnswer {
				return a, errBadAnswer
			}
			if len(rest) < cl {
				if eof {
					return a, errCut(len(rest))
				}
				return a, nil
			}
			a.done, a.body, a.n = true, rest[:cl], bodyAt+cl
		default: // no framing: the body runs until the server closes
			if len(rest) > rawMaxAnswer {
				return a, errBadAnswer
			}
			if !eof {
				return a, nil
			}
			a.done, a.body, a.n, a.close = true, rest, len(b), true
		}
		return a, nil
	}
}

// readHeads reads the header lines of an answer's head h (status line first) into a:
// Connection, Retry-After, Server-Timing, the replica header (lower-case name replica, or nil),
// whether a Set-Cookie is among them; and returns its Content-Length (-1 without one) and
// whether it is chunked. false: a malformed or unsupported header.
func readHeads(h []byte, a *rawAnswer, replica []byte) (cl int, chunked, ok bool) {
	cl = -1
	for i := bytes.IndexByte(h, '\n') + 1; i < len(h); {
		j := bytes.IndexByte(h[i:], '\n')
		line := h[i : i+j]
		i += j + 1
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return cl, chunked, false
		}
		k := headerKindOf(line[:colon], replica)
		if k == hdrOther {
			continue
		}
		val := bytes.TrimSpace(line[colon+1:])
		switch k {
		case hdrIsContentLength:
			n, ok := parseUint(val)
			if !ok || (cl >= 0 && n != cl) {
				return cl, chunked, false
			}
			cl = n
		case hdrIsTransferEnc:
			if !bytes.EqualFold(val, []byte("identity")) {
				if !bytes.EqualFold(val, []byte("chunked")) {
					return cl, chunked, false // gzip and the like are not asked for
				}
				chunked = true
			}
		case hdrIsConnection:
			if bytes.EqualFold(val, []byte("close")) {
				a.close = true
			} else if bytes.EqualFold(val, []byte("keep-alive")) {
				a.close = false
			}
		case hdrIsRetryAfter:
			a.heads.retryAfter = val
		case hdrIsServerTiming:
			if a.heads.serverTiming == nil {
				a.heads.serverTiming = val // as fasthttp's Peek: the first of several
			}
		case hdrIsReplica:
			if a.heads.replica == nil {
				a.heads.replica = val
			}
		case hdrIsSetCookie:
			a.cookies = true
		}
	}
	return cl, chunked, true
}

// headerKind is a header parseResponse reads.
type headerKind uint8

const (
	hdrOther headerKind = iota
	hdrIsContentLength
	hdrIsTransferEnc
	hdrIsConnection
	hdrIsRetryAfter
	hdrIsServerTiming
	hdrIsSetCookie
	hdrIsReplica
)

// headerKindOf names the header called name (any case); replica is the replica header's
// lower-case name, or nil. The length picks the one candidate to compare: most of an answer's
// headers (Date, Server, Content-Type) are then passed over without a comparison.
func headerKindOf(name, replica []byte) headerKind {
	k, want := hdrOther, []byte(nil)
	switch len(name) {
	case len(hdrContentLength):
		k, want = hdrIsContentLength, hdrContentLength
	case len(hdrTransferEnc):
		k, want = hdrIsTransferEnc, hdrTransferEnc
	case len(hdrConnection): // and Set-Cookie's
		k, want = hdrIsConnection, hdrConnection
		if name[0]|0x20 == 's' {
			k, want = hdrIsSetCookie, hdrSetCookie
		}
	case len(hdrRetryAfter):
		k, want = hdrIsRetryAfter, hdrRetryAfter
	case len(hdrServerTiming):
		k, want = hdrIsServerTiming, hdrServerTiming
	}
	if k != hdrOther && bytes.EqualFold(name, want) {
		return k
	}
	if len(replica) > 0 && len(name) == len(replica) && bytes.EqualFold(name, replica) {
		return hdrIsReplica
	}
	return hdrOther
}

// errCut: the peer closed in the middle of an answer (io.ErrUnexpectedEOF), or before any of
// it (io.EOF: a keep-alive connection the server dropped). Both count as resets.
func errCut(n int) error {
	if n == 0 {
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}

// dechunk decodes a chunked body from b into dst. ok false: incomplete. n: bytes of b used
// (through the trailer's final CRLF).
func dechunk(b, dst []byte) (body []byte, n int, ok bool, err error) {
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if len(b)-i > 4<<10 {
				return nil, 0, false, errBadAnswer
			}
			return nil, 0, false, nil
		}
		line := bytes.TrimSuffix(b[i:i+j], []byte("\r"))
		if k := bytes.IndexByte(line, ';'); k >= 0 {
			line = line[:k] // chunk extensions
		}
		line = bytes.TrimSpace(line)
		size, okh := parseHex(line)
		if !okh || size > rawMaxAnswer || len(dst)+size > rawMaxAnswer {
			return nil, 0, false, errBadAnswer
		}
		i += j + 1
		if size == 0 {
			// Trailers (ignored), up to the empty line.
			for {
				k := bytes.IndexByte(b[i:], '\n')
				if k < 0 {
					return nil, 0, false, nil
				}
				empty := k == 0 || (k == 1 && b[i] == '\r')
				i += k + 1
				if empty {
					return dst, i, true, nil
				}
			}
		}
		if len(b)-i < size+2 {
			return nil, 0, false, nil
		}
		dst = append(dst, b[i:i+size]...)
		i += size
		if b[i] == '\r' && b[i+1] == '\n' {
			i += 2
		} else {
			return nil, 0, false, errBadAnswer
		}
	}
}

func parseUint(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}

func parseHex(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	n := 0
	for _, d := range b {
		switch {
		case d >= '0' && d <= '9':
			n = n<<4 | int(d-'0')
		case d >= 'a' && d <= 'f':
			n = n<<4 | int(d-'a'+10)
		case d >= 'A' && d <= 'F':
			n = n<<4 | int(d-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}
