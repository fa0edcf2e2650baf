// Command storesd starts throwaway stores (internal/stores) for scripts: it writes their
// addresses as shell assignments to a file once they answer, and stops and removes them when
// it gets SIGINT or SIGTERM (or its parent dies).
//
//	storesd -postgres -env FILE     FILE gets FLASHLOAD_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
//	storesd -redis -env FILE        FILE gets FLASHLOAD_TEST_REDIS=127.0.0.1:PORT
//	storesd -mysql -env FILE        FILE gets FLASHLOAD_TEST_MYSQL=root@tcp(127.0.0.1:PORT)/ (MariaDB)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/flashload/flashload/internal/stores"
)

func main() {
	pg := flag.Bool("postgres", false, "start a PostgreSQL cluster")
	rd := flag.Bool("redis", false, "start a redis-server")
	my := flag.Bool("mysql", false, "start a MariaDB server")
	env := flag.String("env", "", "file to write the addresses to (required)")
	flag.Parse()
	if *env == "" || !*pg && !*rd && !*my {
		fmt.Fprintln(os.Stderr, "usage: storesd [-postgres] [-redis] [-mysql] -env FILE")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var lines []string
	var stops []func() error
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "storesd:", err)
		for _, s := range stops {
			s()
		}
		os.Exit(1)
	}
	if *pg {
		p, err := stores.StartPostgres(ctx, stores.Options{})
		if err != nil {
			fail(err)
		}
		stops = append(stops, p.Stop)
		lines = append(lines, "FLASHLOAD_TEST_POSTGRES="+p.URL())
	}
	if *rd {
		r, err := stores.StartRedis(ctx, stores.Options{})
		if err != nil {
			fail(err)
		}
		stops = append(stops, r.Stop)
		lines = append(lines, "FLASHLOAD_TEST_REDIS="+r.Addr())
	}
	if *my {
		m, err := stores.StartMySQL(ctx, stores.Options{})
		if err != nil {
			fail(err)
		}
		stops = append(stops, m.Stop)
		lines = append(lines, "FLASHLOAD_TEST_MYSQL='"+m.DSN("")+"'")
	}
	tmp := *env + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		fail(err)
	}
	if err := os.Rename(tmp, *env); err != nil {
		fail(err)
	}
	<-ctx.Done()
	for _, s := range stops {
		s()
	}
}
