// Package feed subscribes to live stock feeds: one WebSocket or server-sent-events connection
// per Conn, yielding each message with the time it was read and, when the message carries the
// server's send time (sent_at_ns, as flashload's target writes it), its push latency. A Meter
// adds receipts up for a run: connections held, connect failures, messages, the latency
// distribution and the fan-out spread of one sequence number over all subscribers.
//
// Data enters through Dial (a URL, a transport, an optional source address) and leaves as
// Receipt values from Conn.Next; nothing here knows journeys or the result model, so the
// engine's subscribe step and the scale benchmark (bench/pushscale) use it alike.
package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
)

// Via is a feed's transport.
type Via string

// The transports.
const (
	WS  Via = "ws"
	SSE Via = "sse"
)

// ParseVia reads "ws" or "sse".
func ParseVia(s string) (Via, error) {
	switch Via(s) {
	case WS, SSE:
		return Via(s), nil
	}
	return "", fmt.Errorf("via %q: want ws or sse", s)
}

// Message is a feed message of flashload's target. Feeds of other services may carry other
// fields: Receipt.Raw keeps the text whatever it holds.
type Message struct {
	SKU       string `json:"sku"`
	State     string `json:"state"` // waiting, open, sold_out, ended
	Available int64  `json:"available"`
	Seq       int64  `json:"seq"`
	SentAtNs  int64  `json:"sent_at_ns"` // the server's send time, Unix nanoseconds
}

// Receipt is one message as a subscriber read it.
type Receipt struct {
	Message
	Parsed  bool          // Raw was a JSON object, read into Message
	Raw     []byte        // the message's text (SSE: its data lines joined by "\n")
	Event   string        // SSE: the event's type ("" for the default); WS: ""
	At      time.Time     // when it was read
	Latency time.Duration // At − sent_at_ns; 0 when the message has no send time, or one after At
	// First marks the connection's first message: the state at connect, not a change, so
	// spreads leave it out.
	First bool
}

// parse reads a message's text into r (Message, Parsed) and sets Latency from At.
func (r *Receipt) parse() {
	r.Parsed = parseMessage(r.Raw, &r.Message)
	if r.Parsed && r.SentAtNs > 0 {
		if d := r.At.Sub(time.Unix(0, r.SentAtNs)); d > 0 {
			r.Latency = d
		}
	}
}

// Options configure a connection. Zero values take the defaults.
type Options struct {
	Via Via // default WS
	// LocalAddr is the source address (a port of 0 picks one): spreading subscribers over
	// 127.0.0.x gets one machine past the ephemeral ports of one source address.
	LocalAddr *net.TCPAddr
	Header    http.Header
	// HandshakeTimeout bounds the connect and the handshake (default 10 s); ctx bounds it too.
	HandshakeTimeout time.Duration
	// ReadBufferSize is the WebSocket read buffer (default 512 bytes: feed messages are small,
	// and an idle subscriber's memory is mostly its buffers).
	ReadBufferSize int
}

// DefaultHandshakeTimeout bounds Dial when Options.HandshakeTimeout is 0.
const DefaultHandshakeTimeout = 10 * time.Second

// URL is the feed of a SKU on flashload's target at base (http://HOST:PORT).
func URL(base, sku string, via Via) string {
	base = strings.TrimRight(base, "/")
	if via == SSE {
		return base + "/v1/skus/" + url.PathEscape(sku) + "/events"
	}
	return base + "/v1/skus/" + url.PathEscape(sku) + "/ws"
}

// Conn is one subscription. Next and Close may be called from different goroutines; Next
// from one at a time.
type Conn struct {
	ws   *websocket.Conn
	body io.ReadCloser
	sse  *sseReader
	n    int64
}

// Dial subscribes to the feed at rawURL (http(s):// or ws(s)://; the scheme is adapted to the
// transport).
func Dial(ctx context.Context, rawURL string, o Options) (*Conn, error) {
	if o.Via == "" {
		o.Via = WS
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 512
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("feed url %q: want scheme://host/path", rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	nd := &net.Dialer{LocalAddr: o.LocalAddr, KeepAlive: 30 * time.Second}
	var secure bool
	switch u.Scheme {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return nil, fmt.Errorf("feed url %q: scheme %q (want http, https, ws or wss)", rawURL, u.Scheme)
	}
	switch o.Via {
	case WS:
		u.Scheme = map[bool]string{false: "ws", true: "wss"}[secure]
		d := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: o.HandshakeTimeout,
			ReadBufferSize: o.ReadBufferSize, WriteBufferSize: 256, WriteBufferPool: noPool{}}
		c, res, err := d.DialContext(ctx, u.String(), o.Header)
		if err != nil {
			if res != nil {
				return nil, fmt.Errorf("feed %s: %w (HTTP %d)", u.Redacted(), err, res.StatusCode)
			}
			return nil, fmt.Errorf("feed %s: %w", u.Redacted(), err)
		}
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		return &Conn{ws: c}, nil
	case SSE:
		u.Scheme = map[bool]string{false: "http", true: "https"}[secure]
		return dialSSE(ctx, u, o, nd)
	}
	return nil, fmt.Errorf("feed: unknown transport %q", o.Via)
}

// noPool makes the WebSocket writer allocate its buffer per message: subscribers write only
// the close frame, so an idle one keeps no write buffer.
type noPool struct{}

func (noPool) Get() any  { return nil }
func (noPool) Put(v any) {}

func dialSSE(ctx context.Context, u *url.URL, o Options, nd *net.Dialer) (*Conn, error) {
	// A transport per connection: each subscriber is its own TCP connection (from its own
	// source address), as a crowd of browsers would be.
	tr := &http.Transport{DialContext: nd.DialContext, DisableCompression: true, MaxIdleConns: 1,
		ResponseHeaderTimeout: o.HandshakeTimeout}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range o.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	type answer struct {
		res *http.Response
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := tr.RoundTrip(req)
		ch <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		tr.CloseIdleConnections()
		go func() {
			if a := <-ch; a.res != nil {
				a.res.Body.Close()
			}
		}()
		return nil, fmt.Errorf("feed %s: %w", u.Redacted(), ctx.Err())
	}
	if a.err != nil {
		return nil, fmt.Errorf("feed %s: %w", u.Redacted(), a.err)
	}
	if a.res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(a.res.Body, 512))
		a.res.Body.Close()
		return nil, fmt.Errorf("feed %s: HTTP %d: %s", u.Redacted(), a.res.StatusCode, strings.TrimSpace(string(b)))
	}
	if ct := a.res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		a.res.Body.Close()
		return nil, fmt.Errorf("feed %s: content type %q, not text/event-stream", u.Redacted(), ct)
	}
	return &Conn{body: a.res.Body, sse: newSSEReader(a.res.Body)}, nil
}

// ErrClosed is Next's error once the server ended the feed cleanly.
var ErrClosed = errors.New("feed closed by the server")

// Next blocks for the next message. A feed the server closes answers ErrClosed; a broken
// connection its error.
func (c *Conn) Next() (Receipt, error) {
	var r Receipt
	if c.ws != nil {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				return r, ErrClosed
			}
			return r, err
		}
		r.At, r.Raw = time.Now(), data
	} else {
		ev, data, err := c.sse.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return r, ErrClosed
			}
			return r, err
		}
		r.At, r.Raw, r.Event = time.Now(), data, ev
	}
	r.First = c.n == 0
	c.n++
	r.parse()
	return r, nil
}

// Close ends the subscription (a WebSocket says goodbye first, briefly).
func (c *Conn) Close() error {
	if c.ws != nil {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(100*time.Millisecond))
		return c.ws.Close()
	}
	return c.body.Close()
}
