package target

import (
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/codes"
)

// feedWS answers GET /v1/skus/{sku}/ws: a WebSocket carrying the SKU's feed (push.go), one
// text message per state. What the client sends is read and dropped (control frames are
// answered); the connection ends when either side closes it or the server shuts down.
func (s *Server) feedWS(ctx *fasthttp.RequestCtx, name []byte) {
	if !ctx.IsGet() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use GET")
		return
	}
	k := s.known(ctx, name)
	if k == nil {
		return
	}
	// What the upgrader would refuse in plain text is refused here with a JSON code.
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "a WebSocket upgrade request (Connection: Upgrade, Upgrade: websocket)")
		return
	}
	if string(ctx.Request.Header.Peek("Sec-WebSocket-Version")) != "13" || len(ctx.Request.Header.Peek("Sec-WebSocket-Key")) == 0 {
		writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "WebSocket version 13 with a Sec-WebSocket-Key")
		return
	}
	skuName := k.name
	// On a failed handshake Upgrade has answered already (400, 403, 405). The feed runs on a
	// goroutine of its own and the hijack handler returns at once: with KeepHijackedConns the
	// server then takes back the request's context (2 KB an idle subscriber would hold), and
	// serveWS closes the connection itself.
	_ = s.push.upgrader.Upgrade(ctx, func(c *websocket.Conn) { go s.push.serveWS(skuName, c) })
}

// serveWS runs one WebSocket subscriber; a second goroutine reads, so a close from the client
// (or a dead connection) ends the feed at once. It closes the connection when it returns.
func (p *pusher) serveWS(name string, c *websocket.Conn) {
	h, sub := p.subscribe(name, true)
	defer p.unsubscribe(h, sub, true)
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		c.SetReadLimit(4 << 10)
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	}()
	p.feed(h, sub, stop, 0, func(m *pushMsg) error {
		_ = c.SetWriteDeadline(time.Now().Add(pushWriteTimeout))
		if m.ws != nil {
			return c.WritePreparedMessage(m.ws)
		}
		return c.WriteMessage(websocket.TextMessage, m.json)
	}, nil)
	select {
	case <-stop: // the client went away
	default:
		_ = c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "feed ends"), time.Now().Add(time.Second))
	}
	_ = c.Close()
	<-stop
}
