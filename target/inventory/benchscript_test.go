package inventory

import (
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/reserve.lua from the strategy's script")

// TestReserveScriptFile keeps testdata/reserve.lua, the script scripts/bench-redis loads into
// redis-benchmark as the ceiling of a purchase, equal to the script redis-lua and redis-sharded run.
func TestReserveScriptFile(t *testing.T) {
	const path = "testdata/reserve.lua"
	if *update {
		if err := os.WriteFile(path, []byte(reserveLua), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(b)
	if got := hex.EncodeToString(sum[:]); got != reserveScript.Hash() {
		t.Fatalf("%s (sha1 %s) differs from reserveScript (%s): go test ./target/inventory -run TestReserveScriptFile -update", path, got, reserveScript.Hash())
	}
}
