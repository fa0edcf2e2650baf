package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable scripts/test sets to the URL of a throwaway PostgreSQL
// cluster's superuser (postgres://postgres@127.0.0.1:PORT/postgres).
const PostgresEnv = "FLASHLOAD_TEST_POSTGRES"

var databases atomic.Int64

// Postgres returns the URL of a fresh, empty database on the test cluster, dropped when the
// test ends. Without a cluster it fails the test under CI (as RedisAddr) and skips elsewhere.
func Postgres(t testing.TB) string {
	t.Helper()
	base := lookup(t, PostgresEnv, "a PostgreSQL cluster")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s=%q: %v", PostgresEnv, base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("postgres at %s (%s) is not reachable: %v", u.Host, PostgresEnv, err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("fltest_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, databases.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u.Path = "/" + name
	return strings.TrimSpace(u.String())
}
