package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestWatchUsage: watch's bad input is exit 2 before it connects anywhere: no coordinator or
// run id, and a --metrics-addr it cannot listen on (the flag is wired: the server starts before
// the watcher, so a bad address fails first).
func TestWatchUsage(t *testing.T) {
	for name, o := range map[string]*watchOptions{
		"no coordinator":   {RunID: "r"},
		"no run id":        {Coordinate: "redis://127.0.0.1:1/0"},
		"bad metrics addr": {Coordinate: "redis://127.0.0.1:1/0", RunID: "r", MetricsAddr: "127.0.0.1:notaport"},
	} {
		o.Stdout, o.Stderr = io.Discard, io.Discard
		err := watchRun(context.Background(), o)
		if code := exitCode(err, io.Discard); code != exitUsage {
			t.Errorf("%s: exit %d (%v), want %d", name, code, err, exitUsage)
		}
		if name == "bad metrics addr" && (err == nil || !strings.Contains(err.Error(), "--metrics-addr")) {
			t.Errorf("%s: %v, want the flag named", name, err)
		}
	}
}
