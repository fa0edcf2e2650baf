package target

import (
	"bufio"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashload/flashload/internal/codes"
)

// errEnough ends an SSE stream after its ?max messages.
var errEnough = errors.New("max messages sent")

// events answers GET /v1/skus/{sku}/events: the SKU's feed (push.go) as server-sent events,
//
//	id: SEQ
//	event: stock
//	data: {"sku":...,"state":...,"available":...,"seq":...,"sent_at_ns":...}
//
// and a comment line ": keep-alive" every --event-interval (or ?interval=, at least 10ms), so
// a subscriber that went away is noticed. ?max=N ends the stream after N messages; Shutdown ends every stream.
func (s *Server) events(ctx *fasthttp.RequestCtx, name []byte) {
	if !ctx.IsGet() {
		writeErr(ctx, fasthttp.StatusMethodNotAllowed, codes.NotAllowed, "use GET")
		return
	}
	k := s.known(ctx, name)
	if k == nil {
		return
	}
	keepalive := s.opts.EventInterval
	if v := ctx.QueryArgs().Peek("interval"); len(v) > 0 {
		d, err := time.ParseDuration(string(v))
		if err != nil || d < 10*time.Millisecond {
			writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "interval must be a duration of at least 10ms")
			return
		}
		keepalive = d
	}
	limit := 0
	if v := ctx.QueryArgs().Peek("max"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			writeErr(ctx, fasthttp.StatusBadRequest, codes.BadRequest, "max must be a positive integer")
			return
		}
		limit = n
	}
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	skuName := k.name
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		h, sub := s.push.subscribe(skuName, false)
		defer s.push.unsubscribe(h, sub, false)
		sent := 0
		s.push.feed(h, sub, nil, keepalive, func(m *pushMsg) error {
			if _, err := w.Write(m.sse); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if sent++; limit > 0 && sent >= limit {
				return errEnough
			}
			return nil
		}, func() error {
			if _, err := w.WriteString(": keep-alive\n\n"); err != nil {
				return err
			}
			return w.Flush()
		})
	})
}
