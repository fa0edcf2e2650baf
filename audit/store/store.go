// Package store reads another service's own truth for the audit: its stored orders (a
// PostgreSQL or MySQL query, an HTTP export, a file) and, optionally, the units left per SKU (a
// Redis key per SKU, or a query answering sku and available). It turns a scenario's audit:
// block into an audit.Store that the engine reads once the load is over.
//
// Nothing it reads or fails with carries a secret out: errors have the store's URL and password
// replaced by "***" before they reach a summary.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/scenario"
)

// Options are what a store needs beside the audit block.
type Options struct {
	Target     string   // the service's base URL: an http export's relative URL is read from it
	OrdersFile string   // an orders export that replaces the block's orders (run and audit's --orders)
	SKUs       []string // the scenario's SKUs: one stock key or row each
}

// reader reads one part of the truth.
type ordersReader func(ctx context.Context) ([]audit.Order, error)
type stockReader func(ctx context.Context) (map[string]int64, error)

// Store is an audit.Store over a scenario's audit block.
type Store struct {
	orders  ordersReader
	stock   stockReader // nil: the block names no stock
	secrets []string
}

var _ audit.Store = (*Store)(nil)

// New checks the block (URLs, DSNs) and returns its store; nothing is connected yet. spec may
// be nil when opts.OrdersFile is set. Errors say which part of the block is wrong.
func New(spec *scenario.AuditSpec, opts Options) (*Store, error) {
	s := &Store{}
	var errs []error
	switch {
	case opts.OrdersFile != "":
		s.orders = fileOrders(opts.OrdersFile)
	case spec == nil:
		return nil, errors.New("audit: no orders to read (no audit: block, no --orders)")
	default:
		o := &spec.Orders
		var err error
		switch {
		case o.Postgres != nil:
			s.orders, err = ordersOf(s.sqlQuery("audit.orders.postgres", o.Postgres, false))
		case o.MySQL != nil:
			s.orders, err = ordersOf(s.sqlQuery("audit.orders.mysql", o.MySQL, true))
		case o.HTTP != nil:
			s.orders, err = s.httpOrders("audit.orders.http", o.HTTP, opts.Target)
		case o.File != "":
			s.orders = fileOrders(o.File)
		default:
			err = errors.New("audit.orders: no source")
		}
		errs = append(errs, err)
	}
	if spec != nil && spec.Stock != nil {
		st := spec.Stock
		var err error
		switch {
		case st.Redis != nil:
			s.stock, err = s.redisStock("audit.stock.redis", st.Redis, opts.SKUs)
		case st.Postgres != nil:
			s.stock, err = stockOf(s.sqlQuery("audit.stock.postgres", st.Postgres, false))
		case st.MySQL != nil:
			s.stock, err = stockOf(s.sqlQuery("audit.stock.mysql", st.MySQL, true))
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, s.redact(err)
	}
	return s, nil
}

// Read reads the orders, then the units left. A failure names the part and the store's own
// message, secrets redacted.
func (s *Store) Read(ctx context.Context) (audit.Truth, error) {
	var t audit.Truth
	orders, err := s.orders(ctx)
	if err != nil {
		return t, s.redact(fmt.Errorf("orders: %w", err))
	}
	t.Orders = orders
	if s.stock != nil {
		left, err := s.stock(ctx)
		if err != nil {
			return t, s.redact(fmt.Errorf("stock: %w", err))
		}
		t.Left = left
	}
	return t, nil
}

// secret remembers a URL and the password in it, so that no error shows them.
func (s *Store) secret(raw string) {
	if raw == "" {
		return
	}
	s.secrets = append(s.secrets, raw)
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			s.secrets = append(s.secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if c, err := mysql.ParseDSN(raw); err == nil && c.Passwd != "" {
		s.secrets = append(s.secrets, c.Passwd)
	}
}

// redact replaces every secret in err's message.
func (s *Store) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, sec := range s.secrets {
		if len(sec) >= 3 {
			msg = strings.ReplaceAll(msg, sec, "***")
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
