package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/flashload/flashload/audit"
)

// table is a query's result as text: column names and rows (a NULL is "").
type table struct {
	cols []string
	rows [][]string
}

// queryFunc runs a query and returns its result as text.
type queryFunc func(ctx context.Context) (*table, error)

// sqlQuery is the query of a postgres or mysql source.
func (s *Store) sqlQuery(path string, q *sqlSource, isMySQL bool) (queryFunc, error) {
	if isMySQL {
		return s.mysqlQuery(path, q)
	}
	return s.postgresQuery(path, q)
}

// ordersOf reads orders from a query's rows: columns user, sku, qty (named in the error when
// missing), and optionally status, key, id.
func ordersOf(run queryFunc, err error) (ordersReader, error) {
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]audit.Order, error) {
		t, err := run(ctx)
		if err != nil {
			return nil, err
		}
		return tableOrders(t)
	}, nil
}

func tableOrders(t *table) ([]audit.Order, error) {
	cols, err := audit.ParseColumns(t.cols)
	if err != nil {
		return nil, fmt.Errorf("the query's result: %w", err)
	}
	out := make([]audit.Order, 0, len(t.rows))
	for i, r := range t.rows {
		o, err := cols.Order(r)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// stockOf reads units left from a query's rows: columns sku and available.
func stockOf(run queryFunc, err error) (stockReader, error) {
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (map[string]int64, error) {
		t, err := run(ctx)
		if err != nil {
			return nil, err
		}
		return tableStock(t)
	}, nil
}

func tableStock(t *table) (map[string]int64, error) {
	sku, avail := -1, -1
	for i, c := range t.cols {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "sku":
			sku = i
		case "available", "left", "stock_left":
			avail = i
		}
	}
	var missing []string
	if sku < 0 {
		missing = append(missing, "sku")
	}
	if avail < 0 {
		missing = append(missing, "available")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the query's result has no %s column (the columns are %s; name them with AS: sku, available)",
			strings.Join(missing, ", "), strings.Join(t.cols, ", "))
	}
	out := make(map[string]int64, len(t.rows))
	for i, r := range t.rows {
		n, err := strconv.ParseInt(strings.TrimSpace(r[avail]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row %d: available %q is not a whole number", i+1, r[avail])
		}
		out[strings.TrimSpace(r[sku])] = n
	}
	return out, nil
}

// postgresQuery runs the query through pgx's simple protocol, so every value comes back as
// PostgreSQL's own text (numerics, UUIDs and enums alike).
func (s *Store) postgresQuery(path string, q *sqlSource) (queryFunc, error) {
	s.secret(q.URL)
	cfg, err := pgx.ParseConfig(q.URL)
	if err != nil {
		return nil, fmt.Errorf("%s.url: %w", path, err)
	}
	query := q.Query
	return func(ctx context.Context) (*table, error) {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		rows, err := conn.Query(ctx, query, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		t := &table{}
		for _, f := range rows.FieldDescriptions() {
			t.cols = append(t.cols, f.Name)
		}
		for rows.Next() {
			raw := rows.RawValues()
			r := make([]string, len(raw))
			for i, v := range raw {
				r[i] = string(v)
			}
			t.rows = append(t.rows, r)
		}
		return t, rows.Err()
	}, nil
}

// mysqlQuery runs the query through go-sql-driver/mysql's text protocol (no arguments), so
// every value comes back as text.
func (s *Store) mysqlQuery(path string, q *sqlSource) (queryFunc, error) {
	s.secret(q.URL)
	dsn, err := MySQLDSN(q.URL)
	if err != nil {
		return nil, fmt.Errorf("%s.url: %w", path, err)
	}
	s.secret(dsn)
	query := q.Query
	return func(ctx context.Context) (*table, error) {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return nil, err
		}
		t := &table{cols: cols}
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			r := make([]string, len(cols))
			for i, v := range vals {
				r[i] = string(v)
			}
			t.rows = append(t.rows, r)
		}
		return t, rows.Err()
	}, nil
}

// MySQLDSN turns a mysql:// URL (mysql://USER:PASSWORD@HOST:PORT/DB?PARAMS) into
// go-sql-driver's DSN, and checks a DSN given as one (USER:PASSWORD@tcp(HOST:PORT)/DB).
func MySQLDSN(raw string) (string, error) {
	if !strings.HasPrefix(raw, "mysql://") {
		if _, err := mysql.ParseDSN(raw); err != nil {
			return "", err
		}
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a mysql:// URL")
	}
	if u.Host == "" {
		return "", errors.New("the mysql:// URL has no host")
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	for k, v := range u.Query() {
		if len(v) > 0 {
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params[k] = v[len(v)-1]
		}
	}
	dsn := cfg.FormatDSN()
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return "", err
	}
	return dsn, nil
}
