package target

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

// ownRedis is a redis-server this test starts, kills and restarts itself (with an append-only
// file, so the stock survives the restart as it would in production).
type ownRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if testenv.Required() {
			t.Fatal("redis-server is not installed (scripts/test installs it)")
		}
		t.Skip("redis-server is not installed; run scripts/test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &ownRedis{t: t, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *ownRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for range 100 {
		if c, err := net.DialTimeout("tcp", r.addr(), 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on %s did not come up", r.addr())
}

func (r *ownRedis) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *ownRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// TestRedisDownAndBack: with Redis gone, purchases answer 503 STORE_UNAVAILABLE and nothing
// counts as sold; when it is back the service recovers without a restart.
func TestRedisDownAndBack(t *testing.T) {
	for _, name := range []string{"redis-decr", "redis-lua", "redis-sharded"} {
		t.Run(name, func(t *testing.T) {
			r := startOwnRedis(t)
			ts := startServer(t, Options{Strategy: name, AdminToken: "test-token", Shards: 3,
				RedisURL: "redis://" + r.addr() + "/0"})
			ts.createSKU(t, `{"sku":"s","stock":50,"price":10}`)
			acked := 0
			for i := range 5 {
				if a := ts.buy(t, "s", "before"+strconv.Itoa(i), "", ""); a.status == 201 {
					acked++
				}
			}
			r.kill()
			for i := range 5 {
				a := ts.buy(t, "s", "down"+strconv.Itoa(i), "k"+strconv.Itoa(i), "")
				if a.status != 503 || a.code() != "STORE_UNAVAILABLE" || a.header.Get("Retry-After") == "" {
					t.Fatalf("purchase with Redis down: %d %s", a.status, a.body)
				}
			}
			if a := ts.admin(t, "GET", "/admin/audit?sku=s", ""); a.status != 503 {
				t.Fatalf("audit with Redis down: %d %s", a.status, a.body)
			}
			r.start()
			var a answer
			for range 50 { // the pool redials on the next command
				if a = ts.buy(t, "s", "after", "", ""); a.status == 201 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if a.status != 201 {
				t.Fatalf("purchase after Redis came back: %d %s", a.status, a.body)
			}
			acked++
			au := ts.audit(t, "s")
			conserved(t, au)
			if au.Sold != int64(acked) || au.Orders != int64(acked) || au.Available != 50-int64(acked) {
				t.Fatalf("audit %+v, want exactly the %d acknowledged purchases sold", au, acked)
			}
			// The keys tried while Redis was down are free: nothing was recorded for them.
			if a := ts.buy(t, "s", "down0", "k0", ""); a.status != 201 {
				t.Fatalf("retry of a failed key: %d %s", a.status, a.body)
			}
		})
	}
}
