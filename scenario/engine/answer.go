package engine

import (
	"bytes"

	"github.com/flashload/flashload/scenario"
)

var (
	quotedCode    = []byte(`"code"`)
	quotedOrderID = []byte(`"order_id"`)
	quotedID      = []byte(`"id"`)
	quotedGroupID = []byte(`"group_id"`)
	quotedStatus  = []byte(`"status"`)
)

// Answer codes of flashload's target (DESIGN.md, "Target HTTP API", and target/). A code read
// from a body is interned: a known code becomes the constant string, so the hot path allocates
// nothing, and an unknown one becomes CodeOther, so a target answering arbitrary strings cannot
// grow the counters' maps.
const (
	CodeReserved      = "RESERVED"
	CodeSoldOut       = "SOLD_OUT"
	CodeLimitExceeded = "LIMIT_EXCEEDED"
	CodeInFlight      = "IN_FLIGHT"
	CodeKeyReused     = "KEY_REUSED"
	CodeBadRequest    = "BAD_REQUEST"
	CodeNotStarted    = "NOT_STARTED"
	CodeRateLimited   = "RATE_LIMITED"
	CodeShed          = "SHED"
	CodeOK            = "OK"
	CodeJoined        = "JOINED"
	CodeGroupCreated  = "GROUP_CREATED"
	CodeOther         = "OTHER"
)

var knownCodes = func() map[string]string {
	m := map[string]string{}
	for _, c := range []string{CodeReserved, CodeSoldOut, CodeLimitExceeded, CodeInFlight, CodeKeyReused,
		CodeBadRequest, CodeNotStarted, CodeRateLimited, CodeShed, CodeOK, CodeJoined, CodeGroupCreated,
		"PAID", "CANCELLED", "RELEASED", "ALREADY_PAID", "BODY_TOO_LARGE", "COUPON_LOCKED", "EXPIRED",
		"FAULT", "FORBIDDEN", "GROUP_FULL", "METHOD_NOT_ALLOWED", "NOT_FOUND", "NOT_MEMBER", "SALE_ENDED",
		"STORE_UNAVAILABLE", "UNAUTHORIZED", "ERROR", CodeOther} {
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
