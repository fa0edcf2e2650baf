package audit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Order is one stored order: as flashload's target exports it (GET /admin/orders, NDJSON), or as
// another service's store holds it (a query's rows, an export). Key is empty when the service
// keeps no idempotency key: the audit then joins it to the attempts per (user, SKU).
type Order struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	User   string `json:"user"`
	SKU    string `json:"sku"`
	Qty    int64  `json:"qty"`
	Status string `json:"status"` // reserved, paid, released (another service may say others)
}

// Live reports whether the order holds stock: any status but a release, a cancellation, an
// expiry, a failure or a refund.
func (o *Order) Live() bool {
	switch strings.ToLower(strings.TrimSpace(o.Status)) {
	case "released", "cancelled", "canceled", "expired", "failed", "refunded", "rejected", "void", "voided":
		return false
	}
	return true
}

// paid reports whether the order's status says it is paid.
func (o *Order) paid() bool { return strings.EqualFold(strings.TrimSpace(o.Status), "paid") }

// unpaid reports whether the order says it holds stock unpaid (reserved, pending, ...).
func (o *Order) unpaid() bool { return o.Status != "" && o.Live() && !o.paid() }

// Columns says which column of a table (an export's header, a query's result) holds which field
// of an Order. user, sku and qty are required; status, key and id are optional.
type Columns struct {
	user, sku, qty, status, key, id int
	n                               int
}

// ColumnNames are the columns an orders table may have, the required ones first.
var ColumnNames = []string{"user", "sku", "qty", "status", "key", "id"}

// ParseColumns finds the order fields among names (case and surrounding space ignored). A
// missing required column is named in the error.
func ParseColumns(names []string) (Columns, error) {
	c := Columns{user: -1, sku: -1, qty: -1, status: -1, key: -1, id: -1, n: len(names)}
	for i, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "user", "user_id":
			c.user = pick(c.user, i, n == "user")
		case "sku":
			c.sku = i
		case "qty", "quantity":
			c.qty = pick(c.qty, i, n == "qty")
		case "status":
			c.status = i
		case "key", "idempotency_key":
			c.key = pick(c.key, i, n == "key")
		case "id", "order_id":
			c.id = pick(c.id, i, n == "id")
		}
	}
	var missing []string
	for _, m := range []struct {
		name string
		idx  int
	}{{"user", c.user}, {"sku", c.sku}, {"qty", c.qty}} {
		if m.idx < 0 {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("no %s column (the columns are %s; name them with AS: user, sku, qty, and optionally status, key, id)",
			strings.Join(missing, ", "), strings.Join(names, ", "))
	}
	return c, nil
}

// pick keeps the exact name over an alias when a table has both (user beside user_id).
func pick(cur, i int, exact bool) int {
	if cur < 0 || exact {
		return i
	}
	return cur
}

// Order builds an order from one row of values, in the columns' order. A NULL qty (empty) is one.
func (c Columns) Order(vals []string) (Order, error) {
	get := func(i int) string {
		if i < 0 || i >= len(vals) {
			return ""
		}
		return strings.TrimSpace(vals[i])
	}
	o := Order{User: get(c.user), SKU: get(c.sku), Status: get(c.status), Key: get(c.key), ID: get(c.id), Qty: 1}
	if q := get(c.qty); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 0 {
			return o, fmt.Errorf("qty %q is not a count", q)
		}
		o.Qty = n
	}
	if o.SKU == "" && o.Key == "" {
		return o, errors.New("neither key nor sku")
	}
	return o, nil
}

// ReadOrders reads an orders export: NDJSON (one object per line, fields of Order; user and id
// may be numbers; order_id stands for id) or CSV, with a header naming the columns (user, sku,
// qty required; status, key, id optional; any order) or without one, as key,user,sku,qty,status.
// The format is sniffed from the first non-blank byte. Errors name the line.
func ReadOrders(r io.Reader) ([]Order, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, err
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			br.ReadByte()
			continue
		}
		if b[0] == '{' {
			return ReadOrdersNDJSON(br)
		}
		return ReadOrdersCSV(br)
	}
}

// wireOrder is an NDJSON line: services write user ids and order ids as strings or numbers.
type wireOrder struct {
	ID      flexString `json:"id"`
	OrderID flexString `json:"order_id"`
	Key     flexString `json:"key"`
	User    flexString `json:"user"`
	SKU     flexString `json:"sku"`
	Qty     *int64     `json:"qty"`
	Status  string     `json:"status"`
}

// flexString is a JSON string or number, kept as text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case bytes.Equal(b, []byte("null")):
		*f = ""
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %s", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

// ReadOrdersNDJSON reads one JSON object per line (blank lines skipped).
func ReadOrdersNDJSON(r io.Reader) ([]Order, error) {
	var out []Order
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var w wireOrder
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, fmt.Errorf("orders line %d: %w", line, err)
		}
		o := Order{ID: string(w.ID), Key: string(w.Key), User: string(w.User), SKU: string(w.SKU), Status: w.Status, Qty: 1}
		if o.ID == "" {
			o.ID = string(w.OrderID)
		}
		if w.Qty != nil && *w.Qty != 0 {
			o.Qty = *w.Qty
		}
		if o.Qty < 0 {
			return nil, fmt.Errorf("orders line %d: qty %d is negative", line, o.Qty)
		}
		out = append(out, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("orders line %d: %w", line+1, err)
	}
	return out, nil
}

// legacyColumns are a headerless CSV's columns: key,user,sku,qty,status.
var legacyColumns = Columns{key: 0, user: 1, sku: 2, qty: 3, status: 4, id: -1, n: 5}

// ReadOrdersCSV reads CSV orders, with a header naming the columns or as key,user,sku,qty,status.
func ReadOrdersCSV(r io.Reader) ([]Order, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cols := legacyColumns
	var out []Order
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("orders: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if isHeader(rec) {
				if cols, err = ParseColumns(rec); err != nil {
					return nil, fmt.Errorf("orders line %d: %w", line, err)
				}
				continue
			}
		}
		o, err := cols.Order(rec)
		if err != nil {
			return nil, fmt.Errorf("orders line %d: %w", line, err)
		}
		out = append(out, o)
	}
}

func isHeader(rec []string) bool {
	for _, f := range rec {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "key", "user", "user_id", "sku", "qty", "status":
			return true
		}
	}
	return false
}
