//go:build unix

package engine

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/flashload/flashload/scenario"
)

// TestCrowdOverFileLimit: a crowd that needs more open files than this process may have is an
// error before the run, naming the limit and how to raise it.
func TestCrowdOverFileLimit(t *testing.T) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Max >= scenario.CrowdWatchersMax {
		t.Skipf("the hard file limit (%d) holds the largest crowd", l.Max)
	}
	s := mustParse(t, fmt.Sprintf(`
skus: [{sku: phone, stock: 10, price: 20, starts_at: "+3s"}]
traffic: {stages: [{duration: 5s, rps: 1}]}
crowd: {sku: phone, watchers: %d, from: 2s, journey: herd}
journeys: [{name: herd, steps: [{purchase: {sku: phone}}]}]
`, l.Max+1))
	_, err := Run(context.Background(), s, Options{Target: "http://127.0.0.1:1", NoPreflight: true})
	if err == nil || !strings.Contains(err.Error(), "open files are needed") || !strings.Contains(err.Error(), "ulimit -Hn") {
		t.Fatalf("error %v, want the file limit and how to raise it", err)
	}
}
