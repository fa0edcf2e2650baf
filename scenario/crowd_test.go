package scenario

import (
	"strings"
	"testing"
	"time"
)

const crowdBase = `name: c
skus: [{sku: phone, price: 1, starts_at: "+10m"}, {sku: mug, price: 1}]
traffic: {stages: [{duration: 20m, rps: 10}]}
journeys:
  - {name: browse, steps: [{view: {sku: phone}}]}
  - {name: herd, weight: 0, steps: [{purchase: {sku: phone}}]}
`

// TestSubscribeCompiles: a subscribe step compiles to OpSubscribe with its defaults filled in
// (ws, until open, 30m); a url: feed waits for a message.
func TestSubscribeCompiles(t *testing.T) {
	s := mustParse(t, strings.Replace(crowdBase, "[{view: {sku: phone}}]",
		`[{subscribe: {sku: phone}}, {subscribe: {url: "https://x.example/feed", via: sse, match: {field: price, equals: "9"}, reconnect: true}}]`, 1))
	p, err := Compile(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Journeys[0].Steps[0], p.Journeys[0].Steps[1]
	if a.Op != OpSubscribe || a.Name != "subscribe" || a.SKUIndex != 0 || *a.Cond != (Cond{Until: UntilOpen, Via: "ws", Timeout: DefaultSubscribeTimeout}) {
		t.Errorf("sku feed: %+v %+v", a, a.Cond)
	}
	want := Cond{Until: UntilMessage, Field: "price", Equals: "9", Via: "sse", URL: "https://x.example/feed", Timeout: DefaultSubscribeTimeout, Reconnect: true}
	if b.Op != OpSubscribe || *b.Cond != want {
		t.Errorf("url feed: %+v", b.Cond)
	}
	if !a.First || b.First {
		t.Error("the first subscription stands for the arrival")
	}
}

func TestCondHolds(t *testing.T) {
	f := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cases := []struct {
		c     Cond
		state string
		msg   map[string]string
		want  bool
	}{
		{Cond{Until: UntilOpen}, "waiting", nil, false},
		{Cond{Until: UntilOpen}, "open", nil, true},
		{Cond{Until: UntilOpen}, "sold_out", nil, true}, // a late watcher: the sale opened already
		{Cond{Until: UntilSoldOut}, "open", nil, false},
		{Cond{Until: UntilSoldOut}, "sold_out", nil, true},
		{Cond{Until: UntilMessage, Field: "available", Equals: "0"}, "open", map[string]string{"available": "0"}, true},
		{Cond{Until: UntilMessage, Field: "available", Equals: "0"}, "open", map[string]string{"available": "10"}, false},
		{Cond{Until: UntilMessage, Field: "available", Equals: "0"}, "open", map[string]string{}, false},
	}
	for _, c := range cases {
		if got := c.c.Holds(c.state, f(c.msg)); got != c.want {
			t.Errorf("%+v on %s %v: %v, want %v", c.c, c.state, c.msg, got, c.want)
		}
	}
}

// TestSubscribeAndCrowdErrors: bad subscribe steps and crowds are reported at their place.
func TestSubscribeAndCrowdErrors(t *testing.T) {
	step := func(s string) string { return strings.Replace(crowdBase, "[{view: {sku: phone}}]", "["+s+"]", 1) }
	cases := []struct{ name, src, want string }{
		{"unknown sku", step("{subscribe: {sku: nope}}"), `x.yaml:5:41: journeys[0].steps[0].subscribe.sku: unknown sku "nope"`},
		{"bad via", step("{subscribe: {sku: phone, via: grpc}}"), `x.yaml:5:53: journeys[0].steps[0].subscribe.via: "grpc": the target serves ws and sse`},
		{"match field", step("{subscribe: {sku: phone, until: message, match: {field: price, equals: 1}}}"),
			`journeys[0].steps[0].subscribe.match.field: "price": no message of the SKU feed has it (fields: sku, state, available, seq, sent_at_ns)`},
		{"match without message", step("{subscribe: {sku: phone, match: {field: state, equals: open}}}"), "subscribe.match: only until: message reads match"},
		{"message without match", step("{subscribe: {sku: phone, until: message}}"), "until: message needs match"},
		{"bad until", step("{subscribe: {sku: phone, until: soon}}"), `subscribe.until: "soon": want open, sold_out or message`},
		{"sku and url", step(`{subscribe: {sku: phone, url: "http://a/b"}}`), "sku and url are exclusive"},
		{"neither", step("{subscribe: {via: ws}}"), "needs sku"},
		{"url open", step(`{subscribe: {url: "http://a/b", until: open}}`), "a url: feed waits for a message"},
		{"bad url", step(`{subscribe: {url: "ftp://a/b", match: {field: a, equals: b}}}`), "want a full http(s):// or ws(s):// URL"},
		{"crowd journey", crowdBase + "crowd: {sku: phone, watchers: 10, journey: nope}\n", `x.yaml:7:35: crowd.journey: "nope": no journey of that name`},
		{"crowd sku without starts_at", crowdBase + "crowd: {sku: mug, watchers: 10, journey: herd}\n", `x.yaml:7:9: crowd.sku: "mug" needs starts_at`},
		{"crowd unknown sku", crowdBase + "crowd: {sku: tv, watchers: 10, journey: herd}\n", `crowd.sku: unknown sku "tv"`},
		{"crowd watchers", crowdBase + "crowd: {sku: phone, watchers: 0, journey: herd}\n", "crowd.watchers: must be in 1..1000000"},
		{"crowd via", crowdBase + "crowd: {sku: phone, watchers: 5, via: tcp, journey: herd}\n", `crowd.via: "tcp"`},
		{"crowd key", crowdBase + "crowd: {sku: phone, watchers: 5, journey: herd, wachters: 1}\n", `unknown key "wachters"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestCrowdPlan: the watchers arrive uniformly over the window before the opening, on the
// run clock (the compression applies), scaled like the arrivals.
func TestCrowdPlan(t *testing.T) {
	s := mustParse(t, "compress: 60\nrate_scale: 0.5\n"+crowdBase+"crowd: {sku: phone, watchers: 1000, from: 5m, journey: herd}\n")
	p, err := s.Play(PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.CrowdPlan()
	if c == nil || c.Watchers != 500 || c.Open != 10*time.Second || c.First != 5*time.Second || c.Via != "ws" {
		t.Fatalf("plan %+v", c)
	}
	if c.Arrive(0) != c.First || c.Arrive(250) != 7500*time.Millisecond || c.Arrive(499) >= c.Open {
		t.Errorf("arrivals %v %v %v", c.Arrive(0), c.Arrive(250), c.Arrive(499))
	}
}
