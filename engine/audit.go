package engine

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// Attempt is the compact record of one purchase attempt (one idempotency key, all its retries).
// It is a 16-byte value kept in per-worker chunks, never a map of strings: a run of millions of
// purchases costs 16 bytes each. The key is rebuilt from the run id, Seq and Step; the user is
// not stored, since it is a function of the seed and Seq (scenario.UserIDs, or the bot's fixed id).
type Attempt struct {
	Seq     int64           // the arrival's sequence number in the whole schedule
	Step    uint16          // the step's index in the journey: one key per (arrival, step)
	SKU     uint16          // index into Scenario.SKUs; noSKU when the SKU is not one of the scenario's
	Qty     uint16          // units asked for
	Outcome outcome.Outcome // the final outcome after retries
	SoldOut bool            // the final answer was SOLD_OUT (for undersold)
}

const noSKU = ^uint16(0)

const attemptChunk = 1024

// attemptLog is one worker's append-only list of attempts, in chunks so that growing it never
// copies what is already there. Chunks start small and double up to attemptChunk: a worker that
// made a handful of purchases holds a handful of records, not a 16 KiB chunk. A full chunk of
// attemptChunk records goes to the run's spill file when there is one, so memory stays flat
// however long the run. mu guards against the audit reading while a straggling session (one cut
// by the drain) still writes.
type attemptLog struct {
	mu     sync.Mutex
	chunks [][]Attempt
	spill  *attemptSpill
}

func (l *attemptLog) add(a Attempt) {
	l.mu.Lock()
	n := len(l.chunks)
	if n > 0 && len(l.chunks[n-1]) == attemptChunk && l.spill != nil && l.spill.write(l.chunks[n-1]) {
		l.chunks[n-1] = l.chunks[n-1][:0]
	}
	if n == 0 || len(l.chunks[n-1]) == cap(l.chunks[n-1]) {
		size := 16
		if n > 0 {
			size = min(2*cap(l.chunks[n-1]), attemptChunk)
		}
		l.chunks = append(l.chunks, make([]Attempt, 0, size))
		n++
	}
	l.chunks[n-1] = append(l.chunks[n-1], a)
	l.mu.Unlock()
}

// len is the number of attempts held in memory (not those spilled).
func (l *attemptLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.chunks {
		n += len(c)
	}
	return n
}

// each calls f on the attempts held in memory (not those spilled).
func (l *attemptLog) each(f func(*Attempt)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.chunks {
		for i := range c {
			f(&c[i])
		}
	}
}

// attemptSpill is a temporary file of full attempt chunks, in the process's own memory layout
// (written and read back by the same run). Its failures are not fatal: a chunk that cannot be
// written stays in memory.
type attemptSpill struct {
	mu  sync.Mutex
	f   *os.File
	n   int64 // records written
	err error
}

func newAttemptSpill() *attemptSpill {
	f, err := os.CreateTemp("", "flashload-attempts-*")
	if err != nil {
		return nil
	}
	return &attemptSpill{f: f}
}

func attemptBytes(recs []Attempt) []byte {
	if len(recs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&recs[0])), len(recs)*int(unsafe.Sizeof(Attempt{})))
}

// write appends recs to the file; false when it could not.
func (s *attemptSpill) write(recs []Attempt) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if _, err := s.f.Write(attemptBytes(recs)); err != nil {
		s.err = err
		return false
	}
	s.n += int64(len(recs))
	return true
}

// each reads the spilled attempts back.
func (s *attemptSpill) each(f func(*Attempt)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	buf := make([]Attempt, attemptChunk)
	left := s.n
	for left > 0 {
		k := min(left, int64(len(buf)))
		if _, err := io.ReadFull(s.f, attemptBytes(buf[:k])); err != nil {
			return err
		}
		for i := range buf[:k] {
			f(&buf[i])
		}
		left -= k
	}
	_, err := s.f.Seek(0, io.SeekEnd)
	return err
}

func (s *attemptSpill) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.Close()
	os.Remove(s.f.Name())
}

// appendKey appends the idempotency key of an attempt: RUN-SEQ-STEP. Keys are unique across
// segments (Seq is global to the schedule) and across runs (RUN is fresh per run).
func appendKey(dst []byte, run string, seq int64, step uint16) []byte {
	dst = append(dst, run...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, uint64(step), 10)
}

// parseKey is the inverse of appendKey; ok is false for keys of another run or another client.
func parseKey(key, run string) (seq int64, step uint16, ok bool) {
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

// appendUser appends the X-User-Id of user number u: the number itself, as {{user}} renders it.
func appendUser(dst []byte, u int64) []byte {
	return strconv.AppendInt(dst, u, 10)
}

// Order is one stored order as a target exports it (GET /admin/orders NDJSON, or --orders FILE).
type Order struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	User   string `json:"user"`
	SKU    string `json:"sku"`
	Qty    int64  `json:"qty"`
	Status string `json:"status"` // reserved, paid, released (another service may say others)
}

// live reports whether the order holds stock (reserved or paid, or any status but a release).
func (o *Order) live() bool {
	switch strings.ToLower(o.Status) {
	case "released", "cancelled", "canceled", "expired", "failed", "refunded":
		return false
	}
	return true
}

// ReadOrders reads an orders export: NDJSON (one object per line, fields of Order) or CSV with
// columns key,user,sku,qty,status (a header row naming them may come first, in any order).
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
			return readOrdersNDJSON(br)
		}
		return readOrdersCSV(br)
	}
}

func readOrdersNDJSON(r *bufio.Reader) ([]Order, error) {
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
		var o Order
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("orders line %d: %w", line, err)
		}
		if o.Qty == 0 {
			o.Qty = 1
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

func readOrdersCSV(r io.Reader) ([]Order, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cols := map[string]int{"key": 0, "user": 1, "sku": 2, "qty": 3, "status": 4}
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
				cols = map[string]int{}
				for i, h := range rec {
					cols[strings.ToLower(strings.TrimSpace(h))] = i
				}
				for _, need := range []string{"key", "user", "sku"} {
					if _, ok := cols[need]; !ok {
						return nil, fmt.Errorf("orders line %d: header has no %q column", line, need)
					}
				}
				continue
			}
		}
		get := func(name string) string {
			i, ok := cols[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		o := Order{Key: get("key"), User: get("user"), SKU: get("sku"), Status: get("status"), ID: get("id"), Qty: 1}
		if q := get("qty"); q != "" {
			n, err := strconv.ParseInt(q, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("orders line %d: qty %q is not a count", line, q)
			}
			o.Qty = n
		}
		if o.Key == "" && o.SKU == "" {
			return nil, fmt.Errorf("orders line %d: neither key nor sku", line)
		}
		out = append(out, o)
	}
}

func isHeader(rec []string) bool {
	for _, f := range rec {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "key", "user", "sku", "qty", "status":
			return true
		}
	}
	return false
}

// SKUAudit is one SKU of a target's GET /admin/audit.
type SKUAudit struct {
	SKU        string `json:"sku"`
	Stock      int64  `json:"stock"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
	Paid       int64  `json:"paid"`
	Released   int64  `json:"released"`
	Sold       int64  `json:"sold"`
	Oversold   int64  `json:"oversold"`
	Orders     int64  `json:"orders"`
	Duplicates int64  `json:"duplicates"`
	Undersold  int64  `json:"undersold"` // SOLD_OUT answers the server knows it gave while units were left (pg-occ)
}

// AuditInput is everything the join needs. Server is nil when only an export is known.
type AuditInput struct {
	Run string // the run id: the prefix of this run's idempotency keys
	// Segment is the run's share of the arrivals. Generators of one coordinated run share the key
	// prefix; an order whose key is the run's but whose arrival is another segment's is that
	// generator's to audit, not unexpected here.
	Segment  scenario.Segment
	SKUs     []scenario.SKU // the scenario's SKUs: stock and per-user limit
	Attempts []Attempt
	Orders   []Order
	Server   map[string]SKUAudit // by SKU, from /admin/audit
	// Forgotten are scenario SKUs the target no longer knows (404): their store lost them, and
	// every order with them.
	Forgotten []string
}

const maxViolations = 20

// Audit checks the invariants of DESIGN.md ("The audit") on what the client saw and what the
// server stored:
//   - oversold: units sold beyond the stock, from the server's counters or from the stored live
//     orders, whichever is larger (a strategy that oversells may not count it);
//   - conservation: stock = available + reserved + paid, when the server reports counters;
//   - lost: acknowledged attempts with no stored order for their key (only acknowledged ones);
//   - oversold also counts acknowledged units beyond the stock: stored live units plus the lost
//     ones, when a store that lost orders sold their units again;
//   - unknown: attempts whose outcome the client could not know (no answer after sending, a
//     5xx that may have done the work, IN_FLIGHT): counted apart, never lost nor unexpected;
//   - unexpected: stored orders whose key no attempt of this run used, or whose attempt ended in
//     a definite failure;
//   - duplicates: orders beyond the first per key, and live orders beyond a user's limit per SKU;
//   - undersold: SOLD_OUT answers while units were still available at the end, or as many as
//     the server counted itself when that is more (not a violation).
func Audit(in AuditInput) result.Audit { return AuditSale(in).Audit }

// SaleAudit is the audit with its per-SKU figures (Summary.SKUs).
type SaleAudit struct {
	result.Audit
	SKUs []result.SKUStats // flash SKUs first, then by name
}

// AuditSale is Audit with the figures per SKU: stock, units left, sold, paid, released,
// oversold, and lost (acknowledged purchases of that SKU without a stored order).
func AuditSale(in AuditInput) SaleAudit {
	a := result.Audit{Checked: true, Violations: []string{}}
	var perSKU []result.SKUStats
	violate := func(format string, args ...any) {
		if len(a.Violations) < maxViolations {
			a.Violations = append(a.Violations, fmt.Sprintf(format, args...))
		}
	}
	type skuAgg struct {
		stock, soldOrders, paid, released int64
		soldOutAnswers                    int64
		limit                             int
		known                             bool
	}
	aggs := map[string]*skuAgg{}
	order := []string{}
	agg := func(sku string) *skuAgg {
		g := aggs[sku]
		if g == nil {
			g = &skuAgg{}
			aggs[sku] = g
			order = append(order, sku)
		}
		return g
	}
	for _, s := range in.SKUs {
		g := agg(s.SKU)
		g.stock, g.limit, g.known = s.Stock, s.LimitPerUser, true
	}

	byKey := make(map[uint64]int, len(in.Attempts))
	for i := range in.Attempts {
		at := &in.Attempts[i]
		byKey[uint64(at.Seq)<<16|uint64(at.Step)] = i
		if at.SoldOut && int(at.SKU) < len(in.SKUs) {
			agg(in.SKUs[at.SKU].SKU).soldOutAnswers++
		}
	}
	found := make([]bool, len(in.Attempts))
	perKey := map[string]int{}
	type userSKU struct{ user, sku string }
	perUser := map[userSKU]int64{}
	var lostExample, unexpectedExample, dupExample string
	for i := range in.Orders {
		o := &in.Orders[i]
		g := agg(o.SKU)
		if o.live() {
			g.soldOrders += o.Qty
			perUser[userSKU{o.User, o.SKU}] += o.Qty
		} else {
			g.released += o.Qty
		}
		if strings.EqualFold(o.Status, "paid") {
			g.paid += o.Qty
		}
		if o.Key != "" {
			perKey[o.Key]++
			if perKey[o.Key] == 2 {
				a.Duplicates++
				dupExample = o.Key
			} else if perKey[o.Key] > 2 {
				a.Duplicates++
			}
		}
		seq, step, ours := parseKey(o.Key, in.Run)
		idx, attempted := byKey[uint64(seq)<<16|uint64(step)]
		switch {
		case ours && !in.Segment.Contains(seq):
		case !ours || !attempted:
			a.Unexpected++
			unexpectedExample = o.Key
		case in.Attempts[idx].Outcome.Rejected():
			a.Unexpected++
			unexpectedExample = o.Key
			found[idx] = true
		default:
			found[idx] = true
		}
	}
	lostBySKU := map[uint16]int64{}
	lostUnits := map[uint16]int64{} // units of the lost purchases, by SKU
	for i := range in.Attempts {
		switch in.Attempts[i].Outcome {
		case outcome.Unknown, outcome.Pending:
			// The client cannot know whether it happened: neither lost when missing nor
			// unexpected when stored (Jepsen's info operations).
			a.Unknown++
		}
		if in.Attempts[i].Outcome == outcome.Acknowledged && !found[i] {
			lostBySKU[in.Attempts[i].SKU]++
			lostUnits[in.Attempts[i].SKU] += int64(max(in.Attempts[i].Qty, 1))
			a.Lost++
			if lostExample == "" {
				at := &in.Attempts[i]
				lostExample = string(appendKey(nil, in.Run, at.Seq, at.Step))
			}
		}
	}
	for _, sku := range in.Forgotten {
		violate("%s: the target no longer knows this SKU: its store lost it and its orders", sku)
	}
	if a.Lost > 0 {
		violate("lost: %d acknowledged purchases have no stored order (e.g. key %s)", a.Lost, lostExample)
	}
	if a.Unexpected > 0 {
		violate("unexpected: %d stored orders were never acknowledged by this run (e.g. key %q)", a.Unexpected, unexpectedExample)
	}
	if a.Duplicates > 0 {
		violate("duplicates: %d orders repeat an idempotency key (e.g. %q)", a.Duplicates, dupExample)
	}
	var overLimit int64
	users := make([]userSKU, 0)
	for k, n := range perUser {
		g := aggs[k.sku]
		if g != nil && g.limit > 0 && n > int64(g.limit) {
			overLimit += n - int64(g.limit)
			users = append(users, k)
		}
	}
	if overLimit > 0 {
		sort.Slice(users, func(i, j int) bool {
			if users[i].sku != users[j].sku {
				return users[i].sku < users[j].sku
			}
			return users[i].user < users[j].user
		})
		a.Duplicates += overLimit
		violate("duplicates: %d units beyond the per-user limit (%d users, e.g. %s on %s)", overLimit, len(users), users[0].user, users[0].sku)
	}

	sort.Strings(order)
	for _, sku := range order {
		g := aggs[sku]
		sold, paid, released, stock := g.soldOrders, g.paid, g.released, g.stock
		available := stock - sold
		var serverOversold, serverUndersold int64
		if sv, ok := in.Server[sku]; ok {
			if sv.Stock > 0 || !g.known {
				stock = sv.Stock
			}
			sold = max(sold, sv.Sold, sv.Reserved+sv.Paid)
			paid = max(paid, sv.Paid)
			released = max(released, sv.Released)
			available = sv.Available
			serverOversold = sv.Oversold
			serverUndersold = sv.Undersold
			if sv.Stock != sv.Available+sv.Reserved+sv.Paid {
				violate("%s: conservation broken: stock %d != available %d + reserved %d + paid %d", sku, sv.Stock, sv.Available, sv.Reserved, sv.Paid)
			}
		} else if !g.known {
			// An SKU seen only in the export: no stock to check against.
			a.Sold += sold
			a.Paid += paid
			a.Released += released
			perSKU = append(perSKU, result.SKUStats{SKU: sku, Sold: sold, Paid: paid, Released: released})
			continue
		}
		over := max(sold-stock, serverOversold, 0)
		i := slices.IndexFunc(in.SKUs, func(s scenario.SKU) bool { return s.SKU == sku })
		// Units a store lost come back into its stock and are sold again (an asynchronous
		// failover): the store never holds more than its stock, yet buyers were promised more.
		// Acknowledged units beyond the stock are oversold as the buyers see it.
		var resold int64
		if i >= 0 && stock > 0 {
			resold = max(sold+lostUnits[uint16(i)]-stock, 0)
		}
		storeOver := over
		if resold > over {
			violate("%s: %d units acknowledged beyond the stock of %d: units the store lost were sold again", sku, resold, stock)
			over = resold
		}
		k := result.SKUStats{SKU: sku, Stock: stock, Left: max(available, 0), Sold: sold, Paid: paid, Released: released, Oversold: over}
		if i >= 0 {
			k.Flash, k.Lost = in.SKUs[i].Flash(), lostBySKU[uint16(i)]
		}
		perSKU = append(perSKU, k)
		a.Stock += stock
		a.Sold += sold
		a.Paid += paid
		a.Released += released
		a.Oversold += over
		if storeOver > 0 {
			violate("%s: oversold %d (sold %d of stock %d)", sku, storeOver, sold, stock)
		}
		var under int64
		if g.soldOutAnswers > 0 && available > 0 {
			under = min(g.soldOutAnswers, available)
		}
		// A strategy that gives up (pg-occ after its retries) knows its undersold even when
		// the stock sold out later; the larger of the two counts.
		a.Undersold += max(under, serverUndersold)
	}
	result.SortSKUs(perSKU)
	return SaleAudit{Audit: a, SKUs: perSKU}
}
