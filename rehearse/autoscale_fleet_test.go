package rehearse

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

// requestsTotal is the sum of a replica's flashload_target_requests_total series.
func requestsTotal(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := quick.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s/metrics: %s", url, resp.Status)
	}
	var n float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if ok && (name == "flashload_target_requests_total" || strings.HasPrefix(name, "flashload_target_requests_total{")) {
			f, _ := strconv.ParseFloat(v, 64)
			n += f
		}
	}
	return n
}

// alive says whether process pid exists (signal 0).
func alive(pid int) bool {
	return pid > 0 && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestAutoscalerFleetProcesses: the live autoscaler's scale-up and scale-down on real serve
// processes. Up from 1 to 3: two processes start (their pids exist), join the engine's active
// set once they listen and the start-up delay has passed, and a sale played through the engine
// reaches them (their request counters grow). Down to 1: the two leave the active set, their
// processes end (the pids are gone, their ports refuse), and the next sale goes to replica 0
// alone with no failed request.
func TestAutoscalerFleetProcesses(t *testing.T) {
	needStore(t, inventory.Redis)
	ctx := context.Background()
	redis := "redis://" + testenv.RedisAddr(t) + "/0"
	scaled, err := scenario.Parse("ramp.yaml", []byte(rampScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet := startRedisFleet(ctx, t, redis, "autoscale-fleet-", 2)
	a, active, err := newAutoscaler(Options{Scenario: scaled, Replicas: 1, MaxReplicas: 3, Stderr: io.Discard}, fleet)
	if err != nil {
		t.Fatal(err)
	}
	if fleet.Replicas[1].Running() || fleet.Replicas[2].Running() {
		t.Fatal("standby replicas run before the autoscaler asks for them")
	}

	// Up: 1 → 3.
	a.follow(ctx, 0, 3)
	if len(a.pending) != 2 {
		t.Fatalf("%d replicas starting, want 2", len(a.pending))
	}
	startup := a.as.Startup()
	a.promote(ctx, startup-time.Nanosecond)
	deadline := time.Now().Add(30 * time.Second) // a bound on process start, not a speed assertion
	for len(a.ready) < 3 && time.Now().Before(deadline) {
		a.promote(ctx, startup)
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Equal(active.List(), []int{0, 1, 2}) {
		t.Fatalf("active replicas %v after scaling up, want [0 1 2] (pending %v)", active.List(), a.pending)
	}
	pids := []int{fleet.Replicas[1].Pid(), fleet.Replicas[2].Pid()}
	for i, pid := range pids {
		if !alive(pid) {
			t.Fatalf("replica %d (pid %d) does not run", i+1, pid)
		}
		if err := healthy(fleet.Replicas[i+1].URL()); err != nil {
			t.Fatalf("replica %d: %v", i+1, err)
		}
	}
	sale := func() []float64 {
		t.Helper()
		before := make([]float64, 3)
		for i, r := range fleet.Replicas {
			if r.Running() {
				before[i] = requestsTotal(t, r.URL())
			}
		}
		run, err := engine.Run(ctx, tinySale(t, "100000", "150"), engine.Options{Target: strings.Join(fleet.URLs(), ","),
			AdminURL: fleet.Replicas[0].URL(), AdminToken: fleet.AdminToken(), Setup: true, Active: active})
		if err != nil {
			t.Fatal(err)
		}
		if e := run.Summary.Requests.Errors; e > 0 {
			t.Errorf("%d failed requests (%v)", e, run.Summary.Requests.ByError)
		}
		grew := make([]float64, 3)
		for i, r := range fleet.Replicas {
			if r.Running() {
				grew[i] = requestsTotal(t, r.URL()) - before[i]
			}
		}
		return grew
	}
	grew := sale()
	for i, g := range grew {
		if g <= 0 {
			t.Errorf("replica %d served no request of the sale (requests by replica %v)", i, grew)
		}
	}

	// Down: 3 → 1.
	a.follow(ctx, 0, 1)
	a.stops.Wait()
	if !slices.Equal(active.List(), []int{0}) {
		t.Fatalf("active replicas %v after scaling down, want [0]", active.List())
	}
	for i, pid := range pids {
		if fleet.Replicas[i+1].Running() || alive(pid) {
			t.Errorf("replica %d (pid %d) still runs after scaling down", i+1, pid)
		}
		if err := healthy(fleet.Replicas[i+1].URL()); err == nil {
			t.Errorf("replica %d still answers after scaling down", i+1)
		}
	}
	if !alive(fleet.Replicas[0].Pid()) {
		t.Fatal("replica 0 stopped")
	}
	if grew := sale(); grew[0] <= 0 {
		t.Errorf("replica 0 served no request after scaling down (%v)", grew)
	}
}

// TestAutoscalerDecidesOnTheBoundary: a replica the autoscaler asks for at a period boundary is
// serving at the decision one startup later, even when that decision's tick comes sooner after
// its boundary than the asking one did (ticks land a few ms after boundaries, by chance): the
// simulator counts it there, so the live fleet must too. Dated by the tick, it joined a period
// late whenever the later tick was the earlier one past its boundary.
func TestAutoscalerDecidesOnTheBoundary(t *testing.T) {
	needStore(t, inventory.Redis)
	ctx := context.Background()
	s, err := scenario.Parse("ramp.yaml", []byte(rampScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet := startRedisFleet(ctx, t, "redis://"+testenv.RedisAddr(t)+"/0", "autoscale-boundary-", 1)
	a, _, err := newAutoscaler(Options{Scenario: s, Replicas: 1, MaxReplicas: 2, Stderr: io.Discard}, fleet)
	if err != nil {
		t.Fatal(err)
	}
	period, startup := a.as.Period(), a.as.Startup()
	if startup%period != 0 {
		t.Fatalf("startup %v is not a whole number of periods (%v): the test needs a boundary where it ends", startup, period)
	}
	st := tickState{next: period}
	busy := func() { st.inflightSum, st.inflightN = 100, 10 } // 10 in flight against 2 workers: scale up
	busy()
	if d, ok := a.tick(ctx, period+3*time.Millisecond, &st); !ok || d.Desired != 2 || len(a.pending) != 1 {
		t.Fatalf("decision %+v (made %v), %d starting: want 2 replicas asked for", d, ok, len(a.pending))
	}
	// Its process listens long before the startup ends (a bound on process start, not a speed
	// assertion): promote sees it without joining it.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a.promote(ctx, period+3*time.Millisecond)
		if p, ok := a.pending[1]; ok && p.done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p, ok := a.pending[1]; !ok || !p.done || p.err != nil {
		t.Fatalf("replica 1 pending %+v (%v): want started and waiting for its startup", p, ok)
	}
	for at := 2 * period; at <= period+startup; at += period {
		busy()
		if _, ok := a.tick(ctx, at+time.Millisecond, &st); !ok {
			t.Fatalf("no decision at the boundary %v", at)
		}
	}
	last := a.trace[len(a.trace)-1]
	if last.Ready != 2 {
		t.Fatalf("at the decision %v after the one that asked for it (startup %v) %d replica(s) served, want 2: trace %+v",
			period+startup-period, startup, last.Ready, a.trace)
	}
}

// startRedisFleet starts one serving redis-lua replica and standby more on redis under a fresh
// key prefix, stopped (and its stop checked) when the test ends.
func startRedisFleet(ctx context.Context, t *testing.T, redis, prefix string, standby int) *Fleet {
	t.Helper()
	to := TargetOptions{Strategy: "redis-lua", Redis: redis, RedisPrefix: prefix + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"}
	fleet, err := StartFleet(ctx, FleetOptions{Replicas: 1, Standby: standby, Target: to, Binary: testenv.FlashloadBinary(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fleet.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return fleet
}
