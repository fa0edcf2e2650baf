package engine

import (
	"bytes"
	"slices"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/scenario"
)

var (
	quotedCode    = []byte(`"code"`)
	quotedOrderID = []byte(`"order_id"`)
	quotedID      = []byte(`"id"`)
	quotedGroupID = []byte(`"group_id"`)
	quotedStatus  = []byte(`"status"`)
)

// A code read from a body is interned: a known code (the target's, internal/codes) becomes the
// constant string, so the hot path allocates nothing, and an unknown one becomes CodeOther, so a
// target answering arbitrary strings cannot grow the counters' maps.
const CodeOther = "OTHER"

var knownCodes = func() map[string]string {
	m := map[string]string{}
	for _, c := range append(slices.Clone(codes.All), "CANCELLED", "ERROR", CodeOther) {
		m[c] = c
	}
	return m
}()

// internCode maps the bytes of a JSON code to its constant without allocating.
func internCode(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if c, ok := knownCodes[string(b)]; ok {
		return c
	}
	return CodeOther
}

// answerCode reads the JSON `code` of an answer, interned. Plain-text answers (fasthttp's own
// 503/429) have none and give "".
func answerCode(body []byte) string {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	v, ok := scenario.JSONField(b, quotedCode)
	if !ok {
		return ""
	}
	return internCode(v)
}
