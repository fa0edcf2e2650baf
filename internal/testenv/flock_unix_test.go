//go:build unix

package testenv

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

// A test's shared hold on the cluster keeps an exclusive one out until the test ends, and
// another shared one does not.
func TestClusterLockExcludes(t *testing.T) {
	addrs := []string{fmt.Sprintf("lock-test-%d:1", os.Getpid())}
	try := func(how int) error {
		f, err := os.OpenFile(clusterLock(addrs), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	}
	t.Cleanup(func() { os.Remove(clusterLock(addrs)) })
	t.Run("held", func(t *testing.T) {
		lockCluster(t, addrs, false)
		if err := try(syscall.LOCK_EX); !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("an exclusive lock during a shared hold: %v, want EWOULDBLOCK", err)
		}
		if err := try(syscall.LOCK_SH); err != nil {
			t.Fatalf("a second shared lock: %v", err)
		}
	})
	if err := try(syscall.LOCK_EX); err != nil {
		t.Fatalf("an exclusive lock once the holder ended: %v", err)
	}
}
