package traffic

import (
	"bytes"
	"sort"
)

// DefaultMaxRoutes bounds the route table of a mix: requests on routes past it are counted as
// other, so a log full of unique paths cannot grow memory without end.
const DefaultMaxRoutes = 1000

// Mix is the request mix of an access log by method and route: what share of the traffic each
// kind of request is, which suggests the weights of a scenario's journeys.
type Mix struct {
	counts  map[string]*int64 // pointers: an update is a lookup, which does not allocate
	max     int
	buf     []byte
	Total   int64 // requests counted
	Other   int64 // requests on routes beyond the table's bound
	Invalid int64 // requests without a readable method and target
}

// NewMix returns an empty mix that keeps at most maxRoutes routes (0: DefaultMaxRoutes).
func NewMix(maxRoutes int) *Mix {
	if maxRoutes <= 0 {
		maxRoutes = DefaultMaxRoutes
	}
	return &Mix{counts: map[string]*int64{}, max: maxRoutes}
}

// Route is one line of the mix.
type Route struct {
	Method, Path string
	Count        int64
	Share        float64 // of Total
}

func (m *Mix) add(method, target []byte) {
	m.Total++
	if method == nil {
		m.Invalid++
		return
	}
	m.buf = append(append(m.buf[:0], method...), ' ')
	m.buf = AppendRoute(m.buf, target)
	if n, ok := m.counts[string(m.buf)]; ok {
		*n++
		return
	}
	if len(m.counts) >= m.max {
		m.Other++
		return
	}
	one := int64(1)
	m.counts[string(m.buf)] = &one
}

// Routes lists the routes, most requested first (ties by method and path).
func (m *Mix) Routes() []Route {
	out := make([]Route, 0, len(m.counts))
	for k, n := range m.counts {
		sp := bytes.IndexByte([]byte(k), ' ')
		out = append(out, Route{Method: k[:sp], Path: k[sp+1:], Count: *n, Share: float64(*n) / float64(max(m.Total, 1))})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return out
}

const (
	maxSegments   = 12
	maxSegmentLen = 64
)

// AppendRoute appends the route of a request target to dst: the query and fragment dropped, an
// absolute URL reduced to its path, and every path segment that names one thing among many
// replaced by a placeholder, so /v1/orders/88123/pay and /v1/orders/9/pay are one route,
// /v1/orders/{id}/pay. A segment is {uuid} when it is a UUID, {id} when it holds a digit and is
// all digits, has four or more digits, has a number between - _ . (sku-216, 2024-11-11), or is
// a long token (16+ letters and digits); one longer than 64 bytes is {long}; v1 and iphone15
// stay. Past 12 segments the rest is "/…".
func AppendRoute(dst, target []byte) []byte {
	target = urlPath(target)
	if i := bytes.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	if len(target) == 0 || target[0] != '/' {
		if len(target) == 1 && target[0] == '*' {
			return append(dst, '*')
		}
		return append(dst, "{authority}"...)
	}
	rest := target[1:]
	for n := 0; ; n++ {
		if n == maxSegments {
			return append(dst, "/…"...)
		}
		dst = append(dst, '/')
		seg := rest
		i := bytes.IndexByte(rest, '/')
		if i >= 0 {
			seg = rest[:i]
		}
		dst = appendSegment(dst, seg)
		if i < 0 {
			return dst
		}
		rest = rest[i+1:]
	}
}

func appendSegment(dst, seg []byte) []byte {
	switch {
	case len(seg) > maxSegmentLen:
		return append(dst, "{long}"...)
	case isUUID(seg):
		return append(dst, "{uuid}"...)
	case isID(seg):
		return append(dst, "{id}"...)
	}
	for _, c := range seg {
		if c < 0x20 || c == 0x7f {
			c = '!' // not a separator, so the fold is the same again
		}
		dst = append(dst, c)
	}
	return dst
}

func isID(seg []byte) bool {
	digits, alnum, run := 0, 0, 0
	numberToken := false // a token between - _ . made of digits only: sku-216, 2024-11-11
	for i, c := range seg {
		switch {
		case c >= '0' && c <= '9':
			digits++
			alnum++
			run++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			alnum++
			run = -len(seg) // a letter spoils the token
		default:
			if run > 0 && (c == '-' || c == '_' || c == '.') && run == i-tokenStart(seg, i) {
				numberToken = true
			}
			run = 0
		}
	}
	if run > 0 && run == len(seg)-tokenStart(seg, len(seg)) && run < len(seg) {
		numberToken = true
	}
	return digits > 0 && (digits == len(seg) || digits >= 4 || alnum >= 16 || numberToken)
}

// tokenStart is where the token ending before i starts (after the last - _ . before i).
func tokenStart(seg []byte, i int) int {
	for j := i - 1; j >= 0; j-- {
		if c := seg[j]; c == '-' || c == '_' || c == '.' {
			return j + 1
		}
	}
	return 0
}

func isUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
