package rehearse

import (
	"testing"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/target/inventory"
)

// lastWindowServes fails unless the run's last window answered without errors: it recovered.
func lastWindowServes(t *testing.T, sum *result.Summary) {
	t.Helper()
	last := sum.Timeline[len(sum.Timeline)-1]
	if last.Errors != 0 || last.Requests == 0 {
		t.Errorf("no recovery: last window %+v", last)
	}
}

// TestPostgresFaults: pg-row's PostgreSQL killed for a while, crash-restarted, and paused, in
// the middle of a sale. rehearse runs its PostgreSQL with synchronous_commit on, so a commit
// is acknowledged once its WAL is written, which outlives the process: nothing acknowledged is
// lost, nothing oversold; the purchases that met the fault answer 503 STORE_UNAVAILABLE
// (unknown) or wait; the target serves again without a restart.
func TestPostgresFaults(t *testing.T) {
	needStore(t, inventory.Postgres)
	for name, fault := range map[string]string{
		"kill":    "  - {at: 1s, for: 1s, postgres: kill}\n",
		"restart": "  - {at: 1s, postgres: restart}\n",
		"pause":   "  - {at: 1s, for: 1s, postgres: pause}\n",
	} {
		t.Run(name, func(t *testing.T) {
			s := faultSale(t, "100", "4s", fault)
			sum := rehearseFaults(t, s, Options{Strategies: []string{"pg-row"}})
			a := sum.Audit
			t.Logf("postgres %s: audit %+v codes %v errors %v", name, a, sum.Requests.ByCode, sum.Requests.ByError)
			if a.Lost != 0 || a.Oversold != 0 || a.Duplicates != 0 || a.Unexpected != 0 || a.Sold == 0 {
				t.Errorf("postgres %s: %+v", name, a)
			}
			if name != "pause" && sum.Requests.ByCode["STORE_UNAVAILABLE"] == 0 {
				t.Errorf("postgres %s: no purchase met the fault: %v", name, sum.Requests.ByCode)
			}
			lastWindowServes(t, sum)
		})
	}
}

// TestNetworkResetToRedis: connections between the target and Redis reset for a second: the
// purchases that meet it fail (STORE_UNAVAILABLE, unknown), none acknowledged is lost, and the
// target reconnects by itself.
func TestNetworkResetToRedis(t *testing.T) {
	needStore(t, inventory.Redis)
	s := faultSale(t, "100", "4s", "  - {at: 1s, for: 1s, network: {to: redis, reset: true}}\n")
	sum := rehearseFaults(t, s, Options{Strategies: []string{"redis-lua"}})
	a := sum.Audit
	t.Logf("audit %+v codes %v", a, sum.Requests.ByCode)
	if sum.Requests.ByCode["STORE_UNAVAILABLE"] == 0 {
		t.Errorf("no STORE_UNAVAILABLE while connections were reset: %v", sum.Requests.ByCode)
	}
	if a.Lost != 0 || a.Oversold != 0 || a.Duplicates != 0 || a.Unexpected != 0 {
		t.Errorf("audit %+v", a)
	}
	lastWindowServes(t, sum)
}

// TestTargetStall: the in-process target stalls for a second (its admin API): the windows of
// the stall wait (latency from the intended send time rises to the stall), nothing is lost,
// and it serves again after.
func TestTargetStall(t *testing.T) {
	s := faultSale(t, "100", "4s", "  - {at: 1s, for: 1s, target: stall}\n")
	sum := rehearseFaults(t, s, Options{Strategies: []string{"memory"}})
	a := sum.Audit
	var during float64
	for _, p := range sum.Timeline {
		if len(p.Faults) > 0 {
			during = max(during, p.P99Ms)
		}
	}
	t.Logf("p99 during the stall %.0fms; audit %+v", during, a)
	if during < 500 {
		t.Errorf("p99 during a 1s stall %.0fms, want ≥ 500ms", during)
	}
	if a.Lost != 0 || a.Oversold != 0 || a.Sold == 0 {
		t.Errorf("audit %+v", a)
	}
	lastWindowServes(t, sum)
}

// TestTargetRestart: the target (a serve process on Redis) SIGKILLed and started again at
// once: its store kept what it acknowledged, so nothing is lost; it serves again.
func TestTargetRestart(t *testing.T) {
	needStore(t, inventory.Redis)
	bin := testenv.FlashloadBinary(t)
	s := faultSale(t, "100", "4s", "  - {at: 1s, target: restart}\n")
	sum := rehearseFaults(t, s, Options{Strategies: []string{"redis-lua"}, Binary: bin})
	a := sum.Audit
	t.Logf("audit %+v codes %v errors %v", a, sum.Requests.ByCode, sum.Requests.ByError)
	if a.Lost != 0 || a.Oversold != 0 || a.Duplicates != 0 || a.Sold == 0 {
		t.Errorf("audit %+v", a)
	}
	if sum.Requests.Errors == 0 {
		t.Errorf("no request met the restart: %v", sum.Requests.ByError)
	}
	lastWindowServes(t, sum)
}
