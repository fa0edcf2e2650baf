package audit

import (
	"strconv"
	"strings"

	"github.com/flashload/flashload/outcome"
)

// Attempt is the compact record of one purchase attempt (one idempotency key, all its retries).
// It is a 24-byte value the engine keeps in per-worker chunks, never a map of strings: a run of
// millions of purchases costs 24 bytes each. The key is rebuilt from the run id, Seq and Step.
// User is the buyer as the service saw it ({{user}}, X-User-Id): the keyless join matches stored
// orders to attempts by it.
type Attempt struct {
	Seq     int64           // the arrival's sequence number in the whole schedule
	User    int64           // the user number the request named
	Step    uint16          // the step's index in the journey: one key per (arrival, step)
	SKU     uint16          // index into the scenario's SKUs; NoSKU when the SKU is not one of them
	Qty     uint16          // units asked for
	Outcome outcome.Outcome // the final outcome after retries
	Flags   Flags           // FlagSoldOut, FlagPaid: one byte, so an attempt stays 24 bytes
}

// Flags are an attempt's marks.
type Flags uint8

const (
	FlagSoldOut Flags = 1 << iota // the final answer was SOLD_OUT (for undersold)
	FlagPaid                      // a later step of the journey that pays it (pay, settles:) was acknowledged
)

// SoldOut reports whether the final answer was SOLD_OUT.
func (a *Attempt) SoldOut() bool { return a.Flags&FlagSoldOut != 0 }

// Paid reports whether a later step of the journey paid the purchase (acknowledged).
func (a *Attempt) Paid() bool { return a.Flags&FlagPaid != 0 }

// Mark sets or clears flag f.
func (a *Attempt) Mark(f Flags, on bool) {
	if on {
		a.Flags |= f
	} else {
		a.Flags &^= f
	}
}

// NoSKU is Attempt.SKU for a purchase of an SKU the scenario does not list.
const NoSKU = ^uint16(0)

// units is the attempt's quantity, at least one.
func (a *Attempt) units() int64 { return int64(max(a.Qty, 1)) }

// AppendKey appends the idempotency key of an attempt: RUN-SEQ-STEP. Keys are unique across
// segments (Seq is global to the schedule) and across runs (RUN is fresh per run).
func AppendKey(dst []byte, run string, seq int64, step uint16) []byte {
	dst = append(dst, run...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, uint64(step), 10)
}

// ParseKey is the inverse of AppendKey; ok is false for keys of another run or another client.
func ParseKey(key, run string) (seq int64, step uint16, ok bool) {
	if len(key) <= len(run)+1 || key[:len(run)] != run || key[len(run)] != '-' {
		return 0, 0, false
	}
	rest := key[len(run)+1:]
	i := strings.IndexByte(rest, '-')
	if i <= 0 {
		return 0, 0, false
	}
	s, err := strconv.ParseInt(rest[:i], 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false
	}
	st, err := strconv.ParseUint(rest[i+1:], 10, 16)
	if err != nil {
		return 0, 0, false
	}
	return s, uint16(st), true
}
