package scenario

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flashload/flashload/outcome"
)

// httpAnswer is a net/http answer as captures read it.
type httpAnswer struct {
	resp *http.Response
	body []byte
}

func (a *httpAnswer) Body() []byte { return a.body }

func (a *httpAnswer) Header(name string) ([]byte, bool) {
	v, ok := a.resp.Header[http.CanonicalHeaderKey(name)]
	if !ok || len(v) == 0 {
		return nil, false
	}
	return []byte(v[0]), true
}

func (a *httpAnswer) SetCookie(i int) ([]byte, bool) {
	v := a.resp.Header.Values("Set-Cookie")
	if i >= len(v) {
		return nil, false
	}
	return []byte(v[i]), true
}

// readAnswer parses a raw HTTP/1.1 answer with net/http.
func readAnswer(t testing.TB, raw string) *httpAnswer {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return &httpAnswer{resp: resp, body: b.Bytes()}
}

func TestJSONPath(t *testing.T) {
	body := `{"code":"c-1","n":42,"ok":true,"none":null,"esc":"a\"b\u00e9",
		"order":{"id":"o-7","items":[{"sku":"x-1"},{"sku":"x-2","tags":["a","b"]}]},
		"odd.key":"dotted","dup":1,"dup":2,"list":[10, 20 ,30],"obj":{"a": [1, {"b": "c"}]}}`
	for _, c := range []struct {
		path, want string
		ok         bool
	}{
		{"$.code", "c-1", true},
		{"$.n", "42", true},
		{"$.ok", "true", true},
		{"$.none", "", false},
		{"$.esc", "a\"bé", true},
		{"$.order.id", "o-7", true},
		{"$.order.items[1].sku", "x-2", true},
		{"$.order.items[1].tags[1]", "b", true},
		{"$.order.items[2].sku", "", false},
		{"$['odd.key']", "dotted", true},
		{`$["odd.key"]`, "dotted", true},
		{"$.dup", "2", true}, // the last one, as encoding/json reads it
		{"$.list[2]", "30", true},
		{"$.obj.a", `[1, {"b": "c"}]`, true},
		{"$.obj.a[1].b", "c", true},
		{"$.missing", "", false},
		{"$.code.deeper", "", false},
		{"$.list.x", "", false},
		{"$[0]", "", false},
	} {
		p, err := ParseJSONPath(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		got, ok := p.Append(nil, []byte(body))
		if ok != c.ok || string(got) != c.want {
			t.Errorf("%s: got %q %v, want %q %v", c.path, got, ok, c.want, c.ok)
		}
	}
	if got, ok := mustPath(t, "$[1]").Append(nil, []byte(`["a", "b"]`)); !ok || string(got) != "b" {
		t.Errorf("$[1] of a list: %q %v", got, ok)
	}
	if got, ok := mustPath(t, "$").Append(nil, []byte(` "whole" `)); !ok || string(got) != "whole" {
		t.Errorf("$ of a string: %q %v", got, ok)
	}
	for _, bad := range []string{"code", "$.", "$..a", "$[x]", "$[-1]", "$[*]", "$[?(@.a)]", "$['a", "$.a b", `$['a"b']`} {
		if _, err := ParseJSONPath(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func mustPath(t testing.TB, s string) *JSONPath {
	t.Helper()
	p, err := ParseJSONPath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// jsonOracle is what encoding/json finds at a path: the oracle of FuzzJSONPath.
func jsonOracle(body []byte, p *JSONPath) (string, bool) {
	raw := json.RawMessage(body)
	for _, e := range p.elems {
		if e.key != nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return "", false
			}
			v, ok := m[e.name]
			if !ok {
				return "", false
			}
			raw = v
			continue
		}
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) != nil || e.index >= len(l) {
			return "", false
		}
		raw = l[e.index]
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", false
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	return string(raw), true
}

// FuzzJSONPath: on valid JSON the path finds what encoding/json finds; on anything else it
// neither panics nor reads outside the body.
func FuzzJSONPath(f *testing.F) {
	f.Add(`{"code":"c-1","a":{"b":[1,{"c":"d"}]}}`, "$.a.b[1].c")
	f.Add(`{"a":1,"a":2}`, "$.a")
	f.Add(`{"k\u0065y":"v"}`, "$.key")
	f.Add(`[{"x":"y"}]`, "$[0].x")
	f.Add(`{"a":"\ud83d\ude00"}`, "$.a")
	f.Add(`{"a" : [ 1 , 2 ] }`, "$.a[1]")
	f.Fuzz(func(t *testing.T, body, path string) {
		p, err := ParseJSONPath(path)
		if err != nil {
			return
		}
		got, ok := p.Append([]byte("pre"), []byte(body))
		if !bytes.HasPrefix(got, []byte("pre")) {
			t.Fatalf("Append lost dst's prefix: %q", got)
		}
		if !json.Valid([]byte(body)) || !utf8.ValidString(body) {
			return
		}
		want, wok := jsonOracle([]byte(body), p)
		if ok != wok || string(got[3:]) != want {
			t.Fatalf("%s in %s: got %q %v, encoding/json %q %v", path, body, got[3:], ok, want, wok)
		}
	})
}

func TestCaptureSources(t *testing.T) {
	body := `{"code":"c-1","msg":"order=A17"}`
	a := readAnswer(t, "HTTP/1.1 200 OK\r\nLocation: /orders/o-9\r\nx-token: tk\r\n"+
		"Set-Cookie: SESSION=u1; Path=/; HttpOnly\r\nSet-Cookie: other=x\r\nSet-Cookie: SESSION=\"u2\"; Path=/\r\n"+
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))+body)
	for _, c := range []struct {
		spec Capture
		want string
		why  string
	}{
		{Capture{JSON: "$.code", As: "code"}, "c-1", ""},
		{Capture{Header: "location", As: "next"}, "/orders/o-9", ""},
		{Capture{Header: "X-Token", As: "tok"}, "tk", ""},
		{Capture{Regex: `order=(\w+)`, As: "no"}, "A17", ""},
		{Capture{Cookie: "SESSION", As: "sid"}, "u2", ""}, // the last Set-Cookie of the name
		{Capture{JSON: "$.missing", As: "m"}, "", "m: json $.missing not found"},
		{Capture{Header: "X-Nope", As: "h"}, "", "h: header X-Nope not found"},
		{Capture{Regex: `id=(\d+)`, As: "r"}, "", `r: regex id=(\d+) not found`},
		{Capture{Cookie: "NOPE", As: "c"}, "", "c: cookie NOPE not found"},
	} {
		r, err := CompileCapture(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, why := r.Append([]byte("keep"), a)
		if string(got) != "keep"+c.want || why != c.why {
			t.Errorf("%+v: got %q %q, want %q %q", c.spec, got, why, c.want, c.why)
		}
	}
	long := &httpAnswer{resp: a.resp, body: []byte(`{"t":"` + strings.Repeat("x", MaxCaptureLen+1) + `"}`)}
	r, _ := CompileCapture(Capture{JSON: "$.t", As: "t"})
	if got, why := r.Append(nil, long); len(got) != 0 || !strings.Contains(why, "longer than") {
		t.Errorf("a value past MaxCaptureLen: %d bytes, %q", len(got), why)
	}
}

// FuzzRegexGroup: the first group of the leftmost match, as FindSubmatch finds it.
func FuzzRegexGroup(f *testing.F) {
	f.Add(`order=(\w+)`, "x order=A17 y")
	f.Add(`(a)|(b)`, "b")
	f.Add(`"code":"([^"]*)"`, `{"code":"c-1"}`)
	f.Fuzz(func(t *testing.T, pattern, body string) {
		re, err := compileCaptureRegex(pattern)
		if err != nil {
			return
		}
		got, ok := RegexGroup(nil, re, []byte(body))
		m := re.FindStringSubmatchIndex(body)
		wok := m != nil && m[2] >= 0
		if ok != wok || wok && string(got) != body[m[2]:m[3]] {
			t.Fatalf("%q on %q: got %q %v", pattern, body, got, ok)
		}
	})
}

// FuzzCookieValue: the value a Set-Cookie gives a name is what net/http's client reads from the
// same answer.
func FuzzCookieValue(f *testing.F) {
	f.Add("SESSION", `SESSION=u1; Path=/; HttpOnly`)
	f.Add("a", `a="quoted"; Max-Age=10`)
	f.Add("a", `b=1`)
	f.Add("a", `a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT`)
	f.Fuzz(func(t *testing.T, name, setCookie string) {
		if strings.ContainsAny(setCookie, "\r\n") {
			return
		}
		got, ok := CookieValue([]byte(setCookie), name)
		resp := &http.Response{Header: http.Header{"Set-Cookie": {setCookie}}}
		var want string
		wok := false
		for _, c := range resp.Cookies() {
			if c.Name == name {
				want, wok = c.Value, true
			}
		}
		if ok != wok || got != want {
			t.Fatalf("%q in %q: got %q %v, net/http %q %v", name, setCookie, got, ok, want, wok)
		}
	})
}

// FuzzHeaderCapture: a header capture finds the header's first value whatever the case of its
// name, and nothing when the answer has none.
func FuzzHeaderCapture(f *testing.F) {
	f.Add("Location", "location", "/orders/1")
	f.Add("X-Token", "x-token", "a b c")
	f.Fuzz(func(t *testing.T, sent, asked, value string) {
		if !validHeaderName(sent) || !validHeaderName(asked) || strings.ContainsAny(value, "\r\n\x00") {
			return
		}
		value = strings.TrimSpace(value)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 204 No Content\r\n"+sent+": "+value+"\r\n\r\n")), nil)
		if err != nil {
			return // not an answer net/http reads (a control byte in the value)
		}
		a := &httpAnswer{resp: resp}
		r, err := CompileCapture(Capture{Header: asked, As: "h"})
		if err != nil {
			t.Fatal(err)
		}
		got, why := r.Append(nil, a)
		want, wok := a.resp.Header.Get(asked), len(a.resp.Header.Values(asked)) > 0
		if wok && len(want) > MaxCaptureLen {
			return
		}
		if (why == "") != wok || string(got) != want {
			t.Fatalf("%q asked as %q (value %q): got %q %q", sent, asked, value, got, why)
		}
	})
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

const captureScenario = `name: cap
duration: 1s
users: 10
skus: [{sku: x-1, stock: 5, price: 1}]
traffic: {start_rps: 10, stages: [{duration: 1s, rps: 10}]}
journeys:
  - name: buyer
    steps:
      - request: {name: login, method: POST, url: "/login?user_id={{user}}", capture: [{json: "$.token", as: token, scope: user}]}
      - request:
          name: checkout
          method: POST
          url: /checkout?user_id={{user}}
          headers: {Authorization: "Bearer {{token}}"}
          sku: x-1
          purchase: true
          capture: [{json: "$.code", as: code}, {header: Location, as: next}]
      - request: {name: confirm, method: POST, url: "/purchase?code={{code}}", body: '{"next":"{{next}}"}', settles: checkout}
  - name: returning
    cookies: false
    steps:
      - request: {name: again, url: "/me", headers: {Authorization: "Bearer {{token}}"}}
`

func TestCaptureProgram(t *testing.T) {
	s := mustParse(t, captureScenario)
	p, err := Compile(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.UserNames, []string{"token"}) {
		t.Fatalf("user names %v", p.UserNames)
	}
	buyer, ret := &p.Journeys[0], &p.Journeys[1]
	if !buyer.Cookies || ret.Cookies {
		t.Errorf("cookies: buyer %v, returning %v", buyer.Cookies, ret.Cookies)
	}
	if !slices.Equal(buyer.Slots, []string{"token", "code", "next"}) {
		t.Errorf("slots %v", buyer.Slots)
	}
	login, checkout, confirm := &buyer.Steps[0], &buyer.Steps[1], &buyer.Steps[2]
	if len(login.Captures) != 1 || login.Captures[0].User != 0 || len(login.Needs) != 0 {
		t.Errorf("login: captures %+v needs %+v", login.Captures, login.Needs)
	}
	if len(checkout.Needs) != 0 || !checkout.Audited || len(checkout.Captures) != 2 || checkout.Captures[1].Slot != 2 {
		t.Errorf("checkout: %+v", checkout)
	}
	if !confirm.Pays || confirm.Settles != 1 || confirm.Op != OpRequest {
		t.Errorf("confirm: pays %v settles %d", confirm.Pays, confirm.Settles)
	}
	// {{token}} in another journey: a scope: user value that journey never captured.
	again := &ret.Steps[0]
	if len(again.Needs) != 1 || again.Needs[0].User != 0 || !strings.Contains(again.Needs[0].Reason, "token") {
		t.Errorf("again: needs %+v", again.Needs)
	}
	// Templates render the captured values from their slots.
	caps := [][]byte{[]byte("T"), []byte("C9"), []byte("/n")}
	v := &Vars{User: 3, Caps: caps}
	if got := string(confirm.Endpoint.URL.Append(nil, v)); got != "/purchase?code=C9" {
		t.Errorf("confirm url %q", got)
	}
	if got := string(confirm.Body.Append(nil, v)); got != `{"next":"/n"}` {
		t.Errorf("confirm body %q", got)
	}
	if got := string(checkout.Headers[0].Value.Append(nil, v)); got != "Bearer T" {
		t.Errorf("checkout header %q", got)
	}
	// What a final outcome leaves the journey.
	if end, why := checkout.After(outcome.Acknowledged); end || why != "" {
		t.Errorf("acknowledged checkout: %v %q", end, why)
	}
	if end, why := checkout.After(outcome.SoldOut); !end || why != "" {
		t.Errorf("sold out checkout ends without a skip: %v %q", end, why)
	}
	if end, why := login.After(outcome.Unknown); !end || why != "token: the answer was unknown, nothing to capture" {
		t.Errorf("login without an answer: %v %q", end, why)
	}
	if end, why := confirm.After(outcome.Error); end || why != "" {
		t.Errorf("confirm (no captures) refused: %v %q", end, why)
	}
	var rates []string
	confirm.Rates(outcome.Acknowledged, func(name string, ok bool) { rates = append(rates, fmt.Sprintf("%s %v", name, ok)) })
	if !slices.Equal(rates, []string{"pay_success true"}) {
		t.Errorf("confirm's rates %v", rates)
	}
}

// TestCaptureValidation: every problem of captures and settles at once, each at its line.
func TestCaptureValidation(t *testing.T) {
	src := `name: bad
duration: 1s
skus: [{sku: x-1, stock: 5, price: 1}]
traffic: {start_rps: 10, stages: [{duration: 1s, rps: 10}]}
journeys:
  - name: buyer
    steps:
      - request: {name: early, url: "/a?c={{code}}"}
      - request:
          name: checkout
          url: /checkout
          purchase: true
          capture:
            - {json: "$.code", header: X-Code, as: code}
            - {json: "code", as: c2}
            - {regex: "([a-z", as: c3}
            - {regex: "abc", as: c4}
            - {header: Location}
            - {cookie: S, as: user}
            - {json: "$.x", as: x, scope: world}
      - request: {name: pay, url: "/p?c={{nothing}}", settles: nowhere}
`
	_, err := Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"bad.yaml:8:",
		"used before any step of its journey captures it",
		"bad.yaml:14:15: journeys[0].steps[1].request.capture[0]: has json and header: a capture takes one source",
		`bad.yaml:15:16: journeys[0].steps[1].request.capture[1].json: JSONPath "code" must start with $`,
		"capture[2].regex: invalid regex",
		"capture[3].regex: regex \"abc\" has no group",
		"capture[4]: needs as",
		`capture[5].as: "user" is a template variable of its own`,
		`capture[6].scope: "world": want journey (the default) or user`,
		"unknown variable {{nothing}}",
		`settles: "nowhere" names no earlier purchase step`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestUserValuesBounded(t *testing.T) {
	p := &Program{UserNames: []string{"a", "b"}, Population: 5, Journeys: make([]JourneyProgram, 1)}
	u := p.NewUserValues()
	if len(u.ents) != 7 {
		t.Fatalf("%d entries for 5 users and a bot", len(u.ents))
	}
	u.Keep(3, 1, []byte("v3"))
	if v, ok := u.Load(3, 1, nil); !ok || string(v) != "v3" {
		t.Errorf("load %q %v", v, ok)
	}
	if u.Has(3, 0) || u.Has(4, 1) {
		t.Error("a value nobody kept")
	}
	u.Keep(3+7, 0, []byte("other")) // the same entry: user 3's values are evicted
	if u.Has(3, 1) || !u.Has(10, 0) {
		t.Error("eviction")
	}
	big := (&Program{UserNames: []string{"a"}, Population: 5_000_000, Journeys: make([]JourneyProgram, 3)}).NewUserValues()
	if len(big.ents) != MaxUserValues {
		t.Errorf("%d entries, want the bound %d", len(big.ents), MaxUserValues)
	}
	if (&Program{}).NewUserValues() != nil {
		t.Error("a table without scope: user names")
	}
}

// captureBody is a 1 KB JSON answer with the captured value near its end, under two levels.
func captureBody() []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 900; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"sku":"x-%d","qty":%d,"price":19.99,"tags":["a","b"]}`, i, i)
	}
	b.WriteString(`],"order":{"status":"reserved","code":"c0ffee-1234-5678"}}`)
	return []byte(b.String())
}

// BenchmarkCaptureJSON: one JSON capture ($.order.code) from a 1 KB answer, the cost a capture
// adds to a step (at most 1 µs and no allocation is the bar).
func BenchmarkCaptureJSON(b *testing.B) {
	body := captureBody()
	r, err := CompileCapture(Capture{JSON: "$.order.code", As: "code"})
	if err != nil {
		b.Fatal(err)
	}
	a := &httpAnswer{body: body}
	b.Run("capture", func(b *testing.B) {
		dst := make([]byte, 0, 64)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var why string
			if dst, why = r.Append(dst[:0], a); why != "" {
				b.Fatal(why)
			}
		}
		if string(dst) != "c0ffee-1234-5678" {
			b.Fatalf("captured %q", dst)
		}
	})
	// The baseline of the same run: encoding/json decoding the same path.
	b.Run("encoding-json", func(b *testing.B) {
		var v struct {
			Order struct {
				Code string `json:"code"`
			} `json:"order"`
		}
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
