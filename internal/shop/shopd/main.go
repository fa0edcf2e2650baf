// Command shopd serves package shop: a small flash-sale service that is not flashload's target,
// for docs/own-service.md and for trying the audit against a service's own database.
//
//	shopd --addr 127.0.0.1:8090 --db postgres://postgres@127.0.0.1:5432/shop --redis redis://127.0.0.1:6379/0 \
//	      --item x-1 --stock 200 --limit 1 [--break-limit] [--drop-every 50] [--login]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flashload/flashload/internal/shop"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	db := flag.String("db", os.Getenv("SHOP_DB"), "orders database: postgres://... or a MySQL DSN / mysql://... (default $SHOP_DB)")
	rd := flag.String("redis", os.Getenv("SHOP_REDIS"), "redis://HOST:PORT/DB for the stock (default $SHOP_REDIS)")
	sale := flag.String("sale", "s1", "the sale's id")
	item := flag.String("item", "x-1", "the item on sale")
	stock := flag.Int64("stock", 200, "units on sale")
	limit := flag.Int("limit", 1, "units per user")
	o := shop.Options{}
	flag.BoolVar(&o.BreakLimit, "break-limit", false, "skip the per-user limit (a bug to find)")
	flag.Int64Var(&o.DropEvery, "drop-every", 0, "acknowledge every Nth checkout without storing its order (a bug to find)")
	flag.BoolVar(&o.Login, "login", false, "checkout needs the SESSION cookie of POST /login?user_id=U")
	flag.Parse()
	if *db == "" || *rd == "" {
		fmt.Fprintln(os.Stderr, "shopd:", shop.ErrNoStores)
		os.Exit(2)
	}
	o.DB, o.Redis, o.Sale, o.Limit, o.Stock = *db, *rd, *sale, *limit, map[string]int64{*item: *stock}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := shop.Open(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shopd:", err)
		os.Exit(1)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shopd:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "shopd: sale %s, %d of %s, on http://%s\n", *sale, *stock, *item, ln.Addr())
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "shopd:", err)
		os.Exit(1)
	}
}
