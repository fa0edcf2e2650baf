package stores

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// The faults a rehearsal injects into its stores: kill, pause, resume, restart on the same port.
func TestRedisKillPauseResumeRestart(t *testing.T) {
	_, err := RedisBin()
	testenv.NeedBinary(t, err)
	ctx := context.Background()
	r, err := StartRedis(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	addr, pid := r.Addr(), r.Pid()

	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if err := r.ping(pctx); err == nil {
		t.Fatal("a paused redis-server answered PING")
	}
	cancel()
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := r.ping(ctx); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}

	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	if r.Running() || r.Pid() != 0 {
		t.Fatal("running after Kill")
	}
	if err := r.ping(ctx); err == nil {
		t.Fatal("PING answered after Kill")
	}
	if err := r.Kill(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("second Kill: %v, want ErrNotRunning", err)
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Addr() != addr || r.Pid() == pid || r.Pid() == 0 {
		t.Fatalf("after Restart: %s pid %d, want %s and a new pid (was %d)", r.Addr(), r.Pid(), addr, pid)
	}
	if err := r.ping(ctx); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	// A paused server restarts too (resumed, then stopped).
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.ping(ctx); err != nil {
		t.Fatalf("PING after restarting a paused server: %v", err)
	}
}

func TestPostgresKillRestartKeepsData(t *testing.T) {
	_, err := PostgresBin()
	testenv.NeedBinary(t, err)
	ctx := context.Background()
	pg, err := StartPostgres(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	url, err := pg.CreateDatabase(ctx, "book")
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) error {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, sql)
		return err
	}
	// The cluster runs with synchronous_commit off (a crash may lose the last commits); this
	// session waits for its commit to reach the WAL, which outlives the process.
	if err := exec("SET synchronous_commit = on; CREATE TABLE t (n int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.CreateDatabase(ctx, "book"); err == nil {
		t.Fatal("a second CREATE DATABASE of one name succeeded")
	}
	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := exec("SELECT 1"); err == nil {
		t.Fatal("a query succeeded after Kill")
	}
	if err := pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT n FROM t").Scan(&n); err != nil || n != 7 {
		t.Fatalf("after Kill and Restart: %d %v, want the row written before", n, err)
	}
}

// WaitStopped returns once every thread of a SIGSTOPped process is stopped, and refuses a
// process that runs.
func TestWaitStopped(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	if err := WaitStopped(pid, 50*time.Millisecond); err == nil {
		t.Fatal("a running process taken as stopped")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := WaitStopped(pid, time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || !strings.Contains(string(b), ") T ") {
		t.Fatalf("after WaitStopped: %q %v", b, err)
	}
}
