// Package browser drives Debian's headless Chromium from tests, over the DevTools protocol
// (chromedp): open a page, wait for a script condition, read values, move the mouse, take a
// screenshot. Every page records its console errors, uncaught exceptions, failed loads and CSP
// violations (Errors) and every network request it made (Requests), so a test can say "no
// console error, no request" of a page. Only tests import it.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/flashload/flashload/internal/testenv"
)

// Browser is one headless Chromium process; its pages are tabs of it.
type Browser struct {
	ctx context.Context
}

// Start starts headless Chromium for the test and stops it when the test ends. Without a
// chromium binary the test fails under CI (scripts/test installs Debian's chromium) and skips
// elsewhere.
func Start(t testing.TB) *Browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if testenv.Required() {
			t.Fatalf("chromium is required under CI (scripts/test installs it): %v", err)
		}
		t.Skipf("chromium not installed: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Start the browser now (without a timeout: that would stop it), so a page's timeout
	// measures the page alone.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{ctx: ctx}
}

// Page is one tab, with what it logged and requested.
type Page struct {
	Ctx context.Context
	URL string

	mu       sync.Mutex
	errors   []string
	requests []string
}

// Open opens url in a new tab and waits for its load event (at most 60 s).
func (b *Browser) Open(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	p := &Page{Ctx: ctx, URL: url}
	if err := chromedp.Do(ctx); err != nil { // open the tab
		t.Fatalf("open a tab: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				p.errors = append(p.errors, "console: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.errors = append(p.errors, "exception: "+msg)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				p.errors = append(p.errors, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			p.requests = append(p.requests, ev.Request.URL)
		}
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	defer tcancel()
	enable := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(tctx, enable, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return p
}

// Errors are the console errors, exceptions and error log entries so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// Requests are the URLs the page requested so far (the page's own first).
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Eval evaluates a script expression and stores its JSON value in out (nil: discarded).
func (p *Page) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	if err := p.EvalErr(expr, out); err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
}

// EvalErr is Eval returning the error.
func (p *Page) EvalErr(expr string, out any) error {
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
	if err != nil || out == nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// WaitFor polls expr until it is true, failing the test after timeout with what the page logged.
func (p *Page) WaitFor(t testing.TB, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := p.EvalErr("!!("+expr+")", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still false after %s (eval error %v); page errors: %v", expr, timeout, err, p.Errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Mouse sends one mouse event at (x, y), CSS pixels of the viewport: "move", "down" or "up"
// (the left button).
func (p *Page) Mouse(t testing.TB, kind string, x, y float64) {
	t.Helper()
	typ := map[string]input.DispatchMouseEventType{"move": input.DispatchMouseEventTypeMouseMoved,
		"down": input.DispatchMouseEventTypeMousePressed, "up": input.DispatchMouseEventTypeMouseReleased}[kind]
	opts := []chromedp.MouseOption{chromedp.ButtonNone}
	if kind != "move" {
		opts = []chromedp.MouseOption{chromedp.ButtonLeft, chromedp.ClickCount(1)}
	}
	ctx, cancel := context.WithTimeout(p.Ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.MouseEvent(typ, x, y, opts...)); err != nil {
		t.Fatalf("mouse %s at %.0f,%.0f: %v", kind, x, y, err)
	}
}

// Rect is an element's box in CSS pixels of the viewport.
type Rect struct{ X, Y, W, H float64 }

// Box scrolls the first element matching a CSS selector into the middle of the viewport (mouse
// events reach only what is in view) and returns its bounding box there.
func (p *Page) Box(t testing.TB, selector string) Rect {
	t.Helper()
	var r Rect
	p.Eval(t, fmt.Sprintf(`(function(){var e=document.querySelector(%q);e.scrollIntoView({block:"center"});var b=e.getBoundingClientRect();return {X:b.left,Y:b.top,W:b.width,H:b.height}})()`, selector), &r)
	return r
}

// Screenshot writes a PNG of the whole page to path.
func (p *Page) Screenshot(t testing.TB, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}
