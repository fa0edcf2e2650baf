package inventory

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// entry is one stored order and the bucket its units came from.
type entry struct {
	o    Order
	from int
}

// book is one bucket of a SKU held in process memory: its share of the stock and the orders,
// per-user counts and idempotency keys of the users homed there. Fields are guarded by mu,
// except navail which the naive strategy reads and writes without it (on purpose).
type book struct {
	mu       sync.Mutex
	sku      SKU
	bucket   int
	share    int64 // stock of this bucket
	firstN   int64 // first-N half-price units of this bucket
	avail    int64
	navail   atomic.Int64 // naive only
	taken    int64
	orders   orderStore // seq = index+1
	keys     map[string]int64
	pending  map[string]uint64
	users    map[string]int64 // units held (reserved + paid) and claimed
	reserved int64
	paid     int64
	released int64
	dup      int64
	expq     []int64
	exphead  int
}

func newBook(s SKU, bucket int, share, firstN int64) *book {
	b := &book{sku: s, bucket: bucket, share: share, firstN: firstN, avail: share,
		keys: map[string]int64{}, pending: map[string]uint64{}, users: map[string]int64{}}
	b.navail.Store(share)
	return b
}

// replayLocked looks the key up: a completed key gives its order, a pending one ErrInFlight.
func (b *book) replayLocked(uk string, fp uint64) (*entry, error) {
	if seq, ok := b.keys[uk]; ok {
		e := b.orders.at(seq - 1)
		if e.o.FP != fp {
			return nil, ErrKeyReused
		}
		return e, nil
	}
	if pfp, ok := b.pending[uk]; ok {
		if pfp != fp {
			return nil, ErrKeyReused
		}
		return nil, ErrInFlight
	}
	return nil, nil
}

// recordLocked stores a reservation. It counts duplicates from the stored state itself: a key
// that already has an order, or units beyond the per-user limit.
func (b *book) recordLocked(r *Request, from int, half int64) *entry {
	seq := int64(b.orders.n) + 1
	e := b.orders.add()
	*e = entry{from: from, o: Order{
		ID: orderID(r.SKU, b.bucket, seq), Key: r.Key, User: r.User, SKU: r.SKU, Qty: r.Qty,
		Status: Reserved, Unit: r.UnitPrice, Half: half, Price: Total(r.UnitPrice, r.Qty, half),
		Group: r.Group, Coupon: r.Coupon, FP: r.FP, CreatedAt: r.Now, ExpiresAt: r.Now.Add(r.TTL),
	}}
	if r.Key != "" {
		uk := userKey(r.User, r.Key)
		if _, dup := b.keys[uk]; dup {
			b.dup++
		} else {
			b.keys[uk] = seq
		}
	}
	// Per-user counts only matter under a limit; without one the map would only cost.
	if lim := b.sku.LimitPerUser; lim > 0 {
		held := b.users[r.User]
		b.users[r.User] = held + r.Qty
		if held+r.Qty > lim {
			b.dup += min(held+r.Qty-lim, r.Qty)
		}
	}
	b.reserved += r.Qty
	b.expq = append(b.expq, seq)
	return e
}

// takeLocked hands out qty units of this bucket's stock; half is how many are first-N.
func (b *book) takeLocked(qty int64) (half int64, ok bool) {
	if b.avail < qty {
		return 0, false
	}
	b.avail -= qty
	half = halfUnits(b.taken, qty, b.firstN)
	b.taken += qty
	return half, true
}

// settleLocked moves a reserved order to paid (pay) or released; it returns the units to give
// back to bucket e.from (0 when nothing was released) and the error for the caller.
func (b *book) settleLocked(e *entry, pay bool, user string, now time.Time) (back int64, err error) {
	if user != "" && e.o.User != user {
		return 0, ErrForbidden
	}
	switch e.o.Status {
	case Paid:
		if pay {
			return 0, nil
		}
		return 0, ErrPaid
	case Released:
		if pay {
			return 0, ErrExpired
		}
		return 0, nil
	}
	if pay && !now.Before(e.o.ExpiresAt) {
		pay = false
		err = ErrExpired
	}
	b.reserved -= e.o.Qty
	if pay {
		e.o.Status = Paid
		b.paid += e.o.Qty
		return 0, nil
	}
	e.o.Status = Released
	b.released += e.o.Qty
	if b.sku.LimitPerUser > 0 {
		b.users[e.o.User] -= e.o.Qty
	}
	return e.o.Qty, err
}

func (b *book) countsLocked() Counts {
	return Counts{Stock: b.share, Available: b.avail, Reserved: b.reserved, Paid: b.paid,
		Released: b.released, Orders: int64(b.orders.n), Taken: b.taken}
}

// dueLocked pops the sequence numbers of reservations due at now (FIFO: one TTL per server).
func (b *book) dueLocked(now time.Time, max int) []*entry {
	var due []*entry
	for b.exphead < len(b.expq) && len(due) < max {
		e := b.orders.at(b.expq[b.exphead] - 1)
		if e.o.Status == Reserved && now.Before(e.o.ExpiresAt) {
			break
		}
		b.exphead++
		if e.o.Status == Reserved {
			due = append(due, e)
		}
	}
	if b.exphead > 1024 && b.exphead*2 > len(b.expq) {
		b.expq = append(b.expq[:0], b.expq[b.exphead:]...)
		b.exphead = 0
	}
	return due
}

// skuBooks is a SKU's buckets (one for memory and naive).
type skuBooks struct {
	sku   SKU
	books []*book
}

// shelf maps SKU names to their books; copy-on-write so lookups take no lock.
type shelf struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*skuBooks]
}

func (s *shelf) get(sku string) *skuBooks {
	m := s.m.Load()
	if m == nil {
		return nil
	}
	return (*m)[sku]
}

func (s *shelf) put(sb *skuBooks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m.Load()
	n := map[string]*skuBooks{}
	if old != nil {
		for k, v := range *old {
			n[k] = v
		}
	}
	n[sb.sku.SKU] = sb
	s.m.Store(&n)
}

func (s *shelf) all() []*skuBooks {
	m := s.m.Load()
	if m == nil {
		return nil
	}
	out := make([]*skuBooks, 0, len(*m))
	for _, v := range *m {
		out = append(out, v)
	}
	return out
}

func (s *shelf) configure(sk SKU, n int) {
	sb := &skuBooks{sku: sk, books: make([]*book, n)}
	for i := range sb.books {
		sb.books[i] = newBook(sk, i, split(sk.Stock, n, i), split(sk.FirstNHalf, n, i))
	}
	s.put(sb)
}

// split is bucket i's share of total over n buckets.
func split(total int64, n, i int) int64 {
	q := total / int64(n)
	if int64(i) < total%int64(n) {
		q++
	}
	return q
}

// entryOf finds the order and its home book.
func (s *shelf) entryOf(id string) (*book, *entry, *skuBooks) {
	sku, bucket, seq, ok := parseID(id)
	if !ok {
		return nil, nil, nil
	}
	sb := s.get(sku)
	if sb == nil || bucket >= len(sb.books) {
		return nil, nil, nil
	}
	b := sb.books[bucket]
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq > int64(b.orders.n) {
		return nil, nil, nil
	}
	return b, b.orders.at(seq - 1), sb
}

// memBase implements everything but Reserve and the return of released units.
type memBase struct {
	memCatalog
	shelf shelf
	name  string
	// giveBack returns released units to bucket from of sb.
	giveBack func(sb *skuBooks, from int, qty int64)
}

func (m *memBase) Name() string { return m.name }
func (m *memBase) Close() error { return nil }

func (m *memBase) Order(_ context.Context, id string) (Order, error) {
	b, e, _ := m.shelf.entryOf(id)
	if e == nil {
		return Order{}, ErrNoOrder
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return e.o, nil
}

func (m *memBase) settle(id, user string, pay bool, now time.Time) (Order, error) {
	b, e, sb := m.shelf.entryOf(id)
	if e == nil {
		return Order{}, ErrNoOrder
	}
	b.mu.Lock()
	back, err := b.settleLocked(e, pay, user, now)
	back = m.returnLocked(b, e, back)
	o := e.o
	b.mu.Unlock()
	if back > 0 {
		m.giveBack(sb, e.from, back)
	}
	return o, err
}

// returnLocked gives released units back to the order's own bucket under its lock; what it
// returns is left for giveBack after the lock is dropped (another bucket, or naive's counter).
func (m *memBase) returnLocked(b *book, e *entry, back int64) int64 {
	if back == 0 || e.from != b.bucket {
		return back
	}
	b.avail += back
	if m.name == "naive" {
		return back
	}
	return 0
}

func (m *memBase) Confirm(_ context.Context, id, user string, now time.Time) (Order, error) {
	return m.settle(id, user, true, now)
}

func (m *memBase) Release(_ context.Context, id, user string, now time.Time) (Order, error) {
	return m.settle(id, user, false, now)
}

func (m *memBase) Expire(_ context.Context, now time.Time) (int, error) {
	n := 0
	for _, sb := range m.shelf.all() {
		for _, b := range sb.books {
			for {
				b.mu.Lock()
				due := b.dueLocked(now, 256)
				type back struct {
					from int
					qty  int64
				}
				var backs []back
				for _, e := range due {
					q, _ := b.settleLocked(e, false, "", now)
					if q > 0 {
						n++
					}
					if q = m.returnLocked(b, e, q); q > 0 {
						backs = append(backs, back{e.from, q})
					}
				}
				b.mu.Unlock()
				for _, bk := range backs {
					m.giveBack(sb, bk.from, bk.qty)
				}
				if len(due) < 256 {
					break
				}
			}
		}
	}
	return n, nil
}

func (m *memBase) Counts(_ context.Context, sku string) (Counts, error) {
	sb := m.shelf.get(sku)
	if sb == nil {
		return Counts{}, ErrUnknownSKU
	}
	var c Counts
	for _, b := range sb.books {
		b.mu.Lock()
		bc := b.countsLocked()
		b.mu.Unlock()
		if m.name == "naive" {
			bc.Available = b.navail.Load()
		}
		c.Stock += bc.Stock
		c.Available += bc.Available
		c.Reserved += bc.Reserved
		c.Paid += bc.Paid
		c.Released += bc.Released
		c.Orders += bc.Orders
		c.Taken += bc.Taken
	}
	return c, nil
}

func (m *memBase) Audit(ctx context.Context, sku string) (Audit, error) {
	c, err := m.Counts(ctx, sku)
	if err != nil {
		return Audit{}, err
	}
	var dup int64
	for _, b := range m.shelf.get(sku).books {
		b.mu.Lock()
		dup += b.dup
		b.mu.Unlock()
	}
	return finish(c, dup), nil
}

func (m *memBase) Orders(_ context.Context, sku string, fn func(*Order) error) error {
	sb := m.shelf.get(sku)
	if sb == nil {
		return ErrUnknownSKU
	}
	for _, b := range sb.books {
		b.mu.Lock()
		snap := make([]Order, b.orders.n)
		for i := range snap {
			snap[i] = b.orders.at(int64(i)).o
		}
		b.mu.Unlock()
		for i := range snap {
			if err := fn(&snap[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// memory: one lock per SKU over everything.
type memory struct{ memBase }

func newMemory() *memory {
	m := &memory{}
	m.name = "memory"
	m.giveBack = func(*skuBooks, int, int64) {} // single bucket: returned under its lock
	return m
}

func (m *memory) Configure(_ context.Context, s SKU) error {
	m.memCatalog.configure(s.SKU, s.Def, func() { m.shelf.configure(s, 1) })
	return nil
}

func (m *memory) Reserve(_ context.Context, r Request) (Order, bool, error) {
	sb := m.shelf.get(r.SKU)
	if sb == nil {
		return Order{}, false, ErrUnknownSKU
	}
	b := sb.books[0]
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := window(&b.sku, r.Now); err != nil {
		return Order{}, false, err
	}
	if r.Key != "" {
		e, err := b.replayLocked(userKey(r.User, r.Key), r.FP)
		if err != nil {
			return Order{}, false, err
		}
		if e != nil {
			return e.o, true, nil
		}
	}
	if lim := b.sku.LimitPerUser; lim > 0 && b.users[r.User]+r.Qty > lim {
		return Order{}, false, ErrLimit
	}
	half, ok := b.takeLocked(r.Qty)
	if !ok {
		return Order{}, false, ErrSoldOut
	}
	return b.recordLocked(&r, 0, half).o, false, nil
}

// NaiveGap is the pause of the naive strategy between reading the stock and writing it back,
// standing for the round trip to a database.
const NaiveGap = 500 * time.Microsecond

// naive: read the stock, check, pause, write it back. Wrong on purpose.
type naive struct{ memBase }

func newNaive() *naive {
	m := &naive{}
	m.name = "naive"
	m.giveBack = func(sb *skuBooks, _ int, qty int64) {
		b := sb.books[0]
		a := b.navail.Load()
		runtime.Gosched()
		b.navail.Store(a + qty)
	}
	return m
}

func (m *naive) Configure(_ context.Context, s SKU) error {
	m.memCatalog.configure(s.SKU, s.Def, func() { m.shelf.configure(s, 1) })
	return nil
}

func (m *naive) Reserve(_ context.Context, r Request) (Order, bool, error) {
	sb := m.shelf.get(r.SKU)
	if sb == nil {
		return Order{}, false, ErrUnknownSKU
	}
	b := sb.books[0]
	if err := window(&b.sku, r.Now); err != nil {
		return Order{}, false, err
	}
	b.mu.Lock()
	var replay *entry
	var err error
	if r.Key != "" {
		replay, err = b.replayLocked(userKey(r.User, r.Key), r.FP)
	}
	held := b.users[r.User]
	b.mu.Unlock()
	if err != nil {
		return Order{}, false, err
	}
	if replay != nil {
		return replay.o, true, nil
	}
	if lim := b.sku.LimitPerUser; lim > 0 && held+r.Qty > lim {
		return Order{}, false, ErrLimit
	}
	a := b.navail.Load()
	if a < r.Qty {
		return Order{}, false, ErrSoldOut
	}
	// The round trip of a read-then-write store: other buyers read the same stock and the
	// same per-user count meanwhile.
	time.Sleep(NaiveGap)
	b.navail.Store(a - r.Qty)
	b.mu.Lock()
	defer b.mu.Unlock()
	half := halfUnits(b.taken, r.Qty, b.firstN)
	b.taken += r.Qty
	b.avail -= r.Qty // what the orders say is left; the naive counter above is what it believes
	return b.recordLocked(&r, 0, half).o, false, nil
}

// sharded: N buckets, each with its own lock; users homed by hash, stealing when home is dry.
type sharded struct {
	memBase
	n int
}

func newSharded(n int) *sharded {
	m := &sharded{n: n}
	m.name = "sharded"
	m.giveBack = func(sb *skuBooks, from int, qty int64) {
		b := sb.books[from]
		b.mu.Lock()
		b.avail += qty
		b.mu.Unlock()
	}
	return m
}

func (m *sharded) Configure(_ context.Context, s SKU) error {
	m.memCatalog.configure(s.SKU, s.Def, func() { m.shelf.configure(s, m.n) })
	return nil
}

func (m *sharded) Reserve(_ context.Context, r Request) (Order, bool, error) {
	sb := m.shelf.get(r.SKU)
	if sb == nil {
		return Order{}, false, ErrUnknownSKU
	}
	home := int(hash32(r.User) % uint32(len(sb.books)))
	h := sb.books[home]
	uk := ""
	h.mu.Lock()
	if err := window(&h.sku, r.Now); err != nil {
		h.mu.Unlock()
		return Order{}, false, err
	}
	if r.Key != "" {
		uk = userKey(r.User, r.Key)
		e, err := h.replayLocked(uk, r.FP)
		if err != nil || e != nil {
			h.mu.Unlock()
			if err != nil {
				return Order{}, false, err
			}
			return e.o, true, nil
		}
	}
	if lim := h.sku.LimitPerUser; lim > 0 && h.users[r.User]+r.Qty > lim {
		h.mu.Unlock()
		return Order{}, false, ErrLimit
	}
	if half, ok := h.takeLocked(r.Qty); ok {
		o := h.recordLocked(&r, home, half).o
		h.mu.Unlock()
		return o, false, nil
	}
	// Home is dry: claim the user's units and the key, then steal from the other buckets
	// without holding home's lock (holding two bucket locks could deadlock).
	if h.sku.LimitPerUser > 0 {
		h.users[r.User] += r.Qty
	}
	if uk != "" {
		h.pending[uk] = r.FP
	}
	h.mu.Unlock()
	from, half, got := -1, int64(0), false
	for j := 1; j < len(sb.books) && !got; j++ {
		from = (home + j) % len(sb.books)
		b := sb.books[from]
		b.mu.Lock()
		half, got = b.takeLocked(r.Qty)
		b.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sku.LimitPerUser > 0 {
		h.users[r.User] -= r.Qty
	}
	if uk != "" {
		delete(h.pending, uk)
	}
	if !got {
		return Order{}, false, ErrSoldOut
	}
	return h.recordLocked(&r, from, half).o, false, nil
}

// hash32 is FNV-1a.
func hash32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// orderStore keeps orders by value in fixed chunks: no allocation per order, no copying of a
// growing slice, and pointers to entries stay valid.
type orderStore struct {
	chunks [][]entry
	n      int
}

const chunkBits = 10

func (s *orderStore) add() *entry {
	if s.n>>chunkBits == len(s.chunks) {
		s.chunks = append(s.chunks, make([]entry, 1<<chunkBits))
	}
	e := &s.chunks[s.n>>chunkBits][s.n&(1<<chunkBits-1)]
	s.n++
	return e
}

func (s *orderStore) at(i int64) *entry {
	return &s.chunks[i>>chunkBits][i&(1<<chunkBits-1)]
}
