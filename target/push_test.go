package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/feed"
)

// feedSub is a subscriber whose receipts arrive on a channel.
type feedSub struct {
	c   *feed.Conn
	ch  chan feed.Receipt
	err chan error
}

func subscribe(t testing.TB, base, sku string, via feed.Via) *feedSub {
	t.Helper()
	c, err := feed.Dial(context.Background(), feed.URL(base, sku, via), feed.Options{Via: via})
	if err != nil {
		t.Fatalf("subscribe %s %s: %v", via, sku, err)
	}
	s := &feedSub{c: c, ch: make(chan feed.Receipt, 4096), err: make(chan error, 1)}
	go func() {
		for {
			r, err := c.Next()
			if err != nil {
				s.err <- err
				close(s.ch)
				return
			}
			s.ch <- r
		}
	}()
	t.Cleanup(func() { c.Close() })
	return s
}

// next waits for a message.
func (s *feedSub) next(t testing.TB, within time.Duration) feed.Receipt {
	t.Helper()
	select {
	case r, ok := <-s.ch:
		if !ok {
			t.Fatalf("feed ended: %v", <-s.err)
		}
		if !r.Parsed {
			t.Fatalf("message %q is not a feed message", r.Raw)
		}
		return r
	case <-time.After(within):
		t.Fatalf("no message within %v", within)
	}
	return feed.Receipt{}
}

// until waits for a message that satisfies ok, returning it.
func (s *feedSub) until(t testing.TB, within time.Duration, ok func(feed.Receipt) bool) feed.Receipt {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := s.next(t, time.Until(deadline))
		if ok(r) {
			return r
		}
	}
}

// settle reads messages until none comes for quiet, and returns the last one read (the zero
// Receipt when none came).
func (s *feedSub) settle(t testing.TB, quiet time.Duration) feed.Receipt {
	t.Helper()
	var last feed.Receipt
	for {
		select {
		case r, ok := <-s.ch:
			if !ok {
				t.Fatalf("feed ended: %v", <-s.err)
			}
			last = r
		case <-time.After(quiet):
			return last
		}
	}
}

// quiet says no message arrives within d.
func (s *feedSub) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case r, ok := <-s.ch:
		if ok {
			t.Fatalf("unexpected message %s", r.Raw)
		}
	case <-time.After(d):
	}
}

// TestPushFeeds: on one process, WebSocket and SSE subscribers get the state at once (the
// first message, stamped when sent), then each change with a higher seq, the same message on
// both transports; the last unit sold says sold_out.
func TestPushFeeds(t *testing.T) {
	for _, strategy := range []string{"memory", "sharded"} {
		t.Run(strategy, func(t *testing.T) {
			ts := startServer(t, testOptions(t, strategy))
			ts.createSKU(t, `{"sku":"s","stock":3,"price":5}`)
			ws, sse := subscribe(t, ts.url, "s", feed.WS), subscribe(t, ts.url, "s", feed.SSE)
			var seq int64
			for _, sub := range []*feedSub{ws, sse} {
				r := sub.next(t, 5*time.Second)
				if !r.First || r.SKU != "s" || r.State != "open" || r.Available != 3 || r.Latency <= 0 || r.Latency > time.Second {
					t.Fatalf("first message %+v", r)
				}
				seq = r.Seq
			}
			for i, want := range []string{"open", "open", "sold_out"} {
				ts.buy(t, "s", fmt.Sprintf("u%d", i), "", "")
				var got [2]feed.Receipt
				for j, sub := range []*feedSub{ws, sse} {
					got[j] = sub.next(t, 5*time.Second)
					r := got[j]
					if r.First || r.State != want || r.Available != int64(2-i) || r.Seq <= seq {
						t.Fatalf("after purchase %d (%d): %+v after seq %d", i, j, r, seq)
					}
				}
				if got[0].Seq != got[1].Seq || got[0].SentAtNs != got[1].SentAtNs {
					t.Fatalf("ws and sse got different messages: %s / %s", got[0].Raw, got[1].Raw)
				}
				seq = got[0].Seq
			}
			sse.quiet(t, 50*time.Millisecond)
		})
	}
}

// TestPushCoalescing: a burst of purchases yields at most one message per push interval, and
// the last message holds the final state.
func TestPushCoalescing(t *testing.T) {
	o := testOptions(t, "memory")
	o.PushInterval = 40 * time.Millisecond
	ts := startServer(t, o)
	ts.createSKU(t, `{"sku":"s","stock":1000,"price":5}`)
	sub := subscribe(t, ts.url, "s", feed.WS)
	first := sub.next(t, 5*time.Second)
	const buyers, each = 8, 25
	var wg sync.WaitGroup
	start := time.Now()
	for b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ts.buy(t, "s", fmt.Sprintf("u%d-%d", b, i), "", "")
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	burst := time.Since(start)
	var got []feed.Receipt
	for {
		r := sub.next(t, 5*time.Second)
		got = append(got, r)
		if r.Available == 1000-buyers*each {
			break
		}
	}
	sub.quiet(t, 3*o.PushInterval)
	prev := first.SentAtNs
	for _, r := range got {
		if gap := time.Duration(r.SentAtNs - prev); gap < o.PushInterval {
			t.Fatalf("two messages %v apart, interval %v: %s", gap, o.PushInterval, r.Raw)
		}
		prev = r.SentAtNs
	}
	most := int(burst/o.PushInterval) + 2
	if len(got) > most || len(got) < 2 {
		t.Fatalf("%d messages for %d purchases over %v at most one per %v", len(got), buyers*each, burst, o.PushInterval)
	}
	t.Logf("%d purchases in %v: %d messages", buyers*each, burst, len(got))
}

// TestPushOpeningAndEnd: timers at starts_at and ends_at send the opening and the end, with
// no change in between.
func TestPushOpeningAndEnd(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	now := time.Now()
	starts, ends := now.Add(400*time.Millisecond), now.Add(900*time.Millisecond)
	ts.createSKU(t, fmt.Sprintf(`{"sku":"s","stock":5,"price":5,"starts_at":%q,"ends_at":%q}`,
		starts.UTC().Format(time.RFC3339Nano), ends.UTC().Format(time.RFC3339Nano)))
	sub := subscribe(t, ts.url, "s", feed.SSE)
	w := sub.next(t, 5*time.Second)
	if w.State != "waiting" || w.Available != 5 {
		t.Fatalf("before the opening: %+v", w)
	}
	for _, c := range []struct {
		state string
		at    time.Time
	}{{"open", starts}, {"ended", ends}} {
		r := sub.next(t, 5*time.Second)
		sent := time.Unix(0, r.SentAtNs)
		if r.State != c.state || r.Seq <= w.Seq || sent.Before(c.at) || sent.Sub(c.at) > 200*time.Millisecond {
			t.Fatalf("want %s at %v, got %+v sent %v after", c.state, c.at, r, sent.Sub(c.at))
		}
		w = r
	}
}

// TestPushShutdownEndsFeeds: Shutdown ends WebSocket and SSE feeds (the server says so).
func TestPushShutdownEndsFeeds(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":5,"price":5}`)
	subs := []*feedSub{subscribe(t, ts.url, "s", feed.WS), subscribe(t, ts.url, "s", feed.SSE)}
	for _, s := range subs {
		s.next(t, 5*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		select {
		case err := <-s.err:
			if !errors.Is(err, feed.ErrClosed) {
				t.Fatalf("feed %d ended with %v, want the server's close", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("feed %d still open after Shutdown", i)
		}
	}
}

// TestPushRefusals: a WebSocket route that cannot upgrade answers a JSON error.
func TestPushRefusals(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":5,"price":5}`)
	for _, c := range []struct {
		path   string
		header map[string]string
		status int
	}{
		{"/v1/skus/s/ws", nil, 400},
		{"/v1/skus/nope/ws", nil, 404},
		{"/v1/skus/s/ws", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "8"}, 400},
	} {
		if a := ts.do(t, "GET", c.path, c.header, ""); a.status != c.status || a.code() == "" {
			t.Fatalf("GET %s %v: %d %s", c.path, c.header, a.status, a.body)
		}
	}
	if _, err := feed.Dial(context.Background(), feed.URL(ts.url, "nope", feed.SSE), feed.Options{Via: feed.SSE}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("SSE of an unknown sku: %v", err)
	}
}

// TestPushBroadcastSkipsSlowSubscribers: fanning out never waits for a subscriber; one that
// has not taken its last message is counted as skipping and then gets the latest state, not
// the ones in between.
func TestPushBroadcastSkipsSlowSubscribers(t *testing.T) {
	ts := startServer(t, testOptions(t, "memory"))
	ts.createSKU(t, `{"sku":"s","stock":5,"price":5}`)
	h, slow := ts.push.subscribe("s", true)
	defer ts.push.unsubscribe(h, slow, true)
	h2, fast := ts.push.subscribe("s", true)
	defer ts.push.unsubscribe(h2, fast, true)
	if h != h2 {
		t.Fatal("two hubs for one SKU in one process")
	}
	<-fast.wake // the first message, built by the hub
	skipped := ts.push.skipped.Load()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			h.broadcast(encodePush("s", int64(1000+i), stOpen, int64(i), time.Now(), true))
			<-fast.wake
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("broadcast blocked on a subscriber that does not read")
	}
	if got := ts.push.skipped.Load() - skipped; got < 999 {
		t.Fatalf("%d skips counted for the slow subscriber, want ≥ 999", got)
	}
	<-slow.wake
	if m := h.latest.Load(); m.seq != 1999 {
		t.Fatalf("the slow subscriber would write seq %d, want the latest 1999", m.seq)
	}
}
