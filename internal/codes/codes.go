// Package codes holds the answer codes of flashload's reference target: the JSON `code` of every
// answer it writes (the target's HTTP API), with the HTTP status each one goes with. The
// target writes them; the scenario rules, the live engine, the simulator and the report read
// them. It imports nothing from the project, so every one of them can.
package codes

import "time"

// The codes, with the status the target answers them with.
const (
	Reserved      = "RESERVED"       // 201; 200 for a replay of a completed idempotency key, or an unpaid order read back
	Paid          = "PAID"           // 200: the order is paid
	Released      = "RELEASED"       // 200: the order is cancelled or expired, its units back in stock
	GroupCreated  = "GROUP_CREATED"  // 201
	Joined        = "JOINED"         // 200
	OK            = "OK"             // 200: an admin action done
	SoldOut       = "SOLD_OUT"       // 410
	SaleEnded     = "SALE_ENDED"     // 410
	LimitExceeded = "LIMIT_EXCEEDED" // 403: the per-user limit
	Forbidden     = "FORBIDDEN"      // 403: the order belongs to another user
	NotMember     = "NOT_MEMBER"     // 403
	CouponLocked  = "COUPON_LOCKED"  // 403
	InFlight      = "IN_FLIGHT"      // 409: a purchase with this idempotency key is being served
	Expired       = "EXPIRED"        // 409
	AlreadyPaid   = "ALREADY_PAID"   // 409
	GroupFull     = "GROUP_FULL"     // 409
	KeyReused     = "KEY_REUSED"     // 422: the idempotency key came with another body
	BadRequest    = "BAD_REQUEST"    // 400; 431 for headers too large
	NotStarted    = "NOT_STARTED"    // 425
	Unauthorized  = "UNAUTHORIZED"   // 401
	NotFound      = "NOT_FOUND"      // 404
	NotAllowed    = "METHOD_NOT_ALLOWED"
	BodyTooLarge  = "BODY_TOO_LARGE" // 413
	RateLimited   = "RATE_LIMITED"   // 429, with Retry-After
	Fault         = "FAULT"          // 500: an injected fault (POST /admin/faults)
	Shed          = "SHED"           // 503, with Retry-After: too many requests in flight
	StoreDown     = "STORE_UNAVAILABLE"
	Pending       = "PENDING"       // 409 (redis-mq): the order is acknowledged, not yet in the book of record
	NotSupported  = "NOT_SUPPORTED" // 501: a rule or fault the strategy cannot honour

	// CircuitOpen is the simulator's open circuit breaker (503); the target has no breaker.
	CircuitOpen = "CIRCUIT_OPEN"
)

// All lists every code the target writes, and CircuitOpen.
var All = []string{Reserved, Paid, Released, GroupCreated, Joined, OK, SoldOut, SaleEnded, LimitExceeded,
	Forbidden, NotMember, CouponLocked, InFlight, Expired, AlreadyPaid, GroupFull, KeyReused, BadRequest,
	NotStarted, Unauthorized, NotFound, NotAllowed, BodyTooLarge, RateLimited, Fault, Shed, StoreDown, Pending, NotSupported, CircuitOpen}

// Status is the HTTP status that goes with a code, or 0 for a code whose status varies
// (RESERVED: 201 or 200; BAD_REQUEST: 400 or 431) or that is not the target's.
func Status(code string) int {
	switch code {
	case Paid, Released, OK, Joined:
		return 200
	case GroupCreated:
		return 201
	case Unauthorized:
		return 401
	case LimitExceeded, Forbidden, NotMember, CouponLocked:
		return 403
	case NotFound:
		return 404
	case NotAllowed:
		return 405
	case InFlight, Expired, AlreadyPaid, GroupFull, Pending:
		return 409
	case SoldOut, SaleEnded:
		return 410
	case BodyTooLarge:
		return 413
	case KeyReused:
		return 422
	case NotStarted:
		return 425
	case RateLimited:
		return 429
	case Fault:
		return 500
	case NotSupported:
		return 501
	case Shed, StoreDown, CircuitOpen:
		return 503
	}
	return 0
}

// RetryAfter is the Retry-After (seconds) the target sends with SHED, RATE_LIMITED,
// STORE_UNAVAILABLE and PENDING.
const RetryAfter = "1"

// RetryAfterDelay is RetryAfter as a wait.
const RetryAfterDelay = time.Second

// RetryAfterOf is the wait the target's answer with code asks for: RetryAfter with the codes it
// sends it with, 0 otherwise. The simulator's answers carry it as the target's do.
func RetryAfterOf(code string) time.Duration {
	switch code {
	case Shed, RateLimited, StoreDown, Pending:
		return RetryAfterDelay
	}
	return 0
}

// ReplicaHeader is the header in which every answer of the target names the replica that gave
// it (serve --replica-id); the live engine counts each replica's answers from it.
const ReplicaHeader = "X-Flashload-Replica"
