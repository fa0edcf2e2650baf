// Package testenv gives tests the real services they need (Redis) from the environment that
// scripts/test prepares. Under CI a missing service fails the test; it never skips there.
package testenv

import (
	"net"
	"os"
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

// Required reports whether tests must not skip for a missing service.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("FLASHLOAD_REQUIRE_SERVICES") != ""
}
