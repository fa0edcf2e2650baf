package rehearse

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flashload/flashload/internal/stores"
	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/target/inventory"
)

func needSentinel(t *testing.T) {
	t.Helper()
	needStore(t, inventory.Redis)
	_, err := stores.SentinelBin()
	testenv.NeedBinary(t, err)
}

// TestSentinelFailover: a SENTINEL FAILOVER in the middle of a sale on redis-lua, with the
// target on redis+sentinel://. The target keeps serving after the failover. Replication is
// asynchronous, so purchases acknowledged by the old primary may be lost (and their units sold
// again): the audit may report lost or oversold; it may never invent duplicates or orders
// nobody made. With --redis-wait 1 a purchase is acknowledged only once the replica has it,
// and the replica is what the failover promotes: nothing acknowledged is lost. pg-row has no
// Redis: in the shoot-out it is not run and stands as n/a (no redis).
func TestSentinelFailover(t *testing.T) {
	needSentinel(t)
	lost := map[int]int64{}
	for _, wait := range []int{0, 1} {
		s := faultSale(t, "300", "5s", "  - {at: 1500ms, redis: failover}\n")
		var stdout, stderr bytes.Buffer
		o := Options{Scenario: s, Strategies: []string{"redis-lua", "pg-row"}, NoSim: true, Out: t.TempDir(),
			Stdout: &stdout, Stderr: &stderr}
		o.Target.RedisWait = wait
		res, err := Run(context.Background(), o)
		t.Logf("--redis-wait %d stdout:\n%s\nstderr:\n%s", wait, stdout.String(), stderr.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rehearsals) != 1 || len(res.Skipped) != 1 || res.Skipped[0] != (Skipped{Strategy: "pg-row", Reason: "no redis"}) {
			t.Fatalf("rehearsed %d, skipped %+v", len(res.Rehearsals), res.Skipped)
		}
		if !strings.Contains(stdout.String(), "n/a (no redis)") {
			t.Error("the fault matrix does not show pg-row as n/a (no redis)")
		}
		sum := res.Rehearsals[0].Live.Summary
		if len(sum.Faults) != 1 || !sum.Faults[0].OK || sum.Faults[0].Kind != "redis:failover" {
			t.Fatalf("faults %+v", sum.Faults)
		}
		a := sum.Audit
		t.Logf("--redis-wait %d: audit %+v codes %v", wait, a, sum.Requests.ByCode)
		if !a.Checked {
			t.Fatalf("audit not checked: %s", a.Error)
		}
		if a.Duplicates != 0 || a.Unexpected != 0 {
			t.Errorf("duplicates or unexpected orders after a failover: %+v", a)
		}
		// The target follows the new primary and answers to the end. Without WAIT it serves
		// without errors; with WAIT 1 the new primary has no replica until Sentinel turns the
		// old primary into one (seconds later), and purchases answer 503 STORE_UNAVAILABLE (an
		// unknown outcome) until then: the availability WAIT costs.
		var served, errs int64
		for _, p := range sum.Timeline {
			if p.T >= 4 {
				served += p.Requests
				errs += p.Errors
			}
		}
		if served == 0 || sum.Requests.ByCode["RESERVED"] == 0 {
			t.Errorf("nothing served after the failover (%d answers in the last second)", served)
		}
		if wait == 0 && errs != 0 {
			t.Errorf("%d errors in the last second, long after the failover", errs)
		}
		if wait == 1 && (a.Lost != 0 || a.Oversold != 0) {
			t.Errorf("--redis-wait 1 lost or oversold what the replica had acknowledged: %+v", a)
		}
		lost[wait] = a.Lost
		if _, pass, _ := result.EvaluateGates(sum, []string{"lost == 0"}); pass != (a.Lost == 0) {
			t.Errorf("gate lost == 0 passed %v with lost %d", pass, a.Lost)
		}
	}
	t.Logf("lost without WAIT %d, with WAIT 1 %d", lost[0], lost[1])
}

// TestRedisWaitNeedsTheReplica: rehearse's own Redis has a replica only with redis: failover;
// --redis-wait without one (every purchase would wait for nobody) is bad input, before anything
// starts.
func TestRedisWaitNeedsTheReplica(t *testing.T) {
	s := faultSale(t, "10", "2s", "  - {at: 50%, redis: restart}\n")
	o := Options{Scenario: s, Strategies: []string{"redis-lua"}, NoSim: true, Out: t.TempDir()}
	o.Target.RedisWait = 1
	_, err := Run(context.Background(), o)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "--redis-wait 1") {
		t.Fatalf("err %v", err)
	}
}
