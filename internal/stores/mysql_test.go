package stores

import (
	"context"
	"database/sql"
	"os"
	"syscall"
	"testing"

	"github.com/flashload/flashload/internal/testenv"
)

// TestMySQLStartsAnswersAndCleansUp: a MariaDB server starts on a loopback port, keeps what it
// is given, and Stop ends it and removes its directory.
func TestMySQLStartsAnswersAndCleansUp(t *testing.T) {
	_, _, err := mysqlBins()
	testenv.NeedBinary(t, err)
	m, err := StartMySQL(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE shop", "CREATE TABLE shop.t (n INT)", "INSERT INTO shop.t VALUES (7)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT n FROM shop.t").Scan(&n); err != nil || n != 7 {
		t.Fatalf("read back %d, %v", n, err)
	}
	dir, pid := m.dir, m.Pid()
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if pid == 0 || syscall.Kill(pid, 0) == nil {
		t.Errorf("mariadbd (pid %d) still runs after Stop", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there: %v", dir, err)
	}
}
