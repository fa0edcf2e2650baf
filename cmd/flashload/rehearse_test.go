package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/rehearse"
)

// TestRehearseBadInput: unknown strategies, both --strategy and --strategies, "all" beside
// another name, a fleet of an in-process strategy, and missing scenarios are usage errors
// (exit 2), before anything starts.
// The rehearsal itself is tested in the rehearse package.
func TestRehearseBadInput(t *testing.T) {
	cases := []rehearseOptions{
		{Name: "double-eleven", Strategy: "quantum"},
		{Name: "double-eleven", Strategy: "memory", Options: rehearse.Options{Replicas: 3}},
		{Name: "double-eleven", Options: rehearse.Options{Strategies: []string{"redis-lua", "naive"}, Replicas: 2}},
		{Name: "double-eleven", Options: rehearse.Options{Strategies: []string{"all", "memory"}}},
		{Name: "double-eleven", Options: rehearse.Options{Replicas: -1}},
		{Name: "double-eleven", Strategy: "memory", Options: rehearse.Options{Strategies: []string{"naive"}}},
		{Name: "no-such-scenario"},
		{Name: "double-eleven", Options: rehearse.Options{Wall: -time.Second}},
		{Name: "double-eleven", Options: rehearse.Options{Strategies: []string{"memory", "naive"}}, Capacity: capacityFlags{Find: true, Step: time.Second, Precision: 0.05}},
		{Name: "double-eleven", Capacity: capacityFlags{Find: true, Step: 0, Precision: 0.05}},
	}
	for _, o := range cases {
		var buf bytes.Buffer
		o.Stdout, o.Stderr = &buf, &buf
		err := rehearseRun(context.Background(), &o)
		if code := exitCode(err, &buf); code != exitUsage {
			t.Errorf("%+v: exit %d (%v), want %d", o, code, err, exitUsage)
		}
	}
}

// TestRehearseMissingStoreBinary: a strategy whose store's server is not installed is a
// runtime error (exit 1) naming the Debian package, before anything starts.
func TestRehearseMissingStoreBinary(t *testing.T) {
	t.Setenv("FLASHLOAD_PG_BIN", t.TempDir())
	var buf bytes.Buffer
	o := rehearseOptions{Name: "double-eleven", Options: rehearse.Options{Strategies: []string{"redis-lua", "pg-row"}, StoreDir: t.TempDir()}}
	o.Stdout, o.Stderr = &buf, &buf
	err := rehearseRun(context.Background(), &o)
	if code := exitCode(err, &buf); code != exitRuntime || !strings.Contains(err.Error(), `Debian package "postgresql"`) {
		t.Fatalf("exit %d (%v), want %d naming the package postgresql", code, err, exitRuntime)
	}
	if left, _ := os.ReadDir(o.StoreDir); len(left) != 0 || strings.Contains(buf.String(), "started") {
		t.Fatalf("something started: %d entries in the store dir, output %q", len(left), buf.String())
	}
}

// TestUnknownCommandIsUsage: an unknown command exits 2 through the real binary, like an
// unknown flag; no command at all prints the help and exits 0.
func TestUnknownCommandIsUsage(t *testing.T) {
	bin := testenv.FlashloadBinary(t)
	for _, c := range []struct {
		args []string
		code int
	}{{[]string{"bogus"}, exitUsage}, {[]string{"--bogus"}, exitUsage}, {nil, exitOK}, {[]string{"rehearse", "a", "b"}, exitUsage}} {
		if code, _, stderr := runCLI(t, bin, c.args...); code != c.code {
			t.Errorf("flashload %v: exit %d, want %d (%s)", c.args, code, c.code, stderr)
		}
	}
}
