package stores

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/flashload/flashload/internal/testenv"
)

func TestPostgresStartsAnswersAndCleansUp(t *testing.T) {
	_, err := PostgresBin()
	testenv.NeedBinary(t, err)
	ctx := context.Background()
	pg, err := StartPostgres(ctx, Options{}) // t.TempDir() is not the postgres user's to enter
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Fatalf("SHOW fsync: %q %v", fsync, err)
	}
	var addr string
	if err := conn.QueryRow(ctx, "SELECT host(inet_server_addr())").Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Fatalf("server address %q %v, want loopback", addr, err)
	}
	conn.Close(ctx)
	dir, pid := pg.Dir(), pg.Pid()
	if pid == 0 {
		t.Fatal("no postmaster pid")
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Stop (%v)", dir, err)
	}
	if pg.Pid() != 0 {
		t.Fatal("postmaster still running after Stop")
	}
	if c, err := pgx.Connect(ctx, pg.URL()); err == nil {
		c.Close(ctx)
		t.Fatal("connected after Stop")
	}
	if err := pg.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestRedisStartsAnswersAndCleansUp(t *testing.T) {
	_, err := RedisBin()
	testenv.NeedBinary(t, err)
	ctx := context.Background()
	r, err := StartRedis(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); v != "v" || err != nil {
		t.Fatalf("GET: %q %v", v, err)
	}
	if !strings.HasPrefix(r.Addr(), "127.0.0.1:") {
		t.Fatalf("addr %s", r.Addr())
	}
	r.Stop()
	if conn, err := net.Dial("tcp", r.Addr()); err == nil {
		conn.Close()
		t.Fatal("redis-server still listening after Stop")
	}
}

// A missing binary is an error naming the Debian package, before anything is started.
func TestMissingBinariesNameThePackage(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv("FLASHLOAD_PG_BIN", "")
	oldGlob, oldRedis := pgBinGlob, redisFallback
	pgBinGlob, redisFallback = empty+"/*/bin", empty+"/redis-server"
	defer func() { pgBinGlob, redisFallback = oldGlob, oldRedis }()
	dir := t.TempDir()
	_, err := StartPostgres(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), `"postgresql"`) {
		t.Fatalf("StartPostgres without initdb: %v", err)
	}
	_, err = StartRedis(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), `"redis-server"`) {
		t.Fatalf("StartRedis without redis-server: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a failed start left %d entries in %s", len(left), dir)
	}
	t.Setenv("FLASHLOAD_PG_BIN", empty)
	if _, err := StartPostgres(context.Background(), Options{Dir: dir}); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), `"postgresql"`) {
		t.Fatalf("StartPostgres with an empty FLASHLOAD_PG_BIN: %v", err)
	}
}
