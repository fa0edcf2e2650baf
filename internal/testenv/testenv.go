// Package testenv gives tests the real services they need (Redis, a Redis Cluster, PostgreSQL)
// from the environment that scripts/test prepares. Under CI a missing service fails the test; it never skips there.
package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RedisEnv names the variable scripts/test sets to the address (host:port) of a real redis-server.
const RedisEnv = "FLASHLOAD_TEST_REDIS"

// RedisAddr returns the address of the test Redis. Without one it fails the test under CI
// (CI or FLASHLOAD_REQUIRE_SERVICES set) and skips it elsewhere, saying how to get one.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := lookup(t, RedisEnv, "a redis-server")
	dial(t, addr, "redis", RedisEnv)
	return addr
}

// RedisClusterEnv names the variable scripts/test sets to the seed addresses (host:port,
// comma-separated) of a local Redis Cluster of three masters.
const RedisClusterEnv = "FLASHLOAD_TEST_REDIS_CLUSTER"

// RedisClusterAddrs returns the node addresses a client of the test Redis Cluster starts from,
// failing under CI and skipping elsewhere when there is none, as RedisAddr. The tests of every
// package share the cluster, and go test runs packages at once: the test holds a shared lock on
// the cluster until it ends, so that one that stops a node (RedisClusterOwn) waits for it.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	addrs := redisCluster(t)
	lockCluster(t, addrs, false)
	return addrs
}

// RedisClusterOwn is RedisClusterAddrs for a test that disrupts the cluster (stops a node): it
// has the cluster to itself until it ends, after the tests of every package that hold it. It
// must be the test's only call for the cluster (a shared hold of its own would never end).
func RedisClusterOwn(t testing.TB) []string {
	t.Helper()
	addrs := redisCluster(t)
	lockCluster(t, addrs, true)
	return addrs
}

// clusterLock is the path of the lock file of the cluster at addrs.
func clusterLock(addrs []string) string {
	name := strings.NewReplacer(":", "_", "/", "_", ".", "_").Replace(addrs[0])
	return filepath.Join(os.TempDir(), "flashload-test-cluster-"+name+".lock")
}

func redisCluster(t testing.TB) []string {
	t.Helper()
	addrs := strings.Split(lookup(t, RedisClusterEnv, "a 3-master Redis Cluster"), ",")
	for _, a := range addrs {
		dial(t, a, "redis cluster node", RedisClusterEnv)
	}
	return addrs
}

// lockCluster holds a lock on the cluster at addrs until t ends: shared, or exclusive. The lock
// is a file lock, so it holds across the test processes of every package.
func lockCluster(t testing.TB, addrs []string, exclusive bool) {
	t.Helper()
	f, err := os.OpenFile(clusterLock(addrs), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("the cluster's lock file: %v", err)
	}
	if err := flock(f, exclusive); err != nil {
		f.Close()
		t.Fatalf("locking the cluster: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases its lock
}

// lookup returns the value of env, which names what scripts/test starts (service). When it is
// unset it fails the test under CI (Required) and skips it elsewhere, saying how to get one.
func lookup(t testing.TB, env, service string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if Required() {
			t.Fatalf("%s is not set: run the tests through scripts/test, which starts %s", env, service)
		}
		t.Skipf("%s is not set; run scripts/test (it starts %s) to include this test", env, service)
	}
	return v
}

// dial fails the test when nothing listens at addr (what, from env).
func dial(t testing.TB, addr, what, env string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("%s at %s (%s) is not reachable: %v", what, addr, env, err)
	}
	c.Close()
}

// Required reports whether tests must not skip for a missing service.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("FLASHLOAD_REQUIRE_SERVICES") != ""
}

// NeedBinary is for a store's missing binary (err from internal/stores' lookups): under CI or
// FLASHLOAD_REQUIRE_SERVICES (scripts/test installs the packages) the test fails, elsewhere it
// skips. A nil err does nothing.
func NeedBinary(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if Required() {
		t.Fatal(err)
	}
	t.Skip(err)
}
