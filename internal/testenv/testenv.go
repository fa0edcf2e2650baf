// Package testenv gives tests the real services they need (Redis, a Redis Cluster) from the environment that
// scripts/test prepares. Under CI a missing service fails the test; it never skips there.
package testenv

import (
	"net"
	"os"
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
	addr := os.Getenv(RedisEnv)
	if addr == "" {
		if Required() {
			t.Fatalf("%s is not set: run the tests through scripts/test, which starts a redis-server", RedisEnv)
		}
		t.Skipf("%s is not set; run scripts/test (it starts a redis-server) to include this test", RedisEnv)
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("redis at %s (%s) is not reachable: %v", addr, RedisEnv, err)
	}
	c.Close()
	return addr
}

// RedisClusterEnv names the variable scripts/test sets to the seed addresses (host:port,
// comma-separated) of a local Redis Cluster of three masters.
const RedisClusterEnv = "FLASHLOAD_TEST_REDIS_CLUSTER"

// RedisClusterAddrs returns the seeds of the test Redis Cluster, failing under CI and skipping
// elsewhere when there is none, as RedisAddr.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(RedisClusterEnv)
	if v == "" {
		if Required() {
			t.Fatalf("%s is not set: run the tests through scripts/test, which starts a Redis Cluster", RedisClusterEnv)
		}
		t.Skipf("%s is not set; run scripts/test (it starts a 3-master Redis Cluster) to include this test", RedisClusterEnv)
	}
	addrs := strings.Split(v, ",")
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			t.Fatalf("redis cluster node %s (%s) is not reachable: %v", a, RedisClusterEnv, err)
		}
		c.Close()
	}
	return addrs
}

// Required reports whether tests must not skip for a missing service.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("FLASHLOAD_REQUIRE_SERVICES") != ""
}
