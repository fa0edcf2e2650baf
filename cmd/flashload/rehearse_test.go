package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/flashload/flashload/rehearse"
)

// TestRehearseBadInput: unknown strategies, redis strategies without --redis, both --strategy
// and --strategies, and missing scenarios are usage errors (exit 2), before anything starts.
// The rehearsal itself is tested in the rehearse package.
func TestRehearseBadInput(t *testing.T) {
	cases := []rehearseOptions{
		{Name: "double-eleven", Strategy: "quantum"},
		{Name: "double-eleven", Strategy: "redis-lua"},
		{Name: "double-eleven", Strategy: "memory", Options: rehearse.Options{Strategies: []string{"naive"}}},
		{Name: "no-such-scenario"},
		{Name: "double-eleven", Options: rehearse.Options{Wall: -time.Second}},
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

// TestUnknownCommandIsUsage: an unknown command exits 2 through the real binary, like an
// unknown flag; no command at all prints the help and exits 0.
func TestUnknownCommandIsUsage(t *testing.T) {
	bin := buildFlashload(t)
	for _, c := range []struct {
		args []string
		code int
	}{{[]string{"bogus"}, exitUsage}, {[]string{"--bogus"}, exitUsage}, {nil, exitOK}, {[]string{"rehearse", "a", "b"}, exitUsage}} {
		if code, _, stderr := runCLI(t, bin, c.args...); code != c.code {
			t.Errorf("flashload %v: exit %d, want %d (%s)", c.args, code, c.code, stderr)
		}
	}
}
