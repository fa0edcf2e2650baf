package rehearse

import (
	"testing"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/target/inventory"
)

// TestReplicaKillLosesNothing: a target replica SIGKILLed mid-run and started again, on every
// store-backed strategy (two replicas on one store): nothing acknowledged is lost, nothing
// oversold.
func TestReplicaKillLosesNothing(t *testing.T) {
	needStore(t, inventory.Redis)
	needStore(t, inventory.Postgres)
	bin := testenv.FlashloadBinary(t)
	for _, st := range sharedNames() {
		t.Run(st, func(t *testing.T) {
			s := faultSale(t, "100", "2s", "  - {at: 30%, target: kill, replica: 0, restart_after: 600ms}\n")
			sum := rehearseFaults(t, s, Options{Strategies: []string{st}, Binary: bin})
			a := sum.Audit
			t.Logf("%s: audit %+v codes %v", st, a, sum.Requests.ByCode)
			if a.Lost != 0 || a.Oversold != 0 || a.Duplicates != 0 || a.Sold == 0 {
				t.Errorf("%s: %+v", st, a)
			}
		})
	}
}
