package inventory

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaSQL is the whole PostgreSQL schema: tables and the functions that run each business
// operation in one transaction (one round trip). Applied by every replica at start.
//
//go:embed schema.sql
var schemaSQL string

// schemaLock is the advisory lock key under which the schema is applied, so replicas starting
// together do not race on CREATE OR REPLACE.
const schemaLock = 0x666c617368 // "flash"

// DefaultPostgresConns is the pool size when the URL sets no pool_max_conns.
const DefaultPostgresConns = 32

// pgCallTimeout bounds one business call: a stalled database answers 503 instead of hanging
// the request (the outcome is then unknown, as for any timeout).
const pgCallTimeout = 3 * time.Second

// openPostgres connects a pool to url and applies the schema. The pool is the shared
// PostgreSQL entry of every strategy that keeps state there.
func openPostgres(ctx context.Context, rawURL string) (*pgxpool.Pool, error) {
	if rawURL == "" {
		return nil, errors.New("needs a PostgreSQL URL (--postgres postgres://USER@HOST:PORT/DB)")
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	if u, err := url.Parse(rawURL); err != nil || !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = DefaultPostgresConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres at %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres at %s:%d: applying the schema: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// migrate applies schema.sql in one transaction under an advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLock)); err != nil {
			return err
		}
		// The simple protocol runs the file's many statements in one round trip.
		_, err := tx.Exec(ctx, schemaSQL, pgx.QueryExecModeSimpleProtocol)
		return err
	})
}

// pgErr maps a failed call: the schema's own SQLSTATEs to their errors, anything else to
// ErrUnavailable (the outcome of a write is then unknown to the caller).
func pgErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "FLSLD":
			return ErrSoldOut
		case "FLLIM":
			return ErrLimit
		}
	}
	return unavailable(err)
}

// isPgCode reports whether err is a PostgreSQL error with SQLSTATE code.
func isPgCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// nullTime is NULL for the zero time (no bound).
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// pgOrderID is the order's id in the API (SKU.0.SEQ, as the other strategies) and pgSeq reads it back.
func pgOrderID(sku string, seq int64) string { return orderID(sku, 0, seq) }

func pgSeq(id string) (sku string, seq int64, ok bool) {
	sku, b, seq, ok := parseID(id)
	if !ok || b != 0 {
		return "", 0, false
	}
	return sku, seq, true
}

// pgCatalog is the Catalog kept in PostgreSQL: every replica on the database shares it.
type pgCatalog struct{ db *pgxpool.Pool }

func (c pgCatalog) SKUDef(ctx context.Context, sku string) ([]byte, error) {
	var def []byte
	err := c.db.QueryRow(ctx, "SELECT def FROM fl_skus WHERE sku = $1", sku).Scan(&def)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnknownSKU
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return def, nil
}

func (c pgCatalog) SKUDefs(ctx context.Context) (map[string][]byte, error) {
	rows, err := c.db.Query(ctx, "SELECT sku, def FROM fl_skus")
	if err != nil {
		return nil, unavailable(err)
	}
	out := map[string][]byte{}
	var sku string
	var def []byte
	_, err = pgx.ForEachRow(rows, []any{&sku, &def}, func() error {
		out[sku] = def
		def = nil
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

func (c pgCatalog) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := c.db.QueryRow(ctx, "SELECT version FROM fl_catalog WHERE id = 1").Scan(&v); err != nil {
		return 0, unavailable(err)
	}
	return v, nil
}

func (c pgCatalog) CreateGroup(ctx context.Context, sku string) (string, error) {
	var id string
	err := c.db.QueryRow(ctx, "INSERT INTO fl_groups (id, sku) VALUES ('g' || nextval('fl_group_seq'), $1) RETURNING id", sku).Scan(&id)
	if err != nil {
		return "", unavailable(err)
	}
	return id, nil
}

func (c pgCatalog) JoinGroup(ctx context.Context, id, user string, max, couponAt int) (int, error) {
	var code string
	var n int
	err := c.db.QueryRow(ctx, "SELECT code, members FROM fl_join_group($1, $2, $3, $4)", id, user, max, couponAt).Scan(&code, &n)
	switch {
	case err != nil:
		return 0, unavailable(err)
	case code == "NO_GROUP":
		return 0, ErrNoGroup
	case code == "FULL":
		return n, ErrGroupFull
	}
	return n, nil
}

func (c pgCatalog) Group(ctx context.Context, id string) (string, []string, error) {
	var sku string
	var members []string
	err := c.db.QueryRow(ctx, `SELECT g.sku, coalesce(array_agg(m.user_id ORDER BY m.seq) FILTER (WHERE m.user_id IS NOT NULL), '{}')
		FROM fl_groups g LEFT JOIN fl_group_members m ON m.group_id = g.id WHERE g.id = $1 GROUP BY g.sku`, id).Scan(&sku, &members)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, ErrNoGroup
	}
	if err != nil {
		return "", nil, unavailable(err)
	}
	return sku, members, nil
}

func (c pgCatalog) HasCoupon(ctx context.Context, sku, user string) (bool, error) {
	var ok bool
	err := c.db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM fl_coupons WHERE sku = $1 AND user_id = $2)", sku, user).Scan(&ok)
	if err != nil {
		return false, unavailable(err)
	}
	return ok, nil
}
