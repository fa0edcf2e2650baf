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

// Answer codes of flashload's target (DESIGN.md, "Target HTTP API"). Codes are interned: a known
// code read from a body becomes one of these constants, so the hot path allocates no string.
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
	CodePaid          = "PAID"
	CodeCancelled     = "CANCELLED"
	CodeReleased      = "RELEASED"
	CodeJoined        = "JOINED"
	CodeNotFound      = "NOT_FOUND"
	CodeUnauthorized  = "UNAUTHORIZED"
	CodeError         = "ERROR"
	CodeOther         = "OTHER" // a code this engine does not know; kept bounded for the counters
)

// internCode maps the bytes of a JSON code to a constant without allocating. Unknown codes
// become CodeOther so that a target answering arbitrary strings cannot grow the counters' maps.
func internCode(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case CodeReserved:
		return CodeReserved
	case CodeSoldOut:
		return CodeSoldOut
	case CodeLimitExceeded:
		return CodeLimitExceeded
	case CodeInFlight:
		return CodeInFlight
	case CodeKeyReused:
		return CodeKeyReused
	case CodeBadRequest:
		return CodeBadRequest
	case CodeNotStarted:
		return CodeNotStarted
	case CodeRateLimited:
		return CodeRateLimited
	case CodeShed:
		return CodeShed
	case CodeOK:
		return CodeOK
	case CodePaid:
		return CodePaid
	case CodeCancelled:
		return CodeCancelled
	case CodeReleased:
		return CodeReleased
	case CodeJoined:
		return CodeJoined
	case CodeNotFound:
		return CodeNotFound
	case CodeUnauthorized:
		return CodeUnauthorized
	case CodeError:
		return CodeError
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
