package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Captures take a value from a step's answer for the journey's later steps ({{NAME}} in their
// url, headers and body): a JSON value by a path, a header, the first group of a regular
// expression over the body, or a cookie the answer sets. The rules are compiled once with the
// journey program; the live engine applies them to real answers, and the simulator, whose
// modelled answers have no bodies, takes a successful answer as carrying every capture.

// MaxCaptureLen bounds a captured value: a longer one is not taken (the journey ends, counted
// as skipped), so a journey's values and the user-scoped table stay small.
const MaxCaptureLen = 4096

// MaxUserValues bounds the users whose scope: user values are kept: a direct-mapped table of
// at most this many entries, indexed by user id (see UserValues).
const MaxUserValues = 1 << 18

// CaptureKind is where a capture looks.
type CaptureKind uint8

const (
	CaptureJSON CaptureKind = iota
	CaptureHeader
	CaptureRegex
	CaptureCookie
)

var captureKindNames = [...]string{"json", "header", "regex", "cookie"}

func (k CaptureKind) String() string {
	if int(k) < len(captureKindNames) {
		return captureKindNames[k]
	}
	return "capture(" + strconv.Itoa(int(k)) + ")"
}

// An Answer is what a capture reads: the body, a header by name (case ignored; the first
// value) and the values of the answer's Set-Cookie headers, i from 0 until ok is false.
type Answer interface {
	Body() []byte
	Header(name string) (value []byte, ok bool)
	SetCookie(i int) (value []byte, ok bool)
}

// CaptureRule is one capture of a request step, compiled.
type CaptureRule struct {
	Kind   CaptureKind
	Name   string // the variable it sets ({{Name}})
	Source string // as written: the path, header or cookie name, or the pattern
	Slot   int    // the journey's value it sets (JourneyProgram.Slots)
	User   int    // its index among the scenario's scope: user names (Program.UserNames); -1: the journey's
	path   *JSONPath
	re     *regexp.Regexp
	// The reasons a step counts as skipped when this capture finds no value, made once.
	notFound, tooLong string
}

// CompileCapture compiles one capture (validated by Parse).
func CompileCapture(c Capture) (CaptureRule, error) {
	r := CaptureRule{Name: c.As, User: -1}
	var err error
	switch {
	case c.JSON != "":
		r.Kind, r.Source = CaptureJSON, c.JSON
		r.path, err = ParseJSONPath(c.JSON)
	case c.Header != "":
		r.Kind, r.Source = CaptureHeader, c.Header
	case c.Regex != "":
		r.Kind, r.Source = CaptureRegex, c.Regex
		r.re, err = compileCaptureRegex(c.Regex)
	case c.Cookie != "":
		r.Kind, r.Source = CaptureCookie, c.Cookie
	default:
		return r, fmt.Errorf("a capture needs one of json, header, regex or cookie")
	}
	r.notFound = fmt.Sprintf("%s: %s %s not found", r.Name, r.Kind, r.Source)
	r.tooLong = fmt.Sprintf("%s: %s %s longer than %d bytes", r.Name, r.Kind, r.Source, MaxCaptureLen)
	return r, err
}

func compileCaptureRegex(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %w", s, err)
	}
	if re.NumSubexp() < 1 {
		return nil, fmt.Errorf("regex %q has no group: the capture takes the first group, as in 'order=(\\w+)'", s)
	}
	return re, nil
}

// Append appends the capture's value in a onto dst. ok is false when the answer has none; a
// value longer than MaxCaptureLen is not taken either (reason says which). A JSON capture
// without escapes in its value does not allocate.
func (c *CaptureRule) Append(dst []byte, a Answer) (out []byte, reason string) {
	n := len(dst)
	var ok bool
	switch c.Kind {
	case CaptureJSON:
		dst, ok = c.path.Append(dst, a.Body())
	case CaptureHeader:
		var v []byte
		if v, ok = a.Header(c.Source); ok {
			dst = append(dst, v...)
		}
	case CaptureRegex:
		dst, ok = RegexGroup(dst, c.re, a.Body())
	case CaptureCookie:
		for i := 0; ; i++ {
			v, more := a.SetCookie(i)
			if !more {
				break
			}
			if val, found := CookieValue(v, c.Source); found {
				dst, ok = append(dst[:n], val...), true // the last Set-Cookie of a name wins, as in a jar
			}
		}
	}
	switch {
	case !ok:
		return dst[:n], c.notFound
	case len(dst)-n > MaxCaptureLen:
		return dst[:n], c.tooLong
	}
	return dst, ""
}

// NotFound is the reason a step counts as skipped when the capture finds no value.
func (c *CaptureRule) NotFound() string { return c.notFound }

// RegexGroup appends the first group of re's leftmost match in b; false without a match (or
// when the group took no part in it).
func RegexGroup(dst []byte, re *regexp.Regexp, b []byte) ([]byte, bool) {
	loc := re.FindSubmatchIndex(b)
	if len(loc) < 4 || loc[2] < 0 {
		return dst, false
	}
	return append(dst, b[loc[2]:loc[3]]...), true
}

// CookieValue is the value a Set-Cookie header's value sets for cookie name, by net/http's
// parser (RFC 6265: name=value before the first ';', quotes removed); false when it sets
// another cookie or cannot be parsed.
func CookieValue(setCookie []byte, name string) (string, bool) {
	c, err := http.ParseSetCookie(string(setCookie))
	if err != nil || c.Name != name {
		return "", false
	}
	return c.Value, true
}

// JSONPath is a path into a JSON document, in the subset of JSONPath a capture takes: $ then
// members and array indexes, as $.order.id, $.items[0].sku, $['odd.key'] or $[2]. It finds a
// value without decoding the document and without allocating (but for a string with escapes).
type JSONPath struct {
	src   string
	elems []pathElem
}

type pathElem struct {
	key   []byte // the member's name, quoted as JSON writes it ("\"id\""); nil for an index
	name  string // unquoted, for keys written with escapes
	index int
}

// ParseJSONPath parses a path of the subset: `$`, then any of `.name`, `['name']`, `["name"]`
// and `[N]` (N ≥ 0). A name after a dot is letters, digits, '_' and '-'.
func ParseJSONPath(s string) (*JSONPath, error) {
	p := &JSONPath{src: s}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("JSONPath %q must start with $ (as $.code or $.items[0].id)", s)
	}
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			i := 1
			for i < len(rest) && isPathNameByte(rest[i]) {
				i++
			}
			if i == 1 {
				return nil, fmt.Errorf("JSONPath %q: a name must follow '.' (letters, digits, _ and -; ['odd name'] for others)", s)
			}
			p.elems = append(p.elems, keyElem(rest[1:i]))
			rest = rest[i:]
		case '[':
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return nil, fmt.Errorf("JSONPath %q: unclosed [", s)
			}
			in := rest[1:j]
			switch {
			case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
				name := in[1 : len(in)-1]
				if strings.ContainsAny(name, `'"\`) {
					return nil, fmt.Errorf("JSONPath %q: a bracketed name may not hold quotes or backslashes", s)
				}
				p.elems = append(p.elems, keyElem(name))
			default:
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 || in[0] == '+' {
					return nil, fmt.Errorf("JSONPath %q: [%s] is not an index (N ≥ 0) nor a quoted name; filters and wildcards are not supported", s, in)
				}
				p.elems = append(p.elems, pathElem{index: n})
			}
			rest = rest[j+1:]
		default:
			return nil, fmt.Errorf("JSONPath %q: unexpected %q (want .name or [N])", s, rest[0])
		}
	}
	return p, nil
}

func isPathNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 0x80
}

// keyElem is a member step. Its quoted form is compared with the document's keys as written;
// a key the document writes with escapes is decoded and compared with name.
func keyElem(name string) pathElem {
	return pathElem{key: []byte(`"` + name + `"`), name: name, index: -1}
}

// String is the path as written.
func (p *JSONPath) String() string { return p.src }

// Append appends the value at the path in body onto dst: a string's contents (unescaped), or
// the text of any other value (a number, true, false, an object or an array as written). A
// missing member, an index past the end, null, or a body that is not JSON give false. When an
// object repeats a name the last one counts, as encoding/json and JavaScript read it.
func (p *JSONPath) Append(dst, body []byte) ([]byte, bool) {
	vs, ve := skipWS(body, 0), 0
	if vs >= len(body) {
		return dst, false
	}
	var ok bool
	for k := range p.elems {
		e := &p.elems[k]
		if e.key != nil {
			vs, ve, ok = member(body, vs, e)
		} else {
			vs, ve, ok = element(body, vs, e.index)
		}
		if !ok {
			return dst, false
		}
	}
	if len(p.elems) == 0 {
		end, _, _ := scanValue(body, vs)
		if end < 0 || skipWS(body, end) != len(body) {
			return dst, false
		}
		ve = end
	}
	v := body[vs:ve]
	switch {
	case bytes.Equal(v, []byte("null")):
		return dst, false
	case v[0] != '"':
		return append(dst, v...), true
	case bytes.IndexByte(v, '\\') < 0:
		return append(dst, v[1:len(v)-1]...), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return dst, false
	}
	return append(dst, s...), true
}

// member finds e's member in the object at body[i]: the bounds of its value (the last one of
// that name).
func member(body []byte, i int, e *pathElem) (vs, ve int, ok bool) {
	if i >= len(body) || body[i] != '{' {
		return 0, 0, false
	}
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == '}' {
		return 0, 0, false
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return 0, 0, false
		}
		ke, esc := scanString(body, i)
		if ke < 0 {
			return 0, 0, false
		}
		match := bytes.Equal(body[i:ke], e.key)
		if !match && esc {
			var k string
			match = json.Unmarshal(body[i:ke], &k) == nil && k == e.name
		}
		i = skipWS(body, ke)
		if i >= len(body) || body[i] != ':' {
			return 0, 0, false
		}
		s := skipWS(body, i+1)
		end, _, _ := scanValue(body, s)
		if end < 0 {
			return 0, 0, false
		}
		if match {
			vs, ve, ok = s, end, true
		}
		i = skipWS(body, end)
		if i >= len(body) {
			return 0, 0, false
		}
		switch body[i] {
		case ',':
			i = skipWS(body, i+1)
		case '}':
			return vs, ve, ok
		default:
			return 0, 0, false
		}
	}
}

// element finds element n of the array at body[i].
func element(body []byte, i, n int) (vs, ve int, ok bool) {
	if i >= len(body) || body[i] != '[' {
		return 0, 0, false
	}
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == ']' {
		return 0, 0, false
	}
	for k := 0; ; k++ {
		end, _, _ := scanValue(body, i)
		if end < 0 {
			return 0, 0, false
		}
		if k == n {
			return i, end, true
		}
		i = skipWS(body, end)
		if i >= len(body) || body[i] != ',' {
			return 0, 0, false
		}
		i = skipWS(body, i+1)
	}
}
