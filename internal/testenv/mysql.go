package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLEnv names the variable scripts/test sets to go-sql-driver's DSN of a throwaway MariaDB
// server's root user, without a database (root@tcp(127.0.0.1:PORT)/).
const MySQLEnv = "FLASHLOAD_TEST_MYSQL"

// MySQL returns the DSN of a fresh, empty database on the test MariaDB server, dropped when the
// test ends. Without a server it fails the test under CI (as RedisAddr) and skips elsewhere.
func MySQL(t testing.TB) string {
	t.Helper()
	base := strings.TrimSpace(lookup(t, MySQLEnv, "a MariaDB server"))
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("%s=%q: %v", MySQLEnv, base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("fltest_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, databases.Add(1))
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("mariadb at %s (%s): creating database %s: %v", cfg.Addr, MySQLEnv, name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if db, err := sql.Open("mysql", base); err == nil {
			_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
			db.Close()
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}
