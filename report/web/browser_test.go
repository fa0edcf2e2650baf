package web

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/browser"
	"github.com/flashload/flashload/result"
)

// ownAddress is this machine's first address other than loopback (up, unicast), "" without one.
func ownAddress() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return ""
}

// TestTokenOnOwnAddress serves the page on this machine's own address other than loopback
// (requests to it stay inside the machine): without --web-token it does not listen; with one,
// Chromium gets a refusal without the token and the live page with it.
func TestTokenOnOwnAddress(t *testing.T) {
	addr := ownAddress()
	if addr == "" {
		t.Skip("this machine has no address other than loopback (TestGuard checks the refusal on a listener)")
	}
	if _, err := Listen(net.JoinHostPort(addr, "0"), Options{}); err != ErrNeedsToken {
		t.Fatalf("Listen on %s without a token: %v", addr, err)
	}
	s, err := Listen(net.JoinHostPort(addr, "0"), Options{Token: "t0ken", Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &source{}
	src.n.Store(5)
	go s.Watch(ctx, src.snapshot, func() {})
	url := s.URL()
	if !strings.Contains(url, addr) {
		t.Fatalf("URL %s is not on %s", url, addr)
	}
	for _, path := range []string{"", "events", "summary.json"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /%s without the token: %s", path, resp.Status)
		}
	}
	br := browser.Start(t)
	p := br.Open(t, url)
	var body string
	p.Eval(t, "document.body.innerText", &body)
	if !strings.Contains(body, "needs its token") {
		t.Errorf("without the token the browser shows %q", body)
	}
	p = br.Open(t, url+"?token=t0ken")
	p.WaitFor(t, "window.flashload && flashload.events > 0 && flashload.ready", 20*time.Second)
	var stop bool
	p.Eval(t, `!document.getElementById("stop").hidden`, &stop)
	if !stop {
		t.Error("the page with the token offers no stop button")
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
}

// TestLiveDayOfSeconds: a page that opens on a run with 86,400 one-second windows gets them all
// at once and draws them; the charts keep up as the run goes on.
func TestLiveDayOfSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps a day of windows")
	}
	s := listen(t, Options{Interval: 200 * time.Millisecond})
	const n = 86400
	day := make([]result.TimelinePoint, n)
	for i := range day {
		x := float64(i)
		day[i] = result.TimelinePoint{T: x, Wall: x, TargetRPS: 1000 + 500*math.Sin(x/3600), AchievedRPS: 990 + 500*math.Sin(x/3600),
			P50Ms: 2, P99Ms: 20 + 5*math.Sin(x/900), Errors: int64(i % 7), StockLeft: int64(n - i)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var more atomicInt
	go s.Watch(ctx, func() result.Snapshot {
		k := more.add()
		if k == 1 {
			// The kept timeline, as a day of snapshots of their last windows leaves it.
			s.mu.Lock()
			for i := 0; i < n; i += result.DefaultSnapshotWindows {
				s.tick++
				s.merge(day[i:min(n, i+result.DefaultSnapshotWindows)])
			}
			s.mu.Unlock()
		}
		p := result.TimelinePoint{T: float64(n + k), Wall: float64(n + k), TargetRPS: 1000, AchievedRPS: 1000}
		return result.Snapshot{Name: "day", Mode: "live", Wall: time.Duration(n+k) * time.Second, Timeline: []result.TimelinePoint{p}}
	}, func() {})
	br := browser.Start(t)
	start := time.Now()
	p := br.Open(t, s.URL())
	p.WaitFor(t, "window.flashload && flashload.charts.rate && flashload.charts.rate.data[0].length >= 86400", 60*time.Second)
	load := time.Since(start)
	var before int
	p.Eval(t, "flashload.charts.rate.data[0].length", &before)
	p.WaitFor(t, "flashload.charts.rate.data[0].length > "+itoa(before+2), 20*time.Second)
	over := p.Box(t, "#chart-rate .u-over")
	p.Mouse(t, "move", over.X+over.W/2, over.Y+over.H/2)
	p.WaitFor(t, `document.querySelectorAll("#chart-rate .u-legend .u-value")[2].textContent !== "–"`, 5*time.Second)
	t.Logf("live page with %d windows: drawn %s after opening", before, load.Round(time.Millisecond))
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
	if load > 30*time.Second {
		t.Errorf("the day took %s to draw", load)
	}
}

type atomicInt struct{ n atomic.Int64 }

func (a *atomicInt) add() int { return int(a.n.Add(1)) }

func itoa(n int) string { return strconv.Itoa(n) }

// TestLiveChartsFollow: the charts' time axis follows the run as windows arrive; a zoom the
// viewer chose stays put while more arrive, and a double click goes back to following.
func TestLiveChartsFollow(t *testing.T) {
	s := listen(t, Options{Interval: 50 * time.Millisecond})
	src := &source{}
	src.n.Store(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, src.snapshot, func() {})
	br := browser.Start(t)
	p := br.Open(t, s.URL())
	p.WaitFor(t, "window.flashload && flashload.charts.rate", 10*time.Second)
	grow := func(to int64) { // a window at a time: a snapshot carries its last three
		for src.n.Load() < to {
			src.n.Add(1)
			time.Sleep(80 * time.Millisecond)
		}
	}
	for _, n := range []int{3, 6, 12} {
		grow(int64(n))
		// The last window starts at 60*(n-1) s of scenario time; the axis must reach it.
		p.WaitFor(t, "flashload.charts.rate.scales.x.max === "+itoa(60*(n-1)), 10*time.Second)
	}
	over := p.Box(t, "#chart-rate .u-over")
	var x0, x1 float64
	p.Eval(t, `flashload.charts.rate.valToPos(120, "x")`, &x0)
	p.Eval(t, `flashload.charts.rate.valToPos(360, "x")`, &x1)
	p.Mouse(t, "down", over.X+x0, over.Y+10)
	p.Mouse(t, "move", over.X+x1, over.Y+10)
	p.Mouse(t, "up", over.X+x1, over.Y+10)
	var zoom []float64
	p.Eval(t, `[flashload.charts.rate.scales.x.min, flashload.charts.rate.scales.x.max]`, &zoom)
	grow(20)
	p.WaitFor(t, "flashload.charts.rate.data[0].length === 20", 10*time.Second)
	var after []float64
	p.Eval(t, `[flashload.charts.rate.scales.x.min, flashload.charts.rate.scales.x.max]`, &after)
	if len(zoom) != 2 || zoom[1]-zoom[0] > 300 || after[0] != zoom[0] || after[1] != zoom[1] {
		t.Errorf("zoomed to %v, then %v as windows arrived", zoom, after)
	}
	p.Mouse(t, "down", over.X+over.W/2, over.Y+10) // a double click zooms out
	p.Mouse(t, "up", over.X+over.W/2, over.Y+10)
	p.Eval(t, `flashload.charts.rate.over.dispatchEvent(new MouseEvent("dblclick", {bubbles: true}))`, nil)
	grow(25)
	p.WaitFor(t, "flashload.charts.rate.scales.x.max === "+itoa(60*24)+" && flashload.charts.rate.scales.x.min === 0", 10*time.Second)
}

// TestStopButton: with the token the page offers stop; a click (confirmed) calls the run's stop
// once, as q does on the dashboard, and the page says it is stopping.
func TestStopButton(t *testing.T) {
	s := listen(t, Options{Token: "tok", Interval: 50 * time.Millisecond})
	var stops atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &source{}
	src.n.Store(3)
	go s.Watch(ctx, src.snapshot, func() { stops.Add(1) })
	br := browser.Start(t)
	p := br.Open(t, s.URL()+"?token=tok")
	p.WaitFor(t, `window.flashload && flashload.ready && !document.getElementById("stop").hidden`, 10*time.Second)
	p.Eval(t, `window.confirm = function () { return true; }`, nil)
	b := p.Box(t, "#stop")
	p.Mouse(t, "down", b.X+b.W/2, b.Y+b.H/2)
	p.Mouse(t, "up", b.X+b.W/2, b.Y+b.H/2)
	p.WaitFor(t, `flashload.state === "stopping…"`, 10*time.Second)
	if n := stops.Load(); n != 1 {
		t.Errorf("stop called %d times", n)
	}
	// A server without a token: no button.
	open := listen(t, Options{Interval: 50 * time.Millisecond})
	go open.Watch(ctx, src.snapshot, func() { stops.Add(1) })
	p = br.Open(t, open.URL())
	p.WaitFor(t, `window.flashload && flashload.ready`, 10*time.Second)
	var hidden bool
	p.Eval(t, `document.getElementById("stop").hidden`, &hidden)
	if !hidden {
		t.Error("a page without a token offers the stop button")
	}
}
