package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
)

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "localhost": true, "LocalHost": true, "::1": true, "[::1]": true,
		"": false, "0.0.0.0": false, "::": false, "192.0.2.2": false, "10.0.0.1": false, "example.com": false,
		"localhost.example.com": false, "::ffff:127.0.0.1": true, "fd00::2": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestListenNeedsToken: an address other than loopback is refused without a token, before it
// listens; a bad address says what it wants.
func TestListenNeedsToken(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.2:0"} {
		if _, err := Listen(addr, Options{}); !errors.Is(err, ErrNeedsToken) {
			t.Errorf("Listen(%q) without a token: %v", addr, err)
		}
	}
	if _, err := Listen("127.0.0.1", Options{}); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Errorf("an address without a port: %v", err)
	}
	s, err := Listen("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func listen(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func status(t *testing.T, h http.Handler, method, target, host string, hdr map[string]string) int {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.Host = host
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestGuard: with a token every route needs it (query, header or bearer); without one, only a
// loopback host name is answered; stop needs a token.
func TestGuard(t *testing.T) {
	open := listen(t, Options{}).Handler()
	for host, want := range map[string]int{"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "localhost": 200,
		"evil.example:8080": 403, "192.0.2.2:8080": 403, "": 403} {
		if got := status(t, open, "GET", "/", host, nil); got != want {
			t.Errorf("Host %q: %d, want %d", host, got, want)
		}
	}
	if got := status(t, open, "POST", "/stop", "127.0.0.1", nil); got != http.StatusForbidden {
		t.Errorf("stop without a token configured: %d", got)
	}

	tok := listen(t, Options{Token: "s3cret"}).Handler()
	cases := []struct {
		target string
		hdr    map[string]string
		want   int
	}{
		{"/", nil, 401},
		{"/events", nil, 401},
		{"/summary.json", nil, 401},
		{"/report.html", nil, 401},
		{"/?token=wrong", nil, 401},
		{"/?token=s3cre", nil, 401},
		{"/?token=s3cret", nil, 200},
		{"/", map[string]string{TokenHeader: "s3cret"}, 200},
		{"/", map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"/", map[string]string{"Authorization": "Basic s3cret"}, 401},
		{"/summary.json?token=s3cret", nil, 404}, // not finished yet
	}
	for _, c := range cases {
		// Any host: the token is what counts.
		if got := status(t, tok, "GET", c.target, "192.0.2.2:8080", c.hdr); got != c.want {
			t.Errorf("GET %s %v: %d, want %d", c.target, c.hdr, got, c.want)
		}
	}
	if got := status(t, tok, "POST", "/stop?token=s3cret", "x", nil); got != http.StatusConflict {
		t.Errorf("stop with no run: %d", got)
	}
}

// event is one server-sent event.
type event struct {
	name string
	data []byte
}

// stream reads /events of s into a channel until the stream ends.
func stream(t *testing.T, s *Server, query string) <-chan event {
	t.Helper()
	return streamCtx(t, context.Background(), s, query)
}

func streamCtx(t *testing.T, ctx context.Context, s *Server, query string) <-chan event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"events"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	ch := make(chan event, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(strings.TrimPrefix(line, "data: "))
			case line == "" && ev.name != "":
				ch <- ev
				ev = event{}
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan event, name string) event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended before %s", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event in 10 s", name)
		}
	}
}

// source is a run of n one-second windows so far, each snapshot carrying the last 3 (as a
// Recorder's carries its last DefaultSnapshotWindows).
type source struct{ n atomic.Int64 }

func (src *source) snapshot() result.Snapshot {
	n := int(src.n.Load())
	sn := result.Snapshot{Name: "web-test", Mode: "live", Wall: time.Duration(n) * time.Second,
		ScenarioT: time.Duration(n) * time.Minute, ScenarioDuration: time.Hour, Progress: float64(n) / 60,
		ByCode: map[string]int64{"RESERVED": int64(10 * n)}, Total: result.WindowStats{Requests: int64(10 * n)},
		Gates:  []result.GateResult{{Expr: "p(99) < 500ms", Value: 12, Pass: true}},
		Faults: []result.Fault{{AtS: 60, Kind: "redis:kill", AppliedAtS: 61, OK: true}}}
	for i := max(0, n-3); i < n; i++ {
		sn.Timeline = append(sn.Timeline, result.TimelinePoint{T: float64(60 * i), Wall: float64(i), TargetRPS: 10, AchievedRPS: float64(i),
			SKULeft: map[string]int64{"phone-x": int64(100 - i)}})
	}
	return sn
}

type points struct {
	Wall     []float64
	Achieved []float64
	SKULeft  map[string][]*int64 `json:"sku_left"`
}

type snapEvent struct {
	Client  string
	CanStop bool `json:"can_stop"`
	Run     int
	Snap    struct {
		Name  string
		WallS float64 `json:"wall_s"`
		Done  bool
		Gates []gateRow
	}
	Points points
	Result json.RawMessage
}

func decode(t *testing.T, ev event) snapEvent {
	t.Helper()
	var s snapEvent
	if err := json.Unmarshal(ev.data, &s); err != nil {
		t.Fatalf("%s: %v: %s", ev.name, err, ev.data)
	}
	return s
}

// TestStream: a page gets the run so far, then only the windows that changed; a page that
// comes late still gets the whole timeline; the result, summary.json and report.html follow
// Finish; Close says bye and waits for the page to keep the report.
func TestStream(t *testing.T) {
	s := listen(t, Options{Interval: 20 * time.Millisecond})
	src := &source{}
	src.n.Store(2)
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); s.Watch(ctx, src.snapshot, func() {}) }()

	first := stream(t, s, "")
	hello := decode(t, next(t, first, "hello"))
	if hello.Client == "" || hello.CanStop || hello.Run != 1 {
		t.Errorf("hello: %+v", hello)
	}
	seen := map[float64]bool{}
	for _, w := range hello.Points.Wall {
		seen[w] = true
	}
	for src.n.Load() < 10 {
		src.n.Add(1)
		time.Sleep(30 * time.Millisecond)
	}
	for len(seen) < 10 {
		ev := decode(t, next(t, first, "snapshot"))
		if len(ev.Points.Wall) > 4 {
			t.Errorf("a snapshot event resends %d windows: only changed ones go", len(ev.Points.Wall))
		}
		for i, w := range ev.Points.Wall {
			seen[w] = true
			if left := ev.Points.SKULeft["phone-x"][i]; left == nil || *left != 100-int64(w) {
				t.Errorf("window %v: phone-x left %v", w, left)
			}
		}
		if len(ev.Snap.Gates) != 1 || ev.Snap.Gates[0].Value != "12.0ms" || ev.Snap.Gates[0].Verdict != "PASS" {
			t.Errorf("gates %+v", ev.Snap.Gates)
		}
	}
	lctx, leave := context.WithCancel(context.Background())
	late := decode(t, next(t, streamCtx(t, lctx, s, ""), "hello"))
	leave() // the late page leaves: Close does not wait for it
	if len(late.Points.Wall) != 10 || late.Points.Achieved[9] != 9 {
		t.Errorf("a late page gets windows %v", late.Points.Wall)
	}
	cancel()
	<-watched
	for !decode(t, next(t, first, "snapshot")).Snap.Done { // the load is over: the last snapshot says so
	}

	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	if err := os.WriteFile(report, []byte("<!DOCTYPE html><title>report</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := &result.Summary{Schema: result.SummarySchema, Name: "web-test", Gates: []result.GateResult{{Expr: "oversold == 0", Pass: false, Error: "not checked: no admin token"}}}
	if err := s.Finish(sum, report); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Summary result.Summary
		Gates   []gateRow
		Audit   string
		Report  string
	}
	if err := json.Unmarshal(next(t, first, "result").data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Summary.Name != "web-test" || res.Report != "report.html" || len(res.Gates) != 1 || res.Gates[0].Verdict != "n/a" ||
		res.Gates[0].Value != "not checked: no admin token" || !strings.Contains(res.Audit, "not checked") {
		t.Errorf("result: %+v", res)
	}
	resp, err := http.Get(s.URL() + "summary.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"web-test"`) {
		t.Errorf("summary.json: %d %s", resp.StatusCode, b)
	}

	// Close waits for the first page (shown the result) to fetch the report, then ends.
	closed := make(chan time.Duration)
	start := time.Now()
	go func() { s.Close(); closed <- time.Since(start) }()
	next(t, first, "bye")
	select {
	case <-closed:
		t.Fatal("Close did not wait for the page to keep the report")
	case <-time.After(200 * time.Millisecond):
	}
	resp, err = http.Get(s.URL() + "report.html?client=" + hello.Client)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<title>report</title>") {
		t.Errorf("report.html: %s", b)
	}
	if d := <-closed; d > DefaultLinger {
		t.Errorf("Close took %s after the report was fetched", d)
	}
}

// TestCloseLingersAtMost: a page shown the result that never fetches the report keeps Close
// waiting for Linger, no longer.
func TestCloseLingersAtMost(t *testing.T) {
	s := listen(t, Options{Linger: 300 * time.Millisecond})
	ch := stream(t, s, "")
	next(t, ch, "hello")
	report := filepath.Join(t.TempDir(), "report.html")
	os.WriteFile(report, []byte("x"), 0o644)
	if err := s.Finish(&result.Summary{Name: "x"}, report); err != nil {
		t.Fatal(err)
	}
	next(t, ch, "result")
	start := time.Now()
	s.Close()
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("Close took %s, want about the 300ms linger", d)
	}
}

// TestStop: with a token the stream says the page may stop the run, and POST /stop calls the
// run's stop once per request, only while a run is watched.
func TestStop(t *testing.T) {
	s := listen(t, Options{Token: "tok", Interval: 10 * time.Millisecond})
	var stops atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &source{}
	go s.Watch(ctx, src.snapshot, func() { stops.Add(1) })
	st := stream(t, s, "?token=tok")
	if !decode(t, next(t, st, "hello")).CanStop {
		t.Error("hello says the page cannot stop the run")
	}
	next(t, st, "snapshot") // Watch is running: there is a run to stop
	req, _ := http.NewRequest("POST", s.URL()+"stop", nil)
	req.Header.Set(TokenHeader, "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("stop: %s", resp.Status)
	}
	for deadline := time.Now().Add(5 * time.Second); stops.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if stops.Load() != 1 {
		t.Errorf("stop called %d times", stops.Load())
	}
	resp, _ = http.Post(s.URL()+"stop", "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || stops.Load() != 1 {
		t.Errorf("stop without the token: %s, %d stops", resp.Status, stops.Load())
	}
}

// TestMerge: the kept timeline replaces a window that changed, keeps one that did not (its
// version), appends later ones and slots in a skipped one in order.
func TestMerge(t *testing.T) {
	s := &Server{}
	pt := func(w, v float64) result.TimelinePoint { return result.TimelinePoint{Wall: w, T: w, AchievedRPS: v} }
	s.tick = 1
	s.merge([]result.TimelinePoint{pt(0, 1), pt(1, 1), pt(3, 1)})
	s.tick = 2
	s.merge([]result.TimelinePoint{pt(1, 1), pt(2, 5), pt(3, 2), pt(4, 1)})
	var walls []float64
	for _, h := range s.hist {
		walls = append(walls, h.p.Wall)
	}
	if len(walls) != 5 || walls[2] != 2 || walls[4] != 4 {
		t.Fatalf("walls %v", walls)
	}
	got := s.pointsSince(1)
	if len(got.Wall) != 3 || got.Wall[0] != 2 || got.Wall[1] != 3 || got.Achieved[1] != 2 {
		t.Errorf("changed since tick 1: %+v", got)
	}
}

// TestWirePush: a snapshot's push feeds reach the page with the connections held now (which the
// summary does not keep) and finite figures only.
func TestWirePush(t *testing.T) {
	p := &result.Push{Connections: 120, ConnectionsPeak: 150, ConnectFailures: 2, Messages: 900, FanoutSpreadMs: math.NaN()}
	p.LatencyMs.P99 = 12.5
	w := wireSnap(result.Snapshot{Push: p})
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Push struct {
			Held            int64   `json:"held"`
			ConnectionsPeak int64   `json:"connections_peak"`
			FanoutSpreadMs  float64 `json:"fanout_spread_ms"`
			LatencyMs       struct {
				P99 float64 `json:"p99"`
			} `json:"latency_ms"`
		} `json:"push"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Push.Held != 120 || got.Push.ConnectionsPeak != 150 || got.Push.LatencyMs.P99 != 12.5 || got.Push.FanoutSpreadMs != 0 {
		t.Errorf("push on the wire: %+v (%s)", got.Push, b)
	}
	if b, _ := json.Marshal(wireSnap(result.Snapshot{})); strings.Contains(string(b), `"push"`) {
		t.Errorf("a run without feeds sends push: %s", b)
	}
}
