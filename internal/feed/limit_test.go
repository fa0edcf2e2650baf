//go:build unix

package feed

import (
	"strings"
	"syscall"
	"testing"
)

func TestRaiseFileLimit(t *testing.T) {
	if err := RaiseFileLimit(10); err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur != l.Max {
		t.Fatalf("soft limit %d, hard %d: not raised", l.Cur, l.Max)
	}
	if l.Max >= 1<<40 {
		t.Skip("no hard limit to exceed")
	}
	err := RaiseFileLimit(int(l.Max) + 1)
	if err == nil || !strings.Contains(err.Error(), "ulimit -Hn") {
		t.Fatalf("beyond the hard limit: %v", err)
	}
}
