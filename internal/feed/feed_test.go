package feed

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMessage(t *testing.T) {
	for _, c := range []struct {
		raw  string
		ok   bool
		want Message
	}{
		{`{"sku":"s","state":"open","available":17,"seq":52,"sent_at_ns":1700000000000000000}`, true,
			Message{SKU: "s", State: "open", Available: 17, Seq: 52, SentAtNs: 1700000000000000000}},
		{`{"state":"sold_out","available":0,"sku":"phone-x"}`, true, Message{SKU: "phone-x", State: "sold_out"}},
		{` { "sku" : "a\u0062" , "available" : -3 } `, true, Message{SKU: "ab", Available: -3}}, // through encoding/json
		{`{"sku":"s","extra":{"a":[1,2]},"seq":9}`, true, Message{SKU: "s", Seq: 9}},
		{`{"sku":"s","seq":1,"seq":2}`, true, Message{SKU: "s", Seq: 2}},
		{`{"available":1.5}`, false, Message{}},
		{`{"sku":5}`, false, Message{}},
		{`[1,2]`, false, Message{}},
		{`hello`, false, Message{}},
		{``, false, Message{}},
	} {
		var m Message
		ok := parseMessage([]byte(c.raw), &m)
		if ok != c.ok || m != c.want {
			t.Errorf("%s: %v %+v, want %v %+v", c.raw, ok, m, c.ok, c.want)
		}
	}
}

// FuzzParseMessage: whatever the text, the fast path agrees with encoding/json whenever it
// takes the message, and parseMessage says Parsed exactly when encoding/json reads an object.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{`{"sku":"s","state":"open","available":17,"seq":52,"sent_at_ns":1}`,
		`{"sku":"s","seq":01}`, `{"seq":-0}`, `{"sku":"s",}`, `{"available":9223372036854775808}`, `{}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want Message
		jsonErr := json.Unmarshal(raw, &want)
		object := jsonErr == nil && len(strings.TrimSpace(string(raw))) > 0 && strings.TrimSpace(string(raw))[0] == '{'
		var fast Message
		if scanFlat(raw, &fast) {
			if jsonErr != nil || fast != want {
				t.Fatalf("%q: fast path %+v, encoding/json %+v (%v)", raw, fast, want, jsonErr)
			}
		}
		var m Message
		ok := parseMessage(raw, &m)
		if ok != object || ok && m != want {
			t.Fatalf("%q: parsed %v %+v, encoding/json %v %+v", raw, ok, m, object, want)
		}
	})
}

type event struct{ name, data string }

func readAll(t testing.TB, stream string) ([]event, error) {
	r := newSSEReader(strings.NewReader(stream))
	var got []event
	for {
		name, data, err := r.next()
		if err != nil {
			return got, err
		}
		got = append(got, event{name, string(data)})
	}
}

func TestSSEReader(t *testing.T) {
	for _, c := range []struct {
		stream string
		want   []event
		err    error
	}{
		{"id: 3\nevent: stock\ndata: {\"a\":1}\n\n", []event{{"stock", `{"a":1}`}}, io.EOF},
		{": keep-alive\n\ndata:x\r\ndata: y\r\n\r\ndata\n\n", []event{{"", "x\ny"}, {"", ""}}, io.EOF},
		{"data: a\r\rdata: b\n\nevent: e\n\ndata: c\n\n", []event{{"", "a"}, {"", "b"}, {"", "c"}}, io.EOF},
		{"retry: 10\nid\nfoo: bar\ndata:  two spaces\n\n", []event{{"", " two spaces"}}, io.EOF},
		{"data: cut", nil, io.ErrUnexpectedEOF},
		{"data: last\n", nil, io.EOF}, // no blank line: never dispatched
	} {
		got, err := readAll(t, c.stream)
		if !reflect.DeepEqual(got, c.want) || !errors.Is(err, c.err) {
			t.Errorf("%q: %v %v, want %v %v", c.stream, got, err, c.want, c.err)
		}
	}
	if _, err := readAll(t, "data: "+strings.Repeat("x", MaxEventBytes+1)+"\n\n"); !errors.Is(err, errEventTooLarge) {
		t.Fatalf("an event over the limit: %v", err)
	}
}

// FuzzSSEReader: any byte stream ends in an error (never a panic or a hang), every event's
// data is text from data lines (no line ending inside but the joining LF), and re-encoding the
// events and reading them again gives the same events.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{"data: x\n\n", "event: a\r\ndata: b\r\n\r\n", ":c\n\ndata\n\n", "data: a\r\r", "\n\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := readAll(t, s)
		if err == nil {
			t.Fatal("the stream's end was not reported")
		}
		var b strings.Builder
		for _, e := range got {
			if strings.ContainsRune(e.data, '\r') || strings.ContainsAny(e.name, "\r\n") {
				t.Fatalf("a line ending inside %+v", e)
			}
			if e.name != "" {
				b.WriteString("event: " + e.name + "\n")
			}
			for _, line := range strings.Split(e.data, "\n") {
				b.WriteString("data: " + line + "\n")
			}
			b.WriteString("\n")
		}
		again, _ := readAll(t, b.String())
		if len(got) > 0 && !reflect.DeepEqual(again, got) {
			t.Fatalf("re-read %v, want %v", again, got)
		}
	})
}

func TestMeter(t *testing.T) {
	m := NewMeter()
	for range 3 {
		m.Connected()
	}
	m.Disconnected()
	m.Connected()
	m.Failed()
	t0 := time.Unix(100, 0)
	rec := func(seq int64, at time.Duration, lat time.Duration, first bool) {
		r := Receipt{Message: Message{SKU: "s", Seq: seq}, Parsed: true, At: t0.Add(at), Latency: lat, First: first}
		m.Record(&r)
	}
	rec(4, 0, time.Millisecond, true) // the state at connect: latency only
	rec(7, 10*time.Millisecond, 2*time.Millisecond, false)
	rec(7, 25*time.Millisecond, 17*time.Millisecond, false) // the same message 15 ms later elsewhere
	rec(8, 30*time.Millisecond, 3*time.Millisecond, false)
	m.Record(&Receipt{Raw: []byte("not a feed")})
	s := m.Stats()
	if s.Connections != 3 || s.Peak != 3 || s.ConnectFailures != 1 || s.Messages != 5 {
		t.Fatalf("counts %+v", s)
	}
	if s.Spread != 15*time.Millisecond || s.Latency.Max < 17*time.Millisecond || s.Latency.Max > 17*time.Millisecond+20*time.Microsecond || s.Latency.P50 < 2*time.Millisecond || s.Latency.P50 > 3*time.Millisecond+10*time.Microsecond {
		t.Fatalf("latency %+v spread %v", s.Latency, s.Spread)
	}
	// Old spans make room for new ones and keep their spread.
	for i := range spanKeep + 10 {
		rec(int64(100+i), time.Duration(i), time.Millisecond, false)
	}
	if s := m.Stats(); s.Spread != 15*time.Millisecond || len(m.spans) != spanKeep {
		t.Fatalf("after %d more seqs: spread %v, %d spans kept", spanKeep+10, s.Spread, len(m.spans))
	}
}

func TestDialRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1/x", "127.0.0.1:80/x", "://"} {
		for _, via := range []Via{WS, SSE} {
			if _, err := Dial(t.Context(), u, Options{Via: via}); err == nil || !strings.Contains(err.Error(), "feed url") {
				t.Errorf("%s %s: %v", via, u, err)
			}
		}
	}
	if _, err := ParseVia("poll"); err == nil {
		t.Error("via poll accepted")
	}
	if got := URL("http://h:1/", "a b", SSE); got != "http://h:1/v1/skus/a%20b/events" {
		t.Errorf("URL: %s", got)
	}
}
