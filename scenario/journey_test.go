package scenario

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/outcome"
)

func TestPicker(t *testing.T) {
	p := NewPicker([]Journey{{Weight: 70}, {Weight: 25}, {Weight: 5}})
	for _, c := range []struct {
		u    float64
		want int
	}{{0, 0}, {0.699, 0}, {0.7, 1}, {0.949, 1}, {0.95, 2}, {0.9999, 2}} {
		if got := p.Pick(c.u); got != c.want {
			t.Errorf("Pick(%v) = %d, want %d", c.u, got, c.want)
		}
	}
	counts := make([]int, 3)
	for seq := range int64(100000) {
		counts[p.PickSeq(11, seq)]++
	}
	for i, w := range []float64{0.7, 0.25, 0.05} {
		if got := float64(counts[i]) / 100000; math.Abs(got-w) > 0.01 {
			t.Errorf("journey %d picked %.3f of the time, want %.2f", i, got, w)
		}
	}
}

func TestUserIDs(t *testing.T) {
	seq := NewUserIDs(Users{Count: 3, IDs: "sequential"}, 1)
	for i, want := range []int64{1, 2, 3, 1, 2} {
		if got := seq.User(int64(i)); got != want {
			t.Errorf("sequential user of %d = %d, want %d", i, got, want)
		}
	}
	z := NewUserIDs(Users{Count: 1000, IDs: "zipf", Skew: 1.1}, 7)
	hits := map[int64]int{}
	for i := range int64(50000) {
		u := z.User(i)
		if u < 1 || u > 1000 {
			t.Fatalf("user %d out of range", u)
		}
		hits[u]++
	}
	if hits[1] <= hits[2] || hits[2] <= hits[10] || hits[10] <= hits[500] {
		t.Errorf("not skewed: rank1 %d rank2 %d rank10 %d rank500 %d", hits[1], hits[2], hits[10], hits[500])
	}
	if z.User(42) != NewUserIDs(Users{Count: 1000, IDs: "zipf", Skew: 1.1}, 7).User(42) {
		t.Error("not deterministic")
	}
}

func TestThinkSampler(t *testing.T) {
	fixed := NewThinkSampler(Think{Fixed: Duration(time.Second)}, 1, 0)
	if fixed.Sample() != time.Second || fixed.At(0.3) != time.Second {
		t.Error("fixed")
	}
	rng := NewThinkSampler(Think{Min: Duration(100 * time.Millisecond), Max: Duration(time.Second)}, 1, 0)
	if rng.At(0) != 100*time.Millisecond || rng.At(0.5) != 550*time.Millisecond {
		t.Errorf("range: %v %v", rng.At(0), rng.At(0.5))
	}
	ln := NewThinkSampler(Think{Dist: "lognormal", P50: Duration(300 * time.Millisecond), P99: Duration(3 * time.Second)}, 1, 0)
	if d := ln.At(0.5); d != 300*time.Millisecond {
		t.Errorf("lognormal median %v", d)
	}
	if d := ln.At(0.99); d < 2999*time.Millisecond || d > 3001*time.Millisecond {
		t.Errorf("lognormal p99 %v", d)
	}
	ex := NewThinkSampler(Think{Dist: "exponential", Mean: Duration(2 * time.Second)}, 1, 0)
	sum := time.Duration(0)
	for range 20000 {
		sum += ex.Sample()
	}
	if mean := sum / 20000; mean < 1900*time.Millisecond || mean > 2100*time.Millisecond {
		t.Errorf("exponential mean %v", mean)
	}
	a, b := NewThinkSampler(Think{Dist: "exponential", Mean: Duration(time.Second)}, 5, 1), NewThinkSampler(Think{Dist: "exponential", Mean: Duration(time.Second)}, 5, 1)
	if a.Sample() != b.Sample() {
		t.Error("same seed and stream, different draws")
	}
	if WallThink(time.Minute, 60) != time.Second {
		t.Error("WallThink")
	}
}

func TestRetry(t *testing.T) {
	r := CompileRetry(&Retry{On: []string{"429", "503", "SHED", "timeout"}, Max: 3, Backoff: Duration(200 * time.Millisecond), Jitter: Duration(100 * time.Millisecond)})
	for _, c := range []struct {
		status int
		code   string
		errc   outcome.ErrorClass
		want   bool
	}{{429, "", "", true}, {503, "", "", true}, {500, "SHED", "", true}, {410, "SOLD_OUT", "", false}, {200, "", "", false},
		{0, "", outcome.ErrTimeout, true}, {0, "", outcome.ErrReset, false}, {504, "", "", false}} {
		if got := r.Matches(c.status, c.code, c.errc); got != c.want {
			t.Errorf("Matches(%d, %q, %q) = %v", c.status, c.code, c.errc, got)
		}
	}
	if d := r.Delay(1, 0, 0); d != 200*time.Millisecond {
		t.Errorf("first delay %v", d)
	}
	if d := r.Delay(3, 0.5, 0); d != 850*time.Millisecond {
		t.Errorf("third delay %v", d)
	}
	if d := r.Delay(1, 0, 2*time.Second); d != 2*time.Second {
		t.Errorf("Retry-After not honoured: %v", d)
	}
	if d := r.Delay(50, 0, 0); d != 200*time.Millisecond<<MaxDoublings {
		t.Errorf("doubling not capped at 2^%d: %v", MaxDoublings, d)
	}
	if d := CompileRetry(&Retry{On: []string{"503"}, Max: 1}).Delay(1, 0.9, 0); d != 0 {
		t.Errorf("no backoff: want an immediate retry, got %v", d)
	}
	if all := CompileRetry(&Retry{On: []string{"error"}, Max: 1}); !all.Matches(0, "", outcome.ErrRefused) || !all.Matches(0, "", outcome.ErrBadAnswer) || all.Matches(503, "", "") {
		t.Error("error names every error class and no status")
	}
	now := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"3": 3 * time.Second, "Wed, 11 Nov 2026 00:00:05 GMT": 5 * time.Second} {
		if d, ok := ParseRetryAfter([]byte(in), now); !ok || d != want {
			t.Errorf("ParseRetryAfter(%q) = %v %v", in, d, ok)
		}
	}
	for _, bad := range []string{"", "-1", "soon"} {
		if _, ok := ParseRetryAfter([]byte(bad), now); ok {
			t.Errorf("ParseRetryAfter(%q) accepted", bad)
		}
	}
}

func TestTemplate(t *testing.T) {
	table := &Table{Columns: []string{"name", "token"}, Rows: [][]string{{"ann", "t1"}, {"bob", "t2"}}}
	tp, err := CompileTemplate(`{"user":"{{user}}","sku":"{{ sku }}","key":"{{key}}","seq":{{seq}},"tok":"{{user.token}}","o":"{{order}}","g":"{{group}}","r":{{rand.int}}}`, table)
	if err != nil {
		t.Fatal(err)
	}
	s := &Scenario{UserTable: table}
	v := &Vars{User: 2, SKU: "phone-x", Key: []byte("k-9"), Seq: 41, Order: "o1", Group: "g7", Rand: 10, Row: s.UserRow(2)}
	got := string(tp.Append(nil, v))
	want := `{"user":"2","sku":"phone-x","key":"k-9","seq":41,"tok":"t2","o":"o1","g":"g7","r":5}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !tp.Uses("order") || !tp.Uses("user.token") || tp.Static() {
		t.Error("Uses/Static")
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(1000, func() { buf = tp.Append(buf[:0], v) }); n != 0 {
		t.Errorf("%v allocations per render", n)
	}
	for _, bad := range []string{"{{", "{{nope}}", "{{user.missing}}"} {
		if _, err := CompileTemplate(bad, table); err == nil {
			t.Errorf("CompileTemplate(%q) accepted", bad)
		}
	}
}

func TestPresets(t *testing.T) {
	s := mustParse(t, okBase+"api: {purchase: 'PUT /api/seckill/{{sku}}', view: '/api/items/{{sku}}'}\n")
	ps, err := NewPresets(s)
	if err != nil {
		t.Fatal(err)
	}
	v := &Vars{SKU: "x", Order: "o-1", Group: "g-1"}
	for _, c := range []struct {
		p          Preset
		method, to string
	}{
		{ps.Purchase, "PUT", "/api/seckill/x"}, {ps.View, "GET", "/api/items/x"}, {ps.Pay, "POST", "/v1/orders/o-1/pay"},
		{ps.Cancel, "POST", "/v1/orders/o-1/cancel"}, {ps.JoinGroup, "POST", "/v1/groups/g-1/join"}, {ps.CreateGroup, "POST", "/v1/groups"},
	} {
		if c.p.Method != c.method || string(c.p.Path.Append(nil, v)) != c.to {
			t.Errorf("preset %s %s, want %s %s", c.p.Method, c.p.Path.Append(nil, v), c.method, c.to)
		}
	}
	if b := string(ps.CreateGroup.Body.Append(nil, v)); b != `{"sku":"x"}` {
		t.Errorf("create group body %s", b)
	}
	if b := string(PurchaseBody(nil, 2, "g-1", "TEAM3")); b != `{"qty":2,"group_id":"g-1","coupon":"TEAM3"}` {
		t.Errorf("purchase body %s", b)
	}
}

func TestClassify(t *testing.T) {
	c := NewClassifier([]Classify{
		{Status: []int{200}, JSON: &JSONMatch{Field: "result", Equals: "ok"}, Outcome: "acknowledged"},
		{Status: []int{200}, JSON: &JSONMatch{Field: "result", Equals: "none"}, Outcome: "sold_out"},
		{Status: []int{409}, Outcome: "sold_out"},
		{Status: []int{429, 503}, Outcome: "shed"},
	})
	for _, x := range []struct {
		status int
		body   string
		want   outcome.Outcome
	}{
		{200, `{"result":"ok"}`, outcome.Acknowledged},
		{200, ` { "id": {"result":"none"}, "result" : "none" }`, outcome.SoldOut},
		{200, `{"result":"maybe"}`, outcome.Acknowledged}, // no rule: 2xx
		{409, ``, outcome.SoldOut},
		{503, `busy`, outcome.Shed},
		{500, `{}`, outcome.Unknown}, // no rule, a 5xx: the work may have been done
		{404, `{}`, outcome.Error},   // no rule
	} {
		if got := c.Classify(x.status, []byte(x.body)); got != x.want {
			t.Errorf("Classify(%d, %s) = %v, want %v", x.status, x.body, got, x.want)
		}
	}
	d := NewClassifier([]Classify{{JSON: &JSONMatch{Field: "code", Equals: "SOLD_OUT"}, Outcome: "sold_out"}})
	for body, want := range map[string]outcome.Outcome{
		`{"code":"SOLD_OUT","error":"x"}`: outcome.SoldOut, `{"code":"LIMIT_EXCEEDED"}`: outcome.Error,
	} {
		if got := d.Classify(400, []byte(body)); got != want {
			t.Errorf("%s = %v, want %v", body, got, want)
		}
	}
	body := []byte(`{"code":"SOLD_OUT","error":"sold out"}`)
	if n := testing.AllocsPerRun(1000, func() { d.Classify(410, body) }); n != 0 {
		t.Errorf("%v allocations per classify", n)
	}
}

func FuzzJSONField(f *testing.F) {
	for _, s := range []string{`{"code":"RESERVED"}`, `{"a":{"code":1},"code":2}`, `{"code":"x\"y"}`, `[1]`, `{"code":null}`, `{"a":[1,"}"],"code":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, ok := JSONField(body, []byte(`"code"`))
		if !ok {
			return
		}
		// When the scanner answers for valid JSON, it must agree with encoding/json.
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			return
		}
		raw, present := m["code"]
		if !present {
			// A duplicate or escaped key can hide it from the map; the scanner saw a literal "code".
			if !bytes.Contains(body, []byte(`"code"`)) {
				t.Fatalf("found %q in %s, which has no code", v, body)
			}
			return
		}
		want := strings.TrimSpace(string(raw))
		if strings.HasPrefix(want, `"`) {
			want = strings.TrimSuffix(strings.TrimPrefix(want, `"`), `"`)
		}
		if bytes.Count(body, []byte(`"code"`)) == 1 && string(v) != want {
			t.Fatalf("JSONField = %q, encoding/json = %q in %s", v, want, body)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/v1/{{sku}}/buy", "{{user.token}}", "{{", "}}{{key}}", "{{rand.int}}"} {
		f.Add(s)
	}
	table := &Table{Columns: []string{"token"}, Rows: [][]string{{"t"}}}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := CompileTemplate(s, table)
		if err != nil {
			return
		}
		out := tp.Append(nil, &Vars{SKU: "S", Row: []string{"t"}})
		if !strings.Contains(s, "{{") && string(out) != s {
			t.Fatalf("literal %q rendered as %q", s, out)
		}
	})
}

func BenchmarkTemplateAppend(b *testing.B) {
	tp, _ := CompileTemplate(`{"user":"{{user}}","sku":"{{sku}}","key":"{{key}}","qty":1}`, nil)
	v := &Vars{User: 123456, SKU: "phone-x", Key: []byte("0123456789abcdef")}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for range b.N {
		buf = tp.Append(buf[:0], v)
	}
}

func BenchmarkClassify(b *testing.B) {
	d := NewClassifier([]Classify{{JSON: &JSONMatch{Field: "code", Equals: "SOLD_OUT"}, Outcome: "sold_out"}})
	body := []byte(`{"code":"SOLD_OUT","error":"sold out","sku":"phone-x"}`)
	b.ReportAllocs()
	for range b.N {
		d.Classify(410, body)
	}
}

func TestRequestWithData(t *testing.T) {
	s, err := Load("testdata/request.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Journeys[0].Steps[0].Request
	h, err := CompileTemplate(r.Headers["Authorization"], s.UserTable)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(h.Append(nil, &Vars{Row: s.UserRow(2)})); got != "Bearer tok-b" {
		t.Errorf("header %q", got)
	}
	if got := string(h.Append(nil, &Vars{Row: s.UserRow(3)})); got != "Bearer tok-a" {
		t.Errorf("rows do not cycle: %q", got)
	}
	if c := NewClassifier(r.Classify); c.Classify(200, []byte(`{"result":"ok"}`)) != outcome.Acknowledged || c.Classify(503, nil) != outcome.Shed {
		t.Error("classify rules of the file")
	}
}

func FuzzReadTable(f *testing.F) {
	f.Add("name,token\nann,t\n")
	f.Add("a,a\n1,2\n")
	f.Add("x\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, s string) {
		tb, err := readTable(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(tb.Columns) == 0 || len(tb.Rows) == 0 {
			t.Fatalf("table %+v", tb)
		}
		for i, c := range tb.Columns {
			if tb.Column(c) != i {
				t.Fatalf("column %q not found at %d", c, i)
			}
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"POST /v1/skus/{{sku}}/purchase", "/x", "get /x", "PUT https://a/{{order}}", "POST  /a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, p, err := ParseEndpoint(s, nil)
		if err != nil {
			return
		}
		if !methodRe.MatchString(m) || p == nil {
			t.Fatalf("%q → %q %v", s, m, p)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "Wed, 11 Nov 2026 00:00:05 GMT", "-1", "", "99999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseRetryAfter([]byte(s), now); ok && d < 0 {
			t.Fatalf("%q → %v", s, d)
		}
	})
}

// FuzzFixedMs: the integer parse of a dur agrees with the float parse wherever it answers.
func FuzzFixedMs(f *testing.F) {
	for _, s := range []string{"0.019", "12", "3600000", "3600000.000001", "0.000001", "1.", ".5", "1e3", "9999999", "0.1234567"} {
		f.Add(s)
	}
	if d, ok := fixedMs([]byte("0.019")); !ok || d != 19*time.Microsecond {
		f.Fatalf("fixedMs(0.019) = %v %v: the common form must not fall back", d, ok)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := fixedMs([]byte(s))
		if !ok {
			return
		}
		if want, wok := floatMs([]byte(s)); !wok || d != want {
			t.Fatalf("fixedMs(%q) = %v, the float parse %v %v", s, d, want, wok)
		}
	})
}

func TestParseServerTiming(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"app;dur=12.345":      12345 * time.Microsecond,
		"app;dur=0.000":       0,
		"app;dur=3":           3 * time.Millisecond,
		` app ; dur = "7.5" `: 7500 * time.Microsecond,
		"app;DUR=1e1":         10 * time.Millisecond,
		"cache;desc=hit, db;dur=53.2, app;dur=47.2": 53200 * time.Microsecond,
		`miss, db;desc="a, b; dur=9";dur=2`:         2 * time.Millisecond,
		`cdn;desc="x\"y;dur=1";dur=4`:               4 * time.Millisecond,
		"app;desc=total;dur=5;dur=6":                5 * time.Millisecond,
		"app;dur=3600000":                           time.Hour,
		"\tapp;\tdur=1.5\t":                         1500 * time.Microsecond,
	} {
		if d, ok := ParseServerTiming([]byte(in)); !ok || d != want {
			t.Errorf("ParseServerTiming(%q) = %v %v, want %v", in, d, ok, want)
		}
	}
	for _, bad := range []string{"", "app", "app;desc=x", "app;dur", "app;dur=", `app;dur=""`, "app;dur=-1",
		"app;dur=NaN", "app;dur=inf", "app;dur=+Inf", "app;dur=0x10", "app;dur=1_000", "app;dur=3600000.001",
		"app;dur=1e300", "app;dur=12ms", ";dur=5", "app;dur=2 x", "app;dur=1 2", `app;desc="dur=5"`} {
		if d, ok := ParseServerTiming([]byte(bad)); ok {
			t.Errorf("ParseServerTiming(%q) = %v, accepted", bad, d)
		}
	}
	v := []byte("cache;desc=hit, app;dur=12.345")
	if n := testing.AllocsPerRun(100, func() { ParseServerTiming(v) }); n != 0 {
		t.Errorf("ParseServerTiming allocates %v times", n)
	}
}

// appendServerTiming writes a Server-Timing value as the target does (target/handlers.go).
func appendServerTiming(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(append(b, "app;dur="...), float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"app;dur=12.345", `db;desc="a,b";dur="3"`, "a, b;dur=1e2", "app;dur=-0", "app;dur=NaN", ""} {
		f.Add(s, int64(0))
	}
	f.Add("", int64(12345678))
	f.Add("", int64(time.Hour))
	f.Fuzz(func(t *testing.T, s string, ns int64) {
		if d, ok := ParseServerTiming([]byte(s)); ok && (d < 0 || d > MaxServerTiming) {
			t.Fatalf("%q → %v", s, d)
		}
		// What the target writes reads back to within half a microsecond (3 decimals of ms).
		d := time.Duration(ns % int64(MaxServerTiming+1))
		d = max(d, -d)
		v := appendServerTiming(nil, d)
		got, ok := ParseServerTiming(v)
		if diff := got - d; !ok || diff < -500 || diff > 500 {
			t.Fatalf("%v written as %q reads %v %v", d, v, got, ok)
		}
	})
}
