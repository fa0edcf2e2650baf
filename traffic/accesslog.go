package traffic

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"time"
)

// logParser reads one access-log line: the request's time in Unix nanoseconds and, when the
// line has them, the request's method and target (nil when absent or unreadable). reason is
// non-empty when the line has no usable time.
type logParser interface {
	parse(line []byte) (ns int64, method, target []byte, reason string)
}

// readBuffer is the bufio buffer of a log scan; a longer line is counted as unparseable.
const readBuffer = 1 << 20

// scanLog streams the lines of one log into b (and mix), counting what does not parse. Memory
// stays at the read buffer, the curve's buckets and the route table, whatever the log's size.
func scanLog(ctx context.Context, r io.Reader, name string, p logParser, b *buckets, mix *Mix, rep *Report) error {
	br := bufio.NewReaderSize(r, readBuffer)
	var line int64
	latest := int64(math.MinInt64)
	for {
		l, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line++
			rep.Lines++
			rep.Bytes += int64(len(l))
			rep.bad(name, line, "line longer than 1 MiB", l)
			for errors.Is(err, bufio.ErrBufferFull) {
				l, err = br.ReadSlice('\n')
				rep.Bytes += int64(len(l))
			}
			if err != nil && err != io.EOF {
				return err
			}
			if err == io.EOF {
				return nil
			}
			continue
		}
		if len(l) > 0 {
			line++
			rep.Lines++
			rep.Bytes += int64(len(l))
			if line&0xffff == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
			}
			ns, method, target, reason := p.parse(trimEOL(l))
			switch {
			case reason != "":
				if len(bytes.TrimSpace(l)) > 0 {
					rep.bad(name, line, reason, l)
				} else {
					rep.Lines-- // a blank line is no record
				}
			case !b.event(ns):
				rep.bad(name, line, "time too far from the other lines", l)
			default:
				rep.Records++
				if latest != math.MinInt64 && ns < latest-b.step {
					rep.OutOfOrder++
					if rep.FirstOutOfOrder == nil {
						rep.FirstOutOfOrder = &BadLine{File: name, Line: line, Reason: "earlier than a line before it by " +
							FormatDuration(time.Duration(latest-ns).Round(time.Second))}
					}
				}
				latest = max(latest, ns)
				if mix != nil {
					mix.add(method, target)
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func trimEOL(l []byte) []byte {
	if n := len(l); n > 0 && l[n-1] == '\n' {
		l = l[:n-1]
		if n > 1 && l[n-2] == '\r' {
			l = l[:n-2]
		}
	}
	return l
}

// combined reads the NCSA combined and common log formats (nginx's and Apache's defaults):
//
//	203.0.113.7 - - [11/Nov/2024:00:00:01 +0800] "POST /v1/skus/phone-x/purchase HTTP/1.1" 201 87 "-" "curl/8.5"
//
// The time is the bracketed field, the request the first quoted field after it. Times within
// one minute and zone share their parse: only the seconds are read again.
type combined struct {
	minute [17]byte // "11/Nov/2024:00:00"
	zone   [5]byte  // "+0800"
	base   int64    // Unix seconds of that minute in that zone
	ok     bool
}

func (c *combined) parse(line []byte) (int64, []byte, []byte, string) {
	i := bytes.IndexByte(line, '[')
	if i < 0 || len(line) < i+28 || line[i+27] != ']' {
		return 0, nil, nil, "no [day/Mon/year:hh:mm:ss zone] time"
	}
	ts := line[i+1 : i+27]
	if !c.ok || [17]byte(ts[:17]) != c.minute || [5]byte(ts[21:26]) != c.zone {
		base, good := combinedMinute(ts)
		if !good {
			return 0, nil, nil, "bad time"
		}
		c.minute, c.zone, c.base, c.ok = [17]byte(ts[:17]), [5]byte(ts[21:26]), base, true
	}
	sec, good := two(ts[18], ts[19])
	if !good || ts[17] != ':' || sec > 60 {
		return 0, nil, nil, "bad time"
	}
	method, target := requestLine(line[i+28:])
	return (c.base + int64(sec)) * 1e9, method, target, ""
}

var months = map[[3]byte]time.Month{
	{'J', 'a', 'n'}: 1, {'F', 'e', 'b'}: 2, {'M', 'a', 'r'}: 3, {'A', 'p', 'r'}: 4, {'M', 'a', 'y'}: 5, {'J', 'u', 'n'}: 6,
	{'J', 'u', 'l'}: 7, {'A', 'u', 'g'}: 8, {'S', 'e', 'p'}: 9, {'O', 'c', 't'}: 10, {'N', 'o', 'v'}: 11, {'D', 'e', 'c'}: 12,
}

// combinedMinute reads "dd/Mon/yyyy:hh:mm:ss ±hhmm" up to the minute, in Unix seconds.
func combinedMinute(ts []byte) (int64, bool) {
	if ts[2] != '/' || ts[6] != '/' || ts[11] != ':' || ts[14] != ':' || ts[20] != ' ' {
		return 0, false
	}
	day, ok1 := two(ts[0], ts[1])
	mon, ok2 := months[[3]byte(ts[3:6])]
	y1, ok3 := two(ts[7], ts[8])
	y2, ok4 := two(ts[9], ts[10])
	hh, ok5 := two(ts[12], ts[13])
	mm, ok6 := two(ts[15], ts[16])
	zh, ok7 := two(ts[22], ts[23])
	zm, ok8 := two(ts[24], ts[25])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || day < 1 || day > daysIn(mon, y1*100+y2) || hh > 23 || mm > 59 || zh > 23 || zm > 59 {
		return 0, false
	}
	off := int64(zh*3600 + zm*60)
	switch ts[21] {
	case '+':
	case '-':
		off = -off
	default:
		return 0, false
	}
	t := time.Date(y1*100+y2, mon, day, hh, mm, 0, 0, time.UTC).Unix()
	return t - off, true
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func two(a, b byte) (int, bool) {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

// requestLine finds the first quoted field in rest and splits it as "METHOD TARGET PROTO";
// nil, nil when it is missing or not a request ("-", a TLS handshake sent to a plain port).
func requestLine(rest []byte) ([]byte, []byte) {
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return nil, nil
	}
	rest = rest[q+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil, nil
	}
	req := rest[:end]
	sp := bytes.IndexByte(req, ' ')
	if sp <= 0 || sp > 16 {
		return nil, nil
	}
	method := req[:sp]
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return nil, nil
		}
	}
	target := req[sp+1:]
	if e := bytes.IndexByte(target, ' '); e >= 0 {
		target = target[:e]
	}
	if len(target) == 0 {
		return nil, nil
	}
	return method, target
}

// alb reads AWS Application Load Balancer logs (the type first, then the time) and Classic
// Load Balancer logs (the time first):
//
//	https 2024-11-11T00:00:01.186641Z app/shop/50dc6c495c0c9188 203.0.113.7:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET https://shop.example:443/v1/skus/phone-x HTTP/1.1" "curl/8.5" ...
//
// The time is when the balancer answered, to the microsecond; the request is the first quoted
// field, its target an absolute URL.
type alb struct {
	minute [16]byte // "2024-11-11T00:00"
	base   int64
	ok     bool
}

func (a *alb) parse(line []byte) (int64, []byte, []byte, string) {
	from := 0
	if len(line) > 0 && (line[0] < '0' || line[0] > '9') {
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			return 0, nil, nil, "no time field"
		}
		from = sp + 1
	}
	ts, rest := line[from:], []byte(nil)
	if e := bytes.IndexByte(ts, ' '); e >= 0 {
		ts, rest = ts[:e], ts[e:]
	}
	if len(ts) < 20 || ts[len(ts)-1] != 'Z' || ts[16] != ':' {
		return 0, nil, nil, "no time field (want 2006-01-02T15:04:05.000000Z)"
	}
	if !a.ok || [16]byte(ts[:16]) != a.minute {
		t, err := time.Parse("2006-01-02T15:04", string(ts[:16]))
		if err != nil {
			return 0, nil, nil, "bad time"
		}
		a.minute, a.base, a.ok = [16]byte(ts[:16]), t.Unix(), true
	}
	sec, good := two(ts[17], ts[18])
	if !good || sec > 60 {
		return 0, nil, nil, "bad time"
	}
	var frac int64
	if rest := ts[19 : len(ts)-1]; len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, nil, nil, "bad time"
		}
		scale := int64(1e9)
		for _, c := range rest[1:] {
			if c < '0' || c > '9' {
				return 0, nil, nil, "bad time"
			}
			scale /= 10
			frac += int64(c-'0') * scale
		}
	}
	method, target := requestLine(rest)
	if target != nil {
		target = urlPath(target)
	}
	return (a.base+int64(sec))*1e9 + frac, method, target, ""
}

// urlPath is the path of an absolute URL ("https://host:443/p?q" → "/p?q"); other targets as
// they are.
func urlPath(t []byte) []byte {
	i := bytes.Index(t, []byte("://"))
	if i < 1 || i > 8 {
		return t
	}
	for _, c := range t[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return t // no scheme: a path that holds "://"
		}
	}
	rest := t[i+3:]
	if s := bytes.IndexByte(rest, '/'); s >= 0 {
		return rest[s:]
	}
	return []byte("/")
}
