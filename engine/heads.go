package engine

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// answerHeads are the answer headers the engine itself reads: Server-Timing (the target's own
// time), Retry-After (when to retry a refusal) and the replica header. The raw transport hands
// them over as it parsed them, without building a fasthttp header for every answer (setting
// and searching one was about 5% of a closed run's CPU); fasthttp's clients fill them from
// their answer's header.
type answerHeads struct {
	serverTiming, retryAfter, replica []byte
	buf                               []byte // the values' bytes: they outlive the connection's buffer
}

// set keeps copies of the three values.
func (h *answerHeads) set(serverTiming, retryAfter, replica []byte) {
	b := append(h.buf[:0], serverTiming...)
	b = append(b, retryAfter...)
	b = append(b, replica...)
	h.buf = b
	n, m := len(serverTiming), len(serverTiming)+len(retryAfter)
	h.serverTiming, h.retryAfter, h.replica = nonNil(b[:n:n], serverTiming), nonNil(b[n:m:m], retryAfter), nonNil(b[m:], replica)
}

// nonNil is v's copy c, or nil when v is empty (an absent header).
func nonNil(c, v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return c
}

// fromHeader reads the values from a fasthttp answer's header; replica is the replica header's
// name as configured, replicaLower the same in lower case.
func (h *answerHeads) fromHeader(hd *fasthttp.ResponseHeader, replica string, replicaLower []byte) {
	h.set(answerHeader(hd, "Server-Timing", hdrServerTiming), answerHeader(hd, "Retry-After", hdrRetryAfter),
		answerHeader(hd, replica, replicaLower))
}

// answerHeader is the answer's value of the header named (lowercase) name, nil without one. The
// fasthttp clients keep header names as sent (DisableHeaderNamesNormalizing), and proxies such
// as Envoy lowercase them, so a name that Peek does not find is looked for again ignoring case.
func answerHeader(h *fasthttp.ResponseHeader, canonical string, name []byte) []byte {
	if v := h.Peek(canonical); v != nil {
		return v
	}
	for k, v := range h.All() {
		if bytes.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
