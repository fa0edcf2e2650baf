// Command fidelity measures the simulator against a target of known capacity (scripts/fidelity):
// `flashload serve --workers 8 --work exp:10ms` (8 slots of an exponential 10 ms: 800/s),
// live runs at 50%, 80% and 95% of that capacity (-repeat times, averaged), and beside each
//   - the simulator with the same model: the average of -seeds simulated runs of the same length,
//     their 10-90% spread and where the live figure falls among them (a 20 s run at 95% has a
//     spread of about ±35% in its mean: one simulated run is no prediction);
//   - Erlang C (M/M/8, exact, steady state): mean and p99 latency;
//   - the simulator calibrated from the first 50% run only, or from a 50% run of -cal seconds
//     of its own (sim.Calibrate, with the round trip the target's Server-Timing shows), and the
//     same calibration from the client's times alone, the round trip inside the service time;
//
// then `flashload run --find-capacity` with the gate p(99) < 100ms against Erlang C's answer.
// It prints one line per figure with the relative error; it asserts nothing.
//
// With -mode autoscale it rehearses a ramp on a live fleet of `serve --workers 4 --work
// exp:20ms` replicas scaled 2..6 by the model's HPA and compares the live replica trace with
// the simulator's at every decision (autoscale.go). With -mode spread it rehearses the bundled
// autoscale-spread ramp on that fleet with and without a layer-4 front and connection recycling,
// and prints the load per replica beside the simulator's (spread.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

const (
	workers = 8
	mean    = 10 * time.Millisecond
	token   = "fidelity"
)

func main() {
	bin := flag.String("bin", "flashload", "the flashload binary")
	secs := flag.Int("secs", 30, "seconds per live run")
	dir := flag.String("dir", "", "where the runs go (default a temp dir)")
	step := flag.Duration("step", 10*time.Second, "--find-capacity step")
	mode := flag.String("mode", "known", "known (latency at 50/80/95% of a known capacity, calibration, --find-capacity), autoscale (a live fleet's replica trace against the simulator's) or spread (the load per replica behind a layer-4 front, with and without recycling)")
	connAge := flag.Duration("conn-max-age", 2*time.Second, "spread: the connections' age in the recycled case (run clock: 30 s of the scenario's time at its 15x)")
	compress := flag.Float64("compress", 10, "autoscale: the ramp's compression (17 scenario minutes)")
	reuse := flag.Bool("reuse", false, "compare the runs already in -dir again instead of playing them (known: -repeat runs per load; the capacity search is not repeated)")
	repeat := flag.Int("repeat", 1, "known: live runs at each load (their figures are averaged)")
	seeds := flag.Int("seeds", 200, "known: simulated runs at each load, one seed each (the prediction is their average)")
	calSecs := flag.Int("cal", 0, "known: calibrate from a 50% run of this many seconds of its own, played first (0: from the first 50% run)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "fidelity")
		check(err)
		*dir = d
	}
	check(os.MkdirAll(*dir, 0o755))
	switch *mode {
	case "known":
	case "autoscale":
		autoscale(*bin, *dir, *compress, *reuse)
		return
	case "spread":
		spread(*bin, *dir, *connAge, *reuse)
		return
	default:
		check(fmt.Errorf("-mode: known, autoscale or spread, not %q", *mode))
	}
	capacity := float64(workers) / mean.Seconds()
	url := ""
	if !*reuse {
		addr := freeAddr()
		srv := exec.Command(*bin, "serve", "--addr", addr, "--workers", fmt.Sprint(workers), "--work", "exp:"+mean.String(),
			"--admin-token", token, "--max-rps", "0", "--max-inflight", "0")
		srv.Stderr = os.Stderr
		check(srv.Start())
		defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
		waitUp(addr)
		url = "http://" + addr
		fmt.Printf("target: serve --workers %d --work exp:%s (capacity %.0f/s) at %s; runs in %s, %ds each\n", workers, mean, capacity, url, *dir, *secs)
	}

	play := func(path, out string) {
		if *reuse {
			return
		}
		cmd := exec.Command(*bin, "run", path, "--target", url, "--out", out, "--no-tui")
		cmd.Env = append(os.Environ(), "FLASHLOAD_ADMIN_TOKEN="+token)
		if b, err := cmd.CombinedOutput(); err != nil && !gateFailed(err) {
			fmt.Fprintf(os.Stderr, "%s\n", b)
			check(err)
		}
	}
	var calRun *result.Run
	if *calSecs > 0 {
		out := filepath.Join(*dir, "calibration-50")
		play(writeScenario(*dir, capacity/2, time.Duration(*calSecs)*time.Second), out)
		r, err := result.ReadRun(out)
		check(err)
		calRun = r
	}
	loads := []float64{0.5, 0.8, 0.95}
	runs := map[float64][]*result.Run{}
	for i := range max(*repeat, 1) {
		for _, load := range loads {
			rate := load * capacity
			path := writeScenario(*dir, rate, time.Duration(*secs)*time.Second)
			out := filepath.Join(*dir, fmt.Sprintf("live-%.0f-%d", load*100, i+1))
			play(path, out)
			r, err := result.ReadRun(out)
			check(err)
			runs[load] = append(runs[load], r)
		}
	}
	from := "the first 50% run"
	if calRun == nil {
		calRun = runs[0.5][0]
	} else {
		from = fmt.Sprintf("a 50%% run of %ds", *calSecs)
	}
	cal, err := sim.Calibrate(calRun)
	check(err)
	fmt.Printf("calibrated from %s: %d workers (found %v), %s %s, round trip %s\n", from, cal.Workers, cal.WorkersFound, cal.ServiceTime.Dist,
		cal.Mean.Round(time.Microsecond), cal.RoundTrip.Round(time.Microsecond))
	for _, n := range cal.Notes {
		fmt.Printf("  %s\n", n)
	}
	// The same calibration from the client's times alone (as before the target reported its own):
	// the round trip then sits inside the service time, holding the model's workers.
	calClient, err := sim.Calibrate(clientTimesOnly(calRun))
	check(err)
	fmt.Printf("  from the client's times alone: %d workers, %s %s\n", calClient.Workers, calClient.ServiceTime.Dist, calClient.Mean.Round(time.Microsecond))
	fmt.Printf("live: the average of %d run(s) of %ds; sim: the average of %d simulated runs of the same arrivals (the live runs'\n"+
		"  schedule) with other service draws, [p10..p90] their spread, 'at' where the live figure falls among them;\n"+
		"  Erlang C: steady state at the achieved rate\n", max(*repeat, 1), *secs, *seeds)
	printLoads(*dir, loads, runs, capacity, *seeds, cal, calClient)
	eachCalibration(*dir, runs, capacity, *seeds)

	if *reuse {
		return
	}
	findCapacity(*bin, *dir, url, capacity, *step)
}

// printLoads prints, per load, the live mean and p99 against the same model simulated, Erlang C,
// the calibrated model and the model calibrated from the client's times alone.
func printLoads(dir string, loads []float64, runs map[float64][]*result.Run, capacity float64, seeds int, cal, calClient *sim.Calibration) {
	fmt.Printf("\n%-5s %-8s %8s %8s %7s %-15s %5s %8s %7s %8s %7s %8s %7s\n", "load", "figure", "live", "sim", "err", "sim [p10..p90]", "at", "erlangC", "err", "calib.", "err", "client", "err")
	for _, load := range loads {
		var lv [2]float64
		var lam float64
		for _, r := range runs[load] {
			lv[0] += r.Summary.LatencyMs.Mean / float64(len(runs[load]))
			lv[1] += r.Summary.LatencyMs.P99 / float64(len(runs[load]))
			lam += float64(r.Summary.Requests.Total) / r.Summary.DurationS / float64(len(runs[load]))
		}
		s, err := scenario.Load(filepath.Join(dir, fmt.Sprintf("rate-%.0f.yaml", load*capacity)))
		check(err)
		known := simulateSeeds(s, s.Model, seeds)
		calibrated := simulateSeeds(s, cal.Apply(s.Model), seeds)
		client := simulateSeeds(s, calClient.Apply(s.Model), seeds)
		q := sim.MMc(workers, lam, 1/mean.Seconds())
		ec := [2]float64{q.MeanSojourn() * 1000, q.SojournQuantile(0.99) * 1000}
		for i, name := range []string{"mean ms", "p99 ms"} {
			k, c, cc := known[i], calibrated[i], client[i]
			fmt.Printf("%-5s %-8s %8.2f %8.2f %+6.1f%% %-15s %4.0f%% %8.2f %+6.1f%% %8.2f %+6.1f%% %8.2f %+6.1f%%\n", fmt.Sprintf("%.0f%%", load*100), name,
				lv[i], avg(k), rel(avg(k), lv[i]), fmt.Sprintf("[%.1f..%.1f]", quantile(k, 0.1), quantile(k, 0.9)), below(k, lv[i])*100,
				ec[i], rel(ec[i], lv[i]), avg(c), rel(avg(c), lv[i]), avg(cc), rel(avg(cc), lv[i]))
		}
		fmt.Printf("%-5s achieved %.1f/s of %.0f/s\n", "", lam, load*capacity)
	}
}

// findCapacity runs --find-capacity against the target and holds it to Erlang C's answer for
// the gate p(99) < 100ms.
func findCapacity(bin, dir, url string, capacity float64, step time.Duration) {
	// --find-capacity against Erlang C's answer.
	gate := 0.100
	lo, hi := 0.0, capacity
	for range 60 {
		m := (lo + hi) / 2
		if sim.MMc(workers, m, 1/mean.Seconds()).SojournQuantile(0.99) < gate {
			lo = m
		} else {
			hi = m
		}
	}
	path := writeScenario(dir, capacity/2, step)
	out := filepath.Join(dir, "capacity")
	cmd := exec.Command(bin, "run", path, "--target", url, "--out", out, "--no-tui", "--find-capacity",
		"--step", step.String(), "--start-rate", fmt.Sprint(capacity/2), "--precision", "0.02")
	cmd.Env = append(os.Environ(), "FLASHLOAD_ADMIN_TOKEN="+token)
	b, err := cmd.CombinedOutput()
	fmt.Printf("\n%s", grep(string(b), "rate/s", "PASS", "FAIL", "max rate"))
	if err != nil && !gateFailed(err) {
		check(err)
	}
	r, err := result.ReadRun(out)
	check(err)
	fmt.Printf("find-capacity (p(99) < 100ms, %s steps): live %.1f/s, Erlang C %.1f/s: %+.1f%%\n", step, r.Summary.Capacity.MaxRate, lo, rel(r.Summary.Capacity.MaxRate, lo))
}

// eachCalibration calibrates from every 50% run alone and prints the p99 it predicts at 80% and
// 95% against the live average: how often one run of that length calibrates well enough, with
// the target's own time and from the client's times alone.
func eachCalibration(dir string, runs map[float64][]*result.Run, capacity float64, seeds int) {
	if len(runs[0.5]) < 2 {
		return
	}
	fmt.Printf("\ncalibrated from each 50%% run alone: p99 predicted at 80%% and 95%% against the live average\n")
	fmt.Printf("%-4s %5s %10s %10s %9s %9s %9s %9s\n", "run", "slots", "service", "client", "80%", "client", "95%", "client")
	for i, r := range runs[0.5] {
		cal, err := sim.Calibrate(r)
		check(err)
		calClient, err := sim.Calibrate(clientTimesOnly(r))
		check(err)
		fmt.Printf("%-4d %5d %10s %10s", i+1, cal.Workers, cal.Mean.Round(time.Microsecond), calClient.Mean.Round(time.Microsecond))
		for _, load := range []float64{0.8, 0.95} {
			var live float64
			for _, lr := range runs[load] {
				live += lr.Summary.LatencyMs.P99 / float64(len(runs[load]))
			}
			s, err := scenario.Load(filepath.Join(dir, fmt.Sprintf("rate-%.0f.yaml", load*capacity)))
			check(err)
			fmt.Printf(" %+8.1f%% %+8.1f%%", rel(avg(simulateSeeds(s, cal.Apply(s.Model), seeds)[1]), live),
				rel(avg(simulateSeeds(s, calClient.Apply(s.Model), seeds)[1]), live))
		}
		fmt.Println()
	}
}

// clientTimesOnly is r as if its target had not reported its own time: the calibration then
// reads the client's service times, the round trip inside them.
func clientTimesOnly(r *result.Run) *result.Run {
	c := *r
	sum := *r.Summary
	sum.Concurrency = slices.Clone(sum.Concurrency)
	for i := range sum.Concurrency {
		sum.Concurrency[i].ServerCount = 0
	}
	c.Summary = &sum
	return &c
}

// simulateSeeds plays s with model m n times, each with other random draws (service times,
// routing: sim.Options.Seed 1001..1000+n) but the scenario's own seed for the arrivals, the very
// schedule every live run played: the live runs at one load differ only in the target's draws,
// so their average converges on the simulation's average given these arrivals. It returns each
// run's mean and p99 latency, ms.
func simulateSeeds(s *scenario.Scenario, m *scenario.Model, n int) [2][]float64 {
	var out [2][]float64
	for k := range int64(max(n, 1)) {
		c := *s
		c.Model = m
		r, err := sim.Run(context.Background(), &c, sim.Options{Played: true, Mode: sim.ModeRequest, Seed: 1001 + k})
		check(err)
		out[0] = append(out[0], r.Summary.LatencyMs.Mean)
		out[1] = append(out[1], r.Summary.LatencyMs.P99)
	}
	return out
}

func avg(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// quantile is the q-quantile of xs (nearest rank).
func quantile(xs []float64, q float64) float64 {
	ys := slices.Sorted(slices.Values(xs))
	return ys[min(int(q*float64(len(ys))), len(ys)-1)]
}

// below is the share of xs below v: where a live figure falls among the simulated runs.
func below(xs []float64, v float64) float64 {
	n := 0
	for _, x := range xs {
		if x < v {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

func writeScenario(dir string, rate float64, d time.Duration) string {
	path := filepath.Join(dir, fmt.Sprintf("rate-%.0f.yaml", rate))
	y := fmt.Sprintf(`name: fidelity-%.0f
duration: %s
skus: [{sku: bar-sku, stock: 100000000, price: 100}]
traffic:
  start_rps: %g
  stages: [{duration: %s, rps: %g}]
journeys: [{name: viewer, steps: [{view: {sku: bar-sku}}]}]
model:
  replicas: 1
  workers_per_replica: %d
  service_time: {dist: exponential, mean: %s}
gates: ["p(99) < 100ms"]
`, rate, d, rate, d, rate, workers, mean)
	check(os.WriteFile(path, []byte(y), 0o644))
	return path
}

// gateFailed says whether a run ended with exit 3 (a gate failed): a measurement all the same.
func gateFailed(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 3
}

func rel(got, want float64) float64 { return (got/want - 1) * 100 }

func grep(s string, keys ...string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		for _, k := range keys {
			if strings.Contains(l, k) {
				b.WriteString(l + "\n")
				break
			}
		}
	}
	return b.String()
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().String()
}

func waitUp(addr string) {
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	check(fmt.Errorf("serve did not listen on %s", addr))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "fidelity:", err)
		os.Exit(1)
	}
}
