package inventory

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgPushChannel is the LISTEN/NOTIFY channel of SKU changes. A database is one service, so the
// name needs no prefix.
const pgPushChannel = "fl_push"

// notifySQL increments the SKU's change number and notifies in one statement: the row lock
// orders concurrent notifications, and NOTIFY delivers in commit order, so listeners see the
// numbers rise.
const notifySQL = `WITH u AS (
  INSERT INTO fl_push AS p (sku, n) VALUES ($1, 1)
  ON CONFLICT (sku) DO UPDATE SET n = p.n + 1 RETURNING n)
SELECT pg_notify('` + pgPushChannel + `', n::text || ' ' || $1) FROM u`

func (s *pgStrategy) Notify(ctx context.Context, skus []string) error {
	for _, k := range skus {
		if _, err := s.db.Exec(ctx, notifySQL, k); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

func (s *pgStrategy) Changes(ctx context.Context, sku string) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, "SELECT n FROM fl_push WHERE sku = $1", sku).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, unavailable(err)
}

// Listen holds one connection of its own (outside the pool, which serves requests) in LISTEN.
func (s *pgStrategy) Listen(ctx context.Context, fn func(sku string, n int64)) error {
	return retryListen(ctx, func(ctx context.Context) error {
		conn, err := pgx.ConnectConfig(ctx, s.db.Config().ConnConfig.Copy())
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			conn.Close(cctx)
		}()
		if _, err := conn.Exec(ctx, "LISTEN "+pgPushChannel); err != nil {
			return err
		}
		fn("", 0)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			if sku, c, ok := parseNotify(n.Payload); ok {
				fn(sku, c)
			}
		}
	})
}
