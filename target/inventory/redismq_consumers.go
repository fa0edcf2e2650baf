package inventory

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The consumers of redis-mq: a consumer group inside each replica reads the order stream,
// persists each order to PostgreSQL idempotently, claims the pending messages of dead
// consumers, and acknowledges after the commit.

// StartConsumers starts this replica's consumers (a no-op while they run).
func (s *mqStrategy) StartConsumers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil || s.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &consumerRun{cancel: cancel}
	s.started++
	for i := range s.consumers {
		name := s.replica + "-" + strconv.Itoa(s.started) + "-" + strconv.Itoa(i)
		run.wg.Add(1)
		go func() {
			defer run.wg.Done()
			s.consume(ctx, name)
		}()
	}
	s.run = run
}

// KillConsumers stops this replica's consumers where they are and waits for them to exit.
func (s *mqStrategy) KillConsumers() {
	s.mu.Lock()
	run := s.run
	s.run = nil
	s.mu.Unlock()
	if run != nil {
		run.cancel()
		run.wg.Wait()
	}
}

// skuList answers the catalogue's SKU names, re-read when its version changed (checked at
// most every 100ms).
func (s *mqStrategy) skuList(ctx context.Context) []string {
	s.listMu.Lock()
	defer s.listMu.Unlock()
	if time.Since(s.listAt) < 100*time.Millisecond {
		return s.list
	}
	s.listAt = time.Now()
	v, err := s.r.CatalogVersion(ctx)
	if err != nil || v == s.listVer {
		return s.list
	}
	names, err := s.r.rdb.HKeys(ctx, s.r.cat[0]).Result()
	if err == nil {
		s.list, s.listVer = names, v
	}
	return s.list
}

// consumerState is one consumer's progress per SKU stream.
type consumerState struct {
	recovered map[string]bool      // its own pending entries were re-read after a start or an error
	claimed   map[string]time.Time // last XAUTOCLAIM
}

// consume is one consumer: for every SKU stream, its own pending messages after a start or an
// error, the messages of consumers idle past claimIdle, then new messages; persist, ack.
func (s *mqStrategy) consume(ctx context.Context, name string) {
	st := consumerState{recovered: map[string]bool{}, claimed: map[string]time.Time{}}
	idle := time.Millisecond
	for ctx.Err() == nil {
		skus := s.skuList(ctx)
		worked := 0
		failed := false
		for _, sku := range skus {
			n, err := s.consumeSKU(ctx, name, sku, &st, len(skus) == 1)
			worked += n
			if err != nil {
				failed = true
				st.recovered[sku] = false
			}
		}
		switch {
		case failed:
			idle = min(max(idle*2, 10*time.Millisecond), 500*time.Millisecond)
		case worked > 0:
			idle = time.Millisecond
			continue
		default:
			idle = min(idle*2, 20*time.Millisecond)
		}
		if sleep(ctx, idle) != nil {
			return
		}
	}
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// consumeSKU makes one pass over one SKU's stream; it answers how many messages it handled.
func (s *mqStrategy) consumeSKU(ctx context.Context, name, sku string, st *consumerState, block bool) (int, error) {
	stream := s.mqKeys(sku)[8]
	n := 0
	if !st.recovered[sku] {
		res, err := s.r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: mqGroup, Consumer: name,
			Streams: []string{stream, "0"}, Count: mqBatch, Block: -1}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if isNoGroup(err) {
				return 0, nil
			}
			return 0, err
		}
		msgs := streamMsgs(res)
		if err := s.persist(ctx, sku, stream, msgs); err != nil {
			return 0, err
		}
		n += len(msgs)
		if len(msgs) < mqBatch {
			st.recovered[sku] = true
		}
		return n, nil
	}
	if time.Since(st.claimed[sku]) >= s.claimIdle/2 {
		st.claimed[sku] = time.Now()
		msgs, _, err := s.r.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: stream, Group: mqGroup,
			Consumer: name, MinIdle: s.claimIdle, Start: "0-0", Count: mqBatch}).Result()
		if err != nil && !errors.Is(err, redis.Nil) && !isNoGroup(err) {
			return n, err
		}
		if err := s.persist(ctx, sku, stream, msgs); err != nil {
			return n, err
		}
		if len(msgs) == mqBatch {
			st.claimed[sku] = time.Time{} // more to take over: again next pass
		}
		n += len(msgs)
	}
	args := &redis.XReadGroupArgs{Group: mqGroup, Consumer: name, Streams: []string{stream, ">"}, Count: mqBatch, Block: -1}
	if block && n == 0 {
		args.Block = 20 * time.Millisecond
	}
	res, err := s.r.rdb.XReadGroup(ctx, args).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		if isNoGroup(err) {
			return n, nil
		}
		return n, err
	}
	msgs := streamMsgs(res)
	if err := s.persist(ctx, sku, stream, msgs); err != nil {
		return n, err
	}
	return n + len(msgs), nil
}

func streamMsgs(res []redis.XStream) []redis.XMessage {
	if len(res) == 0 {
		return nil
	}
	return res[0].Messages
}

// persist stores a batch in the book, then XACKs and XDELs the whole batch.
func (s *mqStrategy) persist(ctx context.Context, sku, stream string, msgs []redis.XMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.store(ctx, sku, msgs); err != nil {
		return err
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	_, err := s.r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, stream, mqGroup, ids...)
		p.XDel(ctx, stream, ids...)
		return nil
	})
	return err
}

// store inserts a batch of messages into the book, one transaction per generation in it
// (fl_mq_persist drops a stale one). Malformed or deleted entries have no row.
func (s *mqStrategy) store(ctx context.Context, sku string, msgs []redis.XMessage) error {
	type batch struct {
		id, fp, qty, half []int64
		user, key, grp    []string
		coupon            []string
		unit              []float64
		created, expires  []time.Time
	}
	byGen := map[int64]*batch{}
	for _, m := range msgs {
		gs, _ := m.Values["g"].(string)
		ss, _ := m.Values["s"].(string)
		d, _ := m.Values["o"].(string)
		gen, err1 := strconv.ParseInt(gs, 10, 64)
		seq, err2 := strconv.ParseInt(ss, 10, 64)
		o, ok := decodeMQ(sku, gen, seq, d)
		if err1 != nil || err2 != nil || !ok {
			continue
		}
		b := byGen[gen]
		if b == nil {
			b = &batch{}
			byGen[gen] = b
		}
		b.id = append(b.id, gen<<32|seq)
		b.fp = append(b.fp, int64(o.FP))
		b.qty = append(b.qty, o.Qty)
		b.half = append(b.half, o.Half)
		b.user = append(b.user, o.User)
		b.key = append(b.key, o.Key)
		b.grp = append(b.grp, o.Group)
		b.coupon = append(b.coupon, o.Coupon)
		b.unit = append(b.unit, o.Unit)
		b.created = append(b.created, o.CreatedAt)
		b.expires = append(b.expires, o.ExpiresAt)
	}
	for gen, b := range byGen {
		cctx, cancel := context.WithTimeout(ctx, pgCallTimeout)
		_, err := s.p.db.Exec(cctx, "SELECT fl_mq_persist($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
			sku, gen, b.id, b.user, b.key, b.fp, b.qty, b.unit, b.half, b.grp, b.coupon, b.created, b.expires)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

var (
	_ Strategy  = (*mqStrategy)(nil)
	_ Consumers = (*mqStrategy)(nil)
)
