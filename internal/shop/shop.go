// Package shop is a small flash-sale service that is not flashload's target, written the way a
// team's own service might be: a buyer reserves with POST /checkout?user_id=U&id=ITEM, which
// answers {"code":"..."}, and confirms with POST /purchase?code=CODE; 409 when sold out, 403
// past the per-user limit. Stock and per-user counts live in Redis; orders live in a SQL table
// (PostgreSQL or MySQL) WITHOUT idempotency keys. Flags make it wrong on purpose: let users past
// the limit, or acknowledge a checkout and never store its order. The audit tests and
// docs/own-service.md drive it; shopd serves it. It imports nothing of flashload's.
package shop

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/redis/go-redis/v9"
)

// Options configure a shop. Zero values are the defaults noted.
type Options struct {
	DB    string // postgres://... (pgx) or a MySQL DSN / mysql://... URL: where orders live
	Redis string // redis://HOST:PORT/DB: stock and per-user counts
	Sale  string // the sale's id: every key, and the orders' sale column (default "s1")
	// Stock is the units of each item on sale (default {"x-1": 200}); Open sets them in Redis.
	Stock map[string]int64
	Limit int // units per user and item (default 1)
	// BreakLimit skips the per-user check: a user who comes back buys again.
	BreakLimit bool
	// DropEvery, when > 0, acknowledges every DropEvery-th checkout without storing its order
	// (the unit is taken from the stock all the same).
	DropEvery int64
	// Login makes checkout need the SESSION cookie that POST /login?user_id=U sets.
	Login bool
}

// Shop is the service.
type Shop struct {
	o        Options
	db       *sql.DB
	mysql    bool
	rdb      *redis.Client
	reserved atomic.Int64 // acknowledged checkouts, for DropEvery
}

// Open connects to the stores, creates the orders table when it is missing and sets the stock.
func Open(ctx context.Context, o Options) (*Shop, error) {
	if o.Sale == "" {
		o.Sale = "s1"
	}
	if o.Stock == nil {
		o.Stock = map[string]int64{"x-1": 200}
	}
	if o.Limit <= 0 {
		o.Limit = 1
	}
	s := &Shop{o: o}
	driver, dsn := "pgx", o.DB
	if d, ok := mysqlDSN(o.DB); ok {
		driver, dsn, s.mysql = "mysql", d, true
	}
	var err error
	if s.db, err = sql.Open(driver, dsn); err != nil {
		return nil, err
	}
	ropt, err := redis.ParseURL(o.Redis)
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	s.rdb = redis.NewClient(ropt)
	ddl := `CREATE TABLE IF NOT EXISTS purchases (id BIGSERIAL PRIMARY KEY, sale_id VARCHAR(64) NOT NULL,
		user_id BIGINT NOT NULL, item VARCHAR(64) NOT NULL, qty INT NOT NULL, status VARCHAR(16) NOT NULL, code VARCHAR(96) NOT NULL)`
	if s.mysql {
		ddl = strings.Replace(ddl, "BIGSERIAL", "BIGINT AUTO_INCREMENT", 1)
	}
	if _, err := s.db.ExecContext(ctx, ddl); err != nil {
		s.Close()
		return nil, fmt.Errorf("orders table: %w", err)
	}
	for item, n := range o.Stock {
		if err := s.rdb.Set(ctx, s.stockKey(item), n, 0).Err(); err != nil {
			s.Close()
			return nil, fmt.Errorf("stock: %w", err)
		}
	}
	return s, nil
}

// mysqlDSN tells a MySQL address (DSN or mysql:// URL) from a PostgreSQL one.
func mysqlDSN(raw string) (string, bool) {
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		return "", false
	}
	if rest, ok := strings.CutPrefix(raw, "mysql://"); ok {
		userHost, db, _ := strings.Cut(rest, "/")
		user, host, found := strings.Cut(userHost, "@")
		if !found {
			user, host = "", userHost
		}
		c := mysql.NewConfig()
		c.Net, c.Addr, c.DBName = "tcp", host, db
		c.User, c.Passwd, _ = strings.Cut(user, ":")
		return c.FormatDSN(), true
	}
	if _, err := mysql.ParseDSN(raw); err == nil {
		return raw, true
	}
	return "", false
}

// Close releases the stores.
func (s *Shop) Close() {
	if s.db != nil {
		s.db.Close()
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
}

// StockKey is the Redis key holding an item's units left.
func (s *Shop) stockKey(item string) string { return "shop:" + s.o.Sale + ":" + item + ":stock" }

func (s *Shop) userKey(item, user string) string {
	return "shop:" + s.o.Sale + ":" + item + ":user:" + user
}

// reserve takes one unit of the stock for a user unless the item is sold out (0) or the user
// is at the limit (-1); 1 when it took one. One script: nothing between the check and the take.
var reserve = redis.NewScript(`
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then return 0 end
local limit = tonumber(ARGV[1])
if limit > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= limit then return -1 end
redis.call('DECR', KEYS[1])
redis.call('INCR', KEYS[2])
return 1`)

// Handler serves the shop's API.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /checkout", s.checkout)
	mux.HandleFunc("POST /purchase", s.purchase)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Shop) login(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user_id")
	if _, err := strconv.ParseInt(user, 10, 64); err != nil {
		answer(w, 400, map[string]string{"error": "user_id must be a number"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "SESSION", Value: "u" + user, Path: "/", HttpOnly: true})
	answer(w, 200, map[string]string{"user": user})
}

func (s *Shop) checkout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user, item := q.Get("user_id"), q.Get("id")
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil || item == "" {
		answer(w, 400, map[string]string{"error": "want user_id (a number) and id"})
		return
	}
	if s.o.Login {
		if c, err := r.Cookie("SESSION"); err != nil || c.Value != "u"+user {
			answer(w, 401, map[string]string{"error": "log in first"})
			return
		}
	}
	if _, ok := s.o.Stock[item]; !ok {
		answer(w, 404, map[string]string{"error": "no such item"})
		return
	}
	limit := s.o.Limit
	if s.o.BreakLimit {
		limit = 0
	}
	ctx := r.Context()
	got, err := reserve.Run(ctx, s.rdb, []string{s.stockKey(item), s.userKey(item, user)}, limit).Int()
	switch {
	case err != nil:
		answer(w, 503, map[string]string{"error": "stock: " + err.Error()})
		return
	case got == 0:
		answer(w, 409, map[string]string{"error": "sold out"})
		return
	case got < 0:
		answer(w, 403, map[string]string{"error": "limit reached"})
		return
	}
	// A random code: the client must take it from the answer to confirm.
	b := make([]byte, 12)
	rand.Read(b)
	code := hex.EncodeToString(b)
	n := s.reserved.Add(1)
	if s.o.DropEvery <= 0 || n%s.o.DropEvery != 0 {
		if err := s.store(ctx, uid, item, code); err != nil {
			// Give the unit back: nothing was promised.
			s.rdb.Incr(context.WithoutCancel(ctx), s.stockKey(item))
			s.rdb.Decr(context.WithoutCancel(ctx), s.userKey(item, user))
			answer(w, 500, map[string]string{"error": "orders: " + err.Error()})
			return
		}
	}
	answer(w, 200, map[string]string{"code": code})
}

func (s *Shop) store(ctx context.Context, user int64, item, code string) error {
	q := "INSERT INTO purchases (sale_id, user_id, item, qty, status, code) VALUES ($1, $2, $3, 1, 'reserved', $4)"
	if s.mysql {
		q = "INSERT INTO purchases (sale_id, user_id, item, qty, status, code) VALUES (?, ?, ?, 1, 'reserved', ?)"
	}
	_, err := s.db.ExecContext(ctx, q, s.o.Sale, user, item, code)
	return err
}

func (s *Shop) purchase(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if code == "" {
		answer(w, 400, map[string]string{"error": "want code"})
		return
	}
	q := "UPDATE purchases SET status = 'paid' WHERE sale_id = $1 AND code = $2 AND status = 'reserved'"
	if s.mysql {
		q = "UPDATE purchases SET status = 'paid' WHERE sale_id = ? AND code = ? AND status = 'reserved'"
	}
	res, err := s.db.ExecContext(r.Context(), q, s.o.Sale, code)
	if err != nil {
		answer(w, 500, map[string]string{"error": "orders: " + err.Error()})
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		answer(w, 404, map[string]string{"error": "no reservation with this code"})
		return
	}
	answer(w, 200, map[string]string{"status": "paid"})
}

// ErrNoStores is Open's answer when no database or Redis is named.
var ErrNoStores = errors.New("shop: want a database (--db) and a Redis (--redis)")
