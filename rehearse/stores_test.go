package rehearse

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flashload/flashload/target/inventory"
)

// TestRunStartsItsStores: strategies on Redis and PostgreSQL with no address given run on a
// throwaway redis-server and PostgreSQL cluster the rehearsal starts (one database per
// strategy), each sells exactly its stock with a clean audit, and the stores are gone afterwards
// with their directories.
func TestRunStartsItsStores(t *testing.T) {
	needStore(t, inventory.Redis)
	needStore(t, inventory.Postgres)
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	strategies := []string{"redis-lua", "pg-row", "tcc"}
	res, err := Run(context.Background(), Options{Scenario: tinySale(t, "200", "300"), Strategies: strategies,
		NoSim: true, Out: out, Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("%v, failed %v\nstdout:\n%s\nstderr:\n%s", err, res.Failed(), stdout.String(), stderr.String())
	}
	for _, st := range strategies {
		s := readSummary(t, filepath.Join(out, st))
		if a := s.Audit; !a.Checked || a.Sold != 200 || a.Oversold != 0 || a.Lost != 0 || len(a.Violations) > 0 {
			t.Errorf("%s: audit %+v, want exactly the 200 units sold and nothing wrong", st, a)
		}
	}
	if n := strings.Count(stderr.String(), "started a throwaway"); n != 2 {
		t.Errorf("%d stores started, want one Redis and one PostgreSQL:\n%s", n, stderr.String())
	}
	if !strings.Contains(stdout.String(), "architecture shoot-out") {
		t.Errorf("no shoot-out:\n%s", stdout.String())
	}
	assertStoresGone(t, stderr.String())
}

// A rehearsal given addresses uses them and starts nothing; a strategy without a store of its
// own needs none.
func TestStartStoresUsesGivenAddresses(t *testing.T) {
	dir := t.TempDir()
	s, err := StartStores(context.Background(), StoreOptions{Need: []inventory.Store{inventory.Redis, inventory.Postgres},
		Redis: "redis://127.0.0.1:1/0", Postgres: "postgres://u@127.0.0.1:1/db", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.Redis != nil || s.Postgres != nil {
		t.Fatal("started a store although its address was given")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d entries in the store dir", len(left))
	}
	sc, err := s.Scope(context.Background(), "redis-lua")
	if err != nil || sc.Redis != "redis://127.0.0.1:1/0" || sc.RedisPrefix == "" || sc.Postgres != "" {
		t.Fatalf("redis-lua's scope %+v %v", sc, err)
	}
	sc2, _ := s.Scope(context.Background(), "redis-lua")
	if sc2.RedisPrefix == sc.RedisPrefix {
		t.Fatal("two services share a key prefix")
	}
	if sc, err := s.Scope(context.Background(), "pg-row"); err != nil || sc.Postgres != "postgres://u@127.0.0.1:1/db" || sc.Redis != "" {
		t.Fatalf("pg-row's scope %+v %v", sc, err)
	}
	if sc, err := s.Scope(context.Background(), "memory"); err != nil || sc != (Scope{}) {
		t.Fatalf("memory's scope %+v %v", sc, err)
	}
	none, err := StartStores(context.Background(), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Scope(context.Background(), "redis-lua"); err == nil {
		t.Fatal("a scope on Redis from stores without Redis: no error")
	}
}

// --strategies all is every strategy, or every shared one for a fleet; a fleet without a
// strategy is redis-lua.
func TestAllStrategies(t *testing.T) {
	o := Options{Strategies: []string{AllStrategies}}
	if got, err := o.strategies(); err != nil || !slices.Equal(got, inventory.Names) {
		t.Fatalf("all: %v %v, want %v", got, err, inventory.Names)
	}
	o.Replicas = 3
	got, err := o.strategies()
	if err != nil || len(got) == 0 || slices.ContainsFunc(got, func(st string) bool { return !inventory.Shared(st) }) {
		t.Fatalf("all × 3 replicas: %v %v, want only strategies on a store", got, err)
	}
	if got, err := (&Options{Replicas: 2}).strategies(); err != nil || !slices.Equal(got, []string{"redis-lua"}) {
		t.Fatalf("a fleet without a strategy: %v %v, want redis-lua", got, err)
	}
}
