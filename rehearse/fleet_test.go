package rehearse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/stores"
	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/target/inventory"
)

// These tests run the real thing: the flashload binary, built once, started as `serve`
// replicas, and real stores.

// needStore skips (or fails under scripts/test) when a store's server is not installed.
func needStore(t *testing.T, st inventory.Store) {
	t.Helper()
	var err error
	switch st {
	case inventory.Redis:
		_, err = stores.RedisBin()
	case inventory.Postgres:
		_, err = stores.PostgresBin()
	}
	testenv.NeedBinary(t, err)
}

var quick = &http.Client{Timeout: 2 * time.Second}

func healthy(url string) error {
	resp, err := quick.Get(url + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s", resp.Status)
	}
	return nil
}

// TestFleetFaults: a fleet of three replicas on one Redis, and what the faults do to one of
// them: killed, it refuses connections while the others serve; started again, it answers on
// the same URL; paused, it answers nothing until resumed; the fleet's Stop ends every process.
func TestFleetFaults(t *testing.T) {
	redis := "redis://" + testenv.RedisAddr(t) + "/0"
	ctx := context.Background()
	f, err := StartFleet(ctx, FleetOptions{Replicas: 3, Binary: testenv.FlashloadBinary(t),
		Target: TargetOptions{Strategy: "redis-lua", Redis: redis, RedisPrefix: fmt.Sprintf("fleet-test-%d:", time.Now().UnixNano())}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	urls := f.URLs()
	if len(urls) != 3 || urls[0] == urls[1] || urls[1] == urls[2] {
		t.Fatalf("urls %v: want three distinct replicas", urls)
	}
	for _, u := range urls {
		if err := healthy(u); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	r, err := f.Replica(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Replica(3); err == nil {
		t.Fatal("Replica(3) of three: no error")
	}
	pid := r.Pid()
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	if r.Running() || r.Pid() != 0 {
		t.Fatal("replica 1 running after Kill")
	}
	if err := healthy(urls[1]); err == nil {
		t.Fatal("a killed replica answered")
	}
	if err := healthy(urls[0]); err != nil {
		t.Fatalf("replica 0 after replica 1's death: %v", err)
	}
	if err := r.Kill(); err == nil {
		t.Fatal("killing a dead replica: no error")
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if r.URL() != urls[1] || r.Pid() == pid || r.Pid() == 0 {
		t.Fatalf("restarted at %s pid %d, want %s and a new process (was %d)", r.URL(), r.Pid(), urls[1], pid)
	}
	if err := healthy(urls[1]); err != nil {
		t.Fatalf("restarted replica: %v", err)
	}
	if err := r.Start(ctx); err == nil {
		t.Fatal("starting a running replica: no error")
	}

	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	slow := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := slow.Get(urls[1] + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a paused replica answered")
	}
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := healthy(urls[1]); err != nil {
		t.Fatalf("resumed replica: %v", err)
	}
	// Restart: a graceful stop (a paused replica is continued first) and a start on the port.
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := healthy(urls[1]); err != nil {
		t.Fatalf("restarted replica: %v", err)
	}

	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.Replicas {
		if r.Running() {
			t.Errorf("replica %d running after Stop", i)
		}
		if err := healthy(urls[i]); err == nil {
			t.Errorf("replica %d answers after Stop", i)
		}
	}
}

// A fleet of an in-process strategy is refused before anything starts.
func TestFleetNeedsASharedStrategy(t *testing.T) {
	for _, st := range []string{"memory", "naive", "sharded"} {
		_, err := StartFleet(context.Background(), FleetOptions{Replicas: 2, Binary: "/nonexistent", Target: TargetOptions{Strategy: st}})
		if err == nil {
			t.Fatalf("%s as two replicas: no error", st)
		}
	}
	var ie *InputError
	_, err := Run(context.Background(), Options{Scenario: tinySale(t, "10", "10"), Strategies: []string{"memory"}, Replicas: 2})
	if !errors.As(err, &ie) {
		t.Fatalf("Run memory × 2: %v, want an InputError", err)
	}
}

// TestRunReplicas: rehearse --replicas 3 on redis-lua, with the Redis rehearse starts itself: a
// crowd larger than the stock, spread over three serve processes, buys exactly the stock, and
// the audit is clean; the throwaway Redis is gone afterwards.
func TestRunReplicas(t *testing.T) {
	needStore(t, inventory.Redis)
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Options{Scenario: tinySale(t, "300", "400"), Strategies: []string{"redis-lua"},
		Replicas: 3, Binary: testenv.FlashloadBinary(t), NoSim: true, Out: out, StoreDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("%v, failed %v\nstdout:\n%s\nstderr:\n%s", err, res.Failed(), stdout.String(), stderr.String())
	}
	s := readSummary(t, out)
	a := s.Audit
	if !a.Checked || a.Sold != 300 || a.Oversold != 0 || a.Lost != 0 || a.Duplicates != 0 || len(a.Violations) > 0 {
		t.Fatalf("audit %+v: want exactly the 300 units sold, nothing oversold, lost or duplicated", a)
	}
	if s.Replicas.Min != 3 || s.Replicas.Max != 3 {
		t.Errorf("replicas %+v, want 3", s.Replicas)
	}
	listening := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+), (http://127\.0\.0\.1:\d+), (http://127\.0\.0\.1:\d+)\n`).FindStringSubmatch(stderr.String())
	if listening == nil {
		t.Fatalf("stderr names no three replicas:\n%s", stderr.String())
	}
	for _, u := range listening[1:] {
		if err := healthy(u); err == nil {
			t.Errorf("replica %s still answers after the rehearsal", u)
		}
	}
	assertStoresGone(t, stderr.String())
}

// assertStoresGone checks that every throwaway store a rehearsal announced refuses connections.
func assertStoresGone(t *testing.T, stderr string) {
	t.Helper()
	started := regexp.MustCompile(`started a throwaway \w+ at \w+://(?:postgres@)?(127\.0\.0\.1:\d+)`).FindAllStringSubmatch(stderr, -1)
	if len(started) == 0 {
		t.Fatalf("no throwaway store announced:\n%s", stderr)
	}
	for _, m := range started {
		if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
			c.Close()
			t.Errorf("a throwaway store at %s still listens after the rehearsal", m[1])
		}
	}
}
