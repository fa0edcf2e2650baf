package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
)

// AttemptsFile is the name of a run directory's purchase attempts: what `flashload audit` joins
// with the service's store again after the run.
const AttemptsFile = "attempts.ndjson.gz"

// AttemptsSchema is Header.Schema.
const AttemptsSchema = "flashload.attempts/v1"

// Header is the first line of an attempts file: what the join needs beside the attempts. It
// holds no secret: the store's address is read again from the scenario (env: values) when the
// run is audited again.
type Header struct {
	Schema   string    `json:"schema"`
	Run      string    `json:"run"`               // the run id: the prefix of the idempotency keys
	Segment  string    `json:"segment,omitempty"` // "I/N" of a coordinated run's generator
	Scenario string    `json:"scenario"`          // the scenario's path (absolute) or bundled name
	Target   string    `json:"target,omitempty"`  // the first target URL: relative export URLs resolve against it
	SKUs     []SKUInfo `json:"skus"`              // as played: stock and per-user limit
	Attempts int64     `json:"attempts"`
}

// SKUInfo is one played SKU in an attempts file.
type SKUInfo struct {
	SKU          string `json:"sku"`
	Stock        int64  `json:"stock"`
	LimitPerUser int    `json:"limit_per_user,omitempty"`
	Flash        bool   `json:"flash,omitempty"`
}

// SKUInfos are the SKUs as the header keeps them.
func SKUInfos(skus []scenario.SKU) []SKUInfo {
	out := make([]SKUInfo, len(skus))
	for i := range skus {
		out[i] = SKUInfo{SKU: skus[i].SKU, Stock: skus[i].Stock, LimitPerUser: skus[i].LimitPerUser, Flash: skus[i].Flash()}
	}
	return out
}

// ScenarioSKUs turns the header's SKUs back into what Input.SKUs holds. A flash SKU without a
// per-user limit keeps its mark as an empty pricing rule, which is all Flash reads.
func (h *Header) ScenarioSKUs() []scenario.SKU {
	out := make([]scenario.SKU, len(h.SKUs))
	for i, k := range h.SKUs {
		out[i] = scenario.SKU{SKU: k.SKU, Stock: k.Stock, LimitPerUser: k.LimitPerUser}
		if k.Flash && k.LimitPerUser == 0 {
			out[i].Pricing = &scenario.Pricing{}
		}
	}
	return out
}

// WriteAttempts writes the header and one line per attempt, gzipped:
// [seq,step,user,sku,qty,"outcome",sold_out,paid] with sku the index into the SKUs (-1: none),
// and sold_out and paid 0 or 1. h.Attempts is set to len(attempts).
func WriteAttempts(w io.Writer, h Header, attempts []Attempt) error {
	h.Schema, h.Attempts = AttemptsSchema, int64(len(attempts))
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	bw.Write(head)
	bw.WriteByte('\n')
	line := make([]byte, 0, 96)
	for i := range attempts {
		line = appendAttempt(line[:0], &attempts[i])
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

func appendAttempt(b []byte, a *Attempt) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, a.Seq, 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(a.Step), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, a.User, 10)
	b = append(b, ',')
	if a.SKU == NoSKU {
		b = append(b, "-1"...)
	} else {
		b = strconv.AppendUint(b, uint64(a.SKU), 10)
	}
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(a.Qty), 10)
	b = append(b, ",\""...)
	b = append(b, a.Outcome.String()...)
	b = append(b, "\","...)
	b = appendBit(b, a.SoldOut())
	b = append(b, ',')
	b = appendBit(b, a.Paid())
	return append(b, "]\n"...)
}

func appendBit(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}

// ReadAttempts reads an attempts file written by WriteAttempts. Errors name the line.
func ReadAttempts(r io.Reader) (Header, []Attempt, error) {
	var h Header
	zr, err := gzip.NewReader(r)
	if err != nil {
		return h, nil, fmt.Errorf("attempts: %w", err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, nil, fmt.Errorf("attempts: %w", err)
		}
		return h, nil, errors.New("attempts: empty file")
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, nil, fmt.Errorf("attempts line 1: %w", err)
	}
	if h.Schema != AttemptsSchema {
		return h, nil, fmt.Errorf("attempts line 1: schema %q, want %q", h.Schema, AttemptsSchema)
	}
	if h.Attempts < 0 || len(h.SKUs) > int(NoSKU) {
		return h, nil, fmt.Errorf("attempts line 1: %d attempts of %d SKUs", h.Attempts, len(h.SKUs))
	}
	out := make([]Attempt, 0, min(h.Attempts, 1<<20))
	for line := 2; sc.Scan(); line++ {
		a, err := parseAttempt(sc.Bytes(), len(h.SKUs))
		if err != nil {
			return h, nil, fmt.Errorf("attempts line %d: %w", line, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("attempts: %w", err)
	}
	if int64(len(out)) != h.Attempts {
		return h, nil, fmt.Errorf("attempts: %d records, the header says %d (a truncated file?)", len(out), h.Attempts)
	}
	return h, out, nil
}

// parseAttempt reads one [seq,step,user,sku,qty,"outcome",sold_out,paid] line; files written
// before paid was kept have seven fields (paid 0).
func parseAttempt(b []byte, skus int) (Attempt, error) {
	var a Attempt
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return a, errors.New("want [seq,step,user,sku,qty,\"outcome\",sold_out,paid]")
	}
	f := bytes.Split(b[1:len(b)-1], []byte{','})
	if len(f) != 7 && len(f) != 8 {
		return a, fmt.Errorf("%d fields, want 8", len(f))
	}
	num := func(i int, lo, hi int64, what string) (int64, error) {
		n, err := strconv.ParseInt(string(bytes.TrimSpace(f[i])), 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s %q is out of range", what, f[i])
		}
		return n, nil
	}
	var errs [7]error
	var sku, step, qty, sold, paid int64
	a.Seq, errs[0] = num(0, 0, 1<<62, "seq")
	step, errs[1] = num(1, 0, 1<<16-1, "step")
	a.User, errs[2] = num(2, -1<<62, 1<<62, "user")
	sku, errs[3] = num(3, -1, int64(skus)-1, "sku")
	qty, errs[4] = num(4, 0, 1<<16-1, "qty")
	sold, errs[5] = num(6, 0, 1, "sold_out")
	if len(f) == 8 {
		paid, errs[6] = num(7, 0, 1, "paid")
	}
	if err := errors.Join(errs[:]...); err != nil {
		return a, err
	}
	name, err := strconv.Unquote(string(bytes.TrimSpace(f[5])))
	if err != nil {
		return a, fmt.Errorf("outcome %s is not a quoted name", f[5])
	}
	o, ok := outcome.Parse(name)
	if !ok {
		return a, fmt.Errorf("unknown outcome %q", name)
	}
	a.Step, a.Qty, a.Outcome = uint16(step), uint16(qty), o
	a.Mark(FlagSoldOut, sold == 1)
	a.Mark(FlagPaid, paid == 1)
	a.SKU = NoSKU
	if sku >= 0 {
		a.SKU = uint16(sku)
	}
	return a, nil
}
