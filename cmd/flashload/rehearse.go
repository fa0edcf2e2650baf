package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report"
	"github.com/flashload/flashload/report/dashboard"
	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/scenario/engine"
	"github.com/flashload/flashload/sim"
	"github.com/flashload/flashload/target"
	"github.com/flashload/flashload/target/inventory"
)

func init() { register(newRehearseCmd) }

// DefaultRehearsal is the scenario `flashload rehearse` plays without an argument.
const DefaultRehearsal = "double-eleven"

// rehearseOptions are `flashload rehearse`'s flags, streams and dependencies.
type rehearseOptions struct {
	Scenario    string
	Wall        time.Duration
	RateScale   float64
	Strategy    string
	Strategies  []string
	Redis       string
	Out         string
	NoTUI       bool
	NoSim       bool
	Seed        int64
	MaxInflight int
	MaxRPS      float64
	TTL         time.Duration

	Stdout, Stderr io.Writer
	TTY            bool
}

func newRehearseCmd() *cobra.Command {
	o := &rehearseOptions{}
	cmd := &cobra.Command{
		Use:   "rehearse [SCENARIO]",
		Short: "The main job: rehearse a flash sale against the in-process reference target, audit it, simulate it at full scale",
		Long: `rehearse starts the reference flash-sale target in-process on a loopback port (memory inventory
unless --strategy or --redis say otherwise), creates the scenario's SKUs, plays the scenario (the
bundled double-eleven by default) compressed into --wall with the live dashboard, and audits the
sale (oversold, lost, duplicates). Then it simulates the same scenario twice: at the played scale,
with the service time calibrated from the measured histograms, to show how far prediction and
measurement are apart; and at full production scale, to predict the night itself (P99, shedding,
availability, replicas).

The run directory (default runs/NAME-TIME) holds summary.json, histograms.hlog and report.html
(measured and predicted side by side), and sim-played/ and sim-full/ with the simulations.
--strategies memory,redis-lua,naive rehearses once per inventory strategy, each in its own
directory, and ends with one comparison table: the architecture shoot-out.

Exit codes: 0 when every gate of the scenario passed on the measured run, 3 when one failed (or,
with --strategies, on any strategy), 2 on bad input, 1 on a runtime error.`,
		Example: `  flashload rehearse
  flashload rehearse midnight-flash-sale --wall 20s
  flashload rehearse --strategies memory,naive --wall 20s
  flashload rehearse --strategy redis-lua --redis redis://127.0.0.1:6379/0`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Scenario = DefaultRehearsal
			if len(args) == 1 {
				o.Scenario = args[0]
			}
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.TTY = !o.NoTUI && dashboard.IsTerminal(os.Stdout)
			return rehearseRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Wall, "wall", 0, "play the whole scenario in this wall time (default: the file's compression, about a minute for double-eleven)")
	f.Float64Var(&o.RateScale, "rate-scale", 0, "share of the curve's amplitude to play live (default the file's rate_scale)")
	f.StringVar(&o.Strategy, "strategy", "", "inventory strategy of the target: "+strings.Join(inventory.Names, ", ")+" (default memory, or redis-lua with --redis)")
	f.StringSliceVar(&o.Strategies, "strategies", nil, "rehearse once per strategy and compare them (comma-separated)")
	f.StringVar(&o.Redis, "redis", "", "Redis URL for the redis-* strategies (redis://127.0.0.1:6379/0)")
	f.StringVar(&o.Out, "out", "", "run directory (default runs/NAME-TIME)")
	f.BoolVar(&o.NoTUI, "no-tui", false, "plain progress lines on stderr instead of the dashboard")
	f.BoolVar(&o.NoSim, "no-sim", false, "skip the simulations (measure only)")
	f.Int64Var(&o.Seed, "seed", 0, "random seed (default the scenario's)")
	f.IntVar(&o.MaxInflight, "max-inflight", target.DefaultMaxInflight, "target: in-flight requests above which purchases are shed (503 SHED); 0 no limit")
	f.Float64Var(&o.MaxRPS, "max-rps", target.DefaultMaxRPS, "target: requests per second above which answers are 429 RATE_LIMITED; 0 no limit")
	f.DurationVar(&o.TTL, "reservation-ttl", target.DefaultReservationTTL, "target: how long an unpaid reservation holds its stock")
	return cmd
}

// rehearsal is one strategy's outcome.
type rehearsal struct {
	Strategy string
	Dir      string
	Live     *report.Run
	Played   *report.Run // simulated at the played scale, calibrated by Live
	Full     *report.Run // simulated at full scale
	Pass     bool
}

func rehearseRun(ctx context.Context, o *rehearseOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := scenario.Load(o.Scenario)
	if err != nil {
		return usageErr(err)
	}
	if o.Wall < 0 || o.RateScale < 0 {
		return usageErr(errors.New("--wall and --rate-scale must be positive"))
	}
	if s.Traffic.Model == "closed" {
		return usageErr(fmt.Errorf("%s: rehearse plays open-model scenarios (traffic.model is closed); use flashload run", s.Name))
	}
	strategies, err := o.strategies()
	if err != nil {
		return usageErr(err)
	}
	for _, g := range s.Gates {
		if _, err := report.ParseThreshold(g); err != nil {
			return usageErr(fmt.Errorf("%s: gate %q: %w", s.File, g, err))
		}
	}
	dir := o.Out
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%s", s.Name, time.Now().Format("20060102-150405")))
	}

	var results []*rehearsal
	for _, st := range strategies {
		d := dir
		if len(strategies) > 1 {
			d = filepath.Join(dir, st)
		}
		if ctx.Err() != nil {
			break
		}
		r, err := rehearseOne(ctx, o, s, st, d)
		if err != nil {
			return fmt.Errorf("rehearse %s on %s: %w", s.Name, st, err)
		}
		results = append(results, r)
	}
	if len(results) > 1 {
		fmt.Fprintln(o.Stdout)
		fmt.Fprintf(o.Stdout, "architecture shoot-out: %s\n", s.Name)
		writeShootout(o.Stdout, results)
		if err := writeShootoutFile(filepath.Join(dir, "shootout.md"), s.Name, results); err != nil {
			return err
		}
		fmt.Fprintf(o.Stdout, "comparison: %s\n", filepath.Join(dir, "shootout.md"))
	}
	var failed []string
	for _, r := range results {
		if !r.Pass {
			failed = append(failed, r.Strategy)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("rehearsal interrupted: %w", ctx.Err())
	}
	if len(failed) > 0 {
		return gateErr(fmt.Errorf("gates failed on %s", strings.Join(failed, ", ")))
	}
	fmt.Fprintln(o.Stdout, "gates: all passed")
	return nil
}

// strategies resolves --strategy, --strategies and --redis into the list to rehearse.
func (o *rehearseOptions) strategies() ([]string, error) {
	if o.Strategy != "" && len(o.Strategies) > 0 {
		return nil, errors.New("give --strategy or --strategies, not both")
	}
	list := o.Strategies
	if len(list) == 0 {
		st := o.Strategy
		if st == "" {
			st = target.DefaultStrategy
			if o.Redis != "" {
				st = "redis-lua"
			}
		}
		list = []string{st}
	}
	seen := map[string]bool{}
	for _, st := range list {
		if !isStrategy(st) {
			return nil, fmt.Errorf("unknown strategy %q (known: %s)", st, strings.Join(inventory.Names, ", "))
		}
		if seen[st] {
			return nil, fmt.Errorf("strategy %q given twice", st)
		}
		seen[st] = true
		if strings.HasPrefix(st, "redis") && o.Redis == "" {
			return nil, fmt.Errorf("strategy %q needs --redis URL (a real redis-server)", st)
		}
	}
	return list, nil
}

func isStrategy(name string) bool {
	for _, n := range inventory.Names {
		if n == name {
			return true
		}
	}
	return false
}

// rehearseOne plays the scenario against a fresh in-process target with one strategy, audits
// it, simulates it, and writes dir.
func rehearseOne(ctx context.Context, o *rehearseOptions, s *scenario.Scenario, strategy, dir string) (*rehearsal, error) {
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(tok[:])
	srv, err := target.New(ctx, target.Options{
		Strategy:       strategy,
		RedisURL:       o.Redis,
		RedisPrefix:    fmt.Sprintf("flashload:rehearse:%s:", hex.EncodeToString(tok[:4])),
		AdminToken:     token,
		MaxInflight:    o.MaxInflight,
		MaxRPS:         o.MaxRPS,
		ReservationTTL: o.TTL,
	})
	if err != nil {
		return nil, fmt.Errorf("start target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(o.Stderr, "rehearse: %s on the reference target (%s inventory) at %s\n", s.Name, strategy, url)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	live, err := engine.Run(runCtx, s, engine.Options{
		Target: url, AdminToken: token, Setup: true,
		Play: scenario.PlayOptions{Wall: o.Wall, RateScale: o.RateScale},
		Seed: o.Seed,
		Progress: func(pctx context.Context, snap func() report.Snapshot) {
			src := func() report.Snapshot {
				sn := snap()
				sn.Strategy = strategy
				return sn
			}
			if err := dashboard.Watch(pctx, src, stop, dashboard.Options{TTY: o.TTY, Out: o.Stdout, Err: o.Stderr}); err != nil {
				fmt.Fprintf(o.Stderr, "flashload: dashboard: %v\n", err)
			}
		},
	})
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	serr := srv.Shutdown(shutCtx)
	cancel()
	<-served
	if err != nil {
		return nil, err
	}
	if serr != nil {
		fmt.Fprintf(o.Stderr, "rehearse: target shutdown: %v\n", serr)
	}
	live.Summary.Strategy = strategy
	live.Summary.Target = "in-process reference target (" + strategy + ")"
	r := &rehearsal{Strategy: strategy, Dir: dir, Live: live}
	pass, gerr := report.EvaluateGates(live.Summary, s.Gates)
	if gerr != nil {
		return nil, usageErr(gerr)
	}
	r.Pass = pass

	if !o.NoSim && s.Model != nil && ctx.Err() == nil {
		if err := r.simulate(ctx, o, s); err != nil {
			// The measurement stands on its own; a model that cannot be played is reported.
			fmt.Fprintf(o.Stderr, "rehearse: simulation skipped: %v\n", err)
			live.Summary.Warnings = append(live.Summary.Warnings, "simulation: "+err.Error())
		}
	}
	if err := render.WriteAll(dir, live, r.Played); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	r.print(o.Stdout, s)
	return r, nil
}

// simulate plays the scenario in the simulator at the played scale (calibrated by the live
// run's measured service time) and at full scale, and writes both next to the live run.
func (r *rehearsal) simulate(ctx context.Context, o *rehearseOptions, s *scenario.Scenario) error {
	fmt.Fprintf(o.Stderr, "rehearse: simulating %s at the played scale (calibrated) and at full scale\n", s.Name)
	opts := sim.Options{Played: true, Seed: o.Seed}
	if r.Live.ServiceTime != nil && r.Live.ServiceTime.TotalCount() > 0 {
		d, err := sim.EmpiricalFromPacked(r.Live.ServiceTime, time.Microsecond)
		if err == nil {
			opts.ServiceTime = d
		}
	}
	opts.Wall, opts.RateScale = o.Wall, o.RateScale // the live run's overrides
	played, err := sim.Run(ctx, s, opts)
	if err != nil {
		return fmt.Errorf("played scale: %w", err)
	}
	if _, err := report.EvaluateGates(played.Summary, s.Gates); err != nil {
		return err
	}
	full, err := sim.Run(ctx, s, sim.Options{Seed: o.Seed})
	if err != nil {
		return fmt.Errorf("full scale: %w", err)
	}
	if _, err := report.EvaluateGates(full.Summary, s.Gates); err != nil {
		return err
	}
	r.Played, r.Full = played, full
	if err := render.WriteAll(filepath.Join(r.Dir, "sim-played"), played, nil); err != nil {
		return err
	}
	return render.WriteAll(filepath.Join(r.Dir, "sim-full"), full, nil)
}

// print writes the end of one rehearsal: measured against predicted, the full-scale prediction,
// the audit, the gates, and where the report is.
func (r *rehearsal) print(w io.Writer, s *scenario.Scenario) {
	m := r.Live.Summary
	fmt.Fprintf(w, "\n%s on %s: %d requests (%d dropped) in %.1fs, %.0f/s achieved of %.0f/s\n",
		s.Name, r.Strategy, m.Requests.Total, m.Requests.Dropped, m.DurationS, m.Rate.AchievedAvg, m.Rate.TargetAvg)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmeasured\tpredicted (played scale)\tapart\t")
	row := func(name string, mv, pv float64, unit string) {
		if r.Played == nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t\n", name, fmtVal(mv, unit))
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, fmtVal(mv, unit), fmtVal(pv, unit), apart(mv, pv))
	}
	var p *report.Summary
	if r.Played != nil {
		p = r.Played.Summary
	} else {
		p = &report.Summary{}
	}
	row("achieved rate", m.Rate.AchievedAvg, p.Rate.AchievedAvg, "/s")
	row("latency p50", m.LatencyMs.P50, p.LatencyMs.P50, "ms")
	row("latency p99", m.LatencyMs.P99, p.LatencyMs.P99, "ms")
	row("service p99", m.ServiceTimeMs.P99, p.ServiceTimeMs.P99, "ms")
	row("errors", float64(m.Requests.Failed), float64(p.Requests.Failed), "")
	row("shed", float64(shed(m)), float64(shed(p)), "")
	tw.Flush()
	if r.Full != nil {
		f := r.Full.Summary
		fmt.Fprintf(w, "full scale (simulated): peak %.0f/s, p99 %.1f ms, availability %.3f%%, shed %d, replicas %d..%d\n",
			f.Rate.PeakTarget, f.LatencyMs.P99, availability(f)*100, shed(f), f.Replicas.Min, f.Replicas.Max)
	}
	if a := m.Audit; a.Checked {
		fmt.Fprintf(w, "audit: stock %d, sold %d, paid %d, released %d; oversold %d, lost %d, unexpected %d, duplicates %d, undersold %d\n",
			a.Stock, a.Sold, a.Paid, a.Released, a.Oversold, a.Lost, a.Unexpected, a.Duplicates, a.Undersold)
		for _, v := range a.Violations {
			fmt.Fprintf(w, "  violation: %s\n", v)
		}
	}
	for _, g := range m.Gates {
		mark := "pass"
		if !g.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "gate %s: %s (measured %g)\n", mark, g.Expr, g.Value)
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(r.Dir, report.ReportFile))
}

func fmtVal(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// apart is the prediction's distance from the measurement, in percent of the measurement.
func apart(measured, predicted float64) string {
	if measured == 0 {
		if predicted == 0 {
			return "0%"
		}
		return "n/a"
	}
	return fmt.Sprintf("%+.0f%%", (predicted-measured)/math.Abs(measured)*100)
}

// shed counts answers that were shed or rate limited (the report's definition).
func shed(s *report.Summary) int64 { return s.Requests.Shed }

// availabilityGate reads availability through the gate grammar, so it is the report's own
// definition (answered ok over requests and dropped arrivals).
var availabilityGate, _ = report.ParseThreshold("availability >= 0")

func availability(s *report.Summary) float64 { return availabilityGate.Eval(s).Value }

func writeShootout(w io.Writer, rs []*rehearsal) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tthroughput\tp99\tservice p99\tsold\toversold\tlost\tduplicates\tshed\tgates\t")
	for _, r := range rs {
		m := r.Live.Summary
		gates := "pass"
		if !r.Pass {
			gates = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%.0f/s\t%.1f ms\t%.1f ms\t%d\t%d\t%d\t%d\t%d\t%s\t\n", r.Strategy, m.Rate.AchievedAvg,
			m.LatencyMs.P99, m.ServiceTimeMs.P99, m.Audit.Sold, m.Audit.Oversold, m.Audit.Lost, m.Audit.Duplicates, shed(m), gates)
	}
	tw.Flush()
}

func writeShootoutFile(path, name string, rs []*rehearsal) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Architecture shoot-out: %s\n\n", name)
	b.WriteString("| strategy | throughput | p99 | service p99 | sold | oversold | lost | duplicates | shed | gates | report |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rs {
		m := r.Live.Summary
		gates := "pass"
		if !r.Pass {
			gates = "**FAIL**"
		}
		rel, _ := filepath.Rel(filepath.Dir(path), filepath.Join(r.Dir, report.ReportFile))
		fmt.Fprintf(&b, "| %s | %.0f/s | %.1f ms | %.1f ms | %d | %d | %d | %d | %d | %s | [%s](%s) |\n", r.Strategy,
			m.Rate.AchievedAvg, m.LatencyMs.P99, m.ServiceTimeMs.P99, m.Audit.Sold, m.Audit.Oversold, m.Audit.Lost,
			m.Audit.Duplicates, shed(m), gates, rel, rel)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
