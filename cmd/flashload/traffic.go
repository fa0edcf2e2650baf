package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/traffic"
)

func init() { register(newTrafficCmd) }

func newTrafficCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "traffic",
		Short: "Turn last year's traffic into replay curves, and forecast it with its uncertainty",
		Long: "Import request history (access logs, load balancer logs, Prometheus, CSV) into a t,rps replay\n" +
			"curve, and forecast it with daily and weekly seasons, trend, growth and past promotions into\n" +
			"one replay curve per quantile: `plan --traffic DIR/p90.csv` sizes capacity to it.",
	}
	cmd.AddCommand(newTrafficImportCmd(), newTrafficForecastCmd())
	return cmd
}

// historyFlags are the flags both subcommands read history with.
type historyFlags struct {
	Format, Step, Unit string
}

func (h *historyFlags) register(cmd *cobra.Command, stepHelp string) {
	f := cmd.Flags()
	f.StringVar(&h.Format, "format", traffic.FormatAuto, "nginx (also Apache combined/common), alb, prometheus (query_range JSON), csv (timestamp,value) or auto")
	f.StringVar(&h.Step, "step", "", stepHelp)
	f.StringVar(&h.Unit, "unit", traffic.UnitRPS, "csv and prometheus: each value is a rate (rps) or the requests of its interval (count)")
}

func (h *historyFlags) options() (traffic.ImportOptions, error) {
	o := traffic.ImportOptions{Format: h.Format, Unit: h.Unit}
	if h.Step != "" {
		d, err := scenario.ParseDuration(h.Step)
		if err != nil {
			return o, fmt.Errorf("--step: %w", err)
		}
		o.Step = d
	}
	return o, nil
}

// trafficImportOptions holds the flags and streams of `flashload traffic import`.
type trafficImportOptions struct {
	Out, Err  io.Writer
	History   historyFlags
	File      string
	Mix       bool
	MaxRoutes int
	Top       int
}

func newTrafficImportCmd() *cobra.Command {
	opts := &trafficImportOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE... [--format nginx|alb|prometheus|csv] [--step 1m] [--out curve.csv] [--mix]",
		Short: "Import request history into a t,rps replay curve (and the request mix)",
		Long: "Read access logs (nginx or Apache combined/common, AWS ALB or Classic ELB; gzip or plain; any\n" +
			"size, streamed), a Prometheus query_range JSON answer, or a timestamp,value CSV, and write the\n" +
			"mean rate per --step as a t,rps CSV (t in seconds from the first interval; a '# start' comment\n" +
			"keeps the date) that a scenario's traffic.replay, plan --traffic and sim --traffic read.\n" +
			"Unparseable lines are counted and the first few shown with their line numbers; out-of-order\n" +
			"records and gaps are reported with where they are. Only a history of which nothing parses is an\n" +
			"error (exit 2). --mix adds the request mix by method and route (ids in paths folded into {id}).\n" +
			"The report goes to stdout with --out, else to stderr (stdout then carries the curve).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Err = c.OutOrStdout(), c.ErrOrStderr()
			return trafficImportRun(c.Context(), opts, args)
		},
	}
	opts.History.register(cmd, "the curve's interval (default 1m for logs, the history's own for csv and prometheus)")
	f := cmd.Flags()
	f.StringVar(&opts.File, "out", "", "write the curve here (default: stdout)")
	f.BoolVar(&opts.Mix, "mix", false, "access logs: print the request mix by method and route")
	f.IntVar(&opts.MaxRoutes, "max-routes", traffic.DefaultMaxRoutes, "--mix: routes kept; requests on further routes are counted together")
	f.IntVar(&opts.Top, "top", 20, "--mix: routes shown")
	return cmd
}

func trafficImportRun(ctx context.Context, opts *trafficImportOptions, files []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ho, err := opts.History.options()
	if err != nil {
		return usageErr(err)
	}
	ho.Mix, ho.MaxRoutes = opts.Mix, opts.MaxRoutes
	start := time.Now()
	imp, err := traffic.ImportFiles(ctx, files, ho)
	if err != nil {
		return importErr(err)
	}
	elapsed := time.Since(start)
	report, curve := opts.Err, opts.Out
	if opts.File != "" {
		report = opts.Out
	}
	note := "from " + strings.Join(baseNames(files), ",")
	if opts.File != "" {
		if err := writeFileAtomic(opts.File, func(w io.Writer) error { return traffic.WriteCurve(w, imp.Series, note) }); err != nil {
			return err
		}
	} else if err := traffic.WriteCurve(curve, imp.Series, note); err != nil {
		return err
	}
	if err := render.TrafficImport(report, imp, elapsed); err != nil {
		return err
	}
	if opts.File != "" {
		fmt.Fprintf(report, "wrote %s\n", opts.File)
	}
	if imp.Mix != nil {
		return render.TrafficMix(report, imp.Mix, opts.Top)
	}
	return nil
}

// importErr maps a failed import to its exit code: a history that is missing, unreadable as
// its format, or too short is bad input (2); an interrupted import keeps the context's error.
func importErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return usageErr(err)
}

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Base(f)
	}
	return out
}

// writeFileAtomic writes path through a temporary file beside it, so a failed write leaves no
// half curve for a scenario to read. A path that exists and is no regular file (/dev/null, a
// pipe) is written in place: renaming over it would replace the device with a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// trafficForecastOptions holds the flags and streams of `flashload traffic forecast`.
type trafficForecastOptions struct {
	Out, Err    io.Writer
	History     historyFlags
	Horizon     string
	Seasons     string
	Growth      float64
	Quantiles   string
	Promos      []string
	Dir         string
	Backtest    string
	Cut         string
	JSON        bool
	TrendWindow string
}

func newTrafficForecastCmd() *cobra.Command {
	opts := &trafficForecastOptions{}
	cmd := &cobra.Command{
		Use:   "forecast HISTORY --horizon 7d [--season 1d,7d] [--growth 1.0] [--quantiles 0.5,0.9] [--out DIR]",
		Short: "Forecast a history into one replay curve per quantile (or backtest the forecast)",
		Long: "Fit daily and weekly seasons, a damped trend and the level's drift to HISTORY (a timestamp,value\n" +
			"CSV with RFC 3339 or '2006-01-02 15:04:05' UTC times, an imported curve, or any format import\n" +
			"reads), keeping past promotion spikes and outages out of the fit, and write DIR/p50.csv,\n" +
			"DIR/p90.csv, ... (one t,rps replay curve per quantile) over --horizon after the history's end.\n" +
			"--growth multiplies every rate; --promo TIME places the shape of the past promotion spikes at\n" +
			"TIME. A horizon beyond half the history, or a season without two cycles of history, is refused\n" +
			"with the reason (exit 2).\n\n" +
			"--backtest 7d trains on the history before --cut (default: its end minus 7d), forecasts the\n" +
			"held-out span and reports WAPE against the seasonal-naive baseline (the same time one longest\n" +
			"season earlier) and the coverage of the outermost band; --json prints wape,\n" +
			"seasonal_naive_wape, coverage, points.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Err = c.OutOrStdout(), c.ErrOrStderr()
			return trafficForecastRun(c.Context(), opts, args[0])
		},
	}
	opts.History.register(cmd, "resample the history to this interval first (default: its own)")
	f := cmd.Flags()
	f.StringVar(&opts.Horizon, "horizon", "7d", "how far past the history's end to forecast")
	f.StringVar(&opts.Seasons, "season", "", "seasons to model, comma-separated (default 1d,7d, those the history holds two cycles of)")
	f.Float64Var(&opts.Growth, "growth", 1, "multiply every forecast rate (1.3: this year's sale 30% bigger)")
	f.StringVar(&opts.Quantiles, "quantiles", "0.5,0.9", "quantiles to write, one curve each")
	f.StringArrayVar(&opts.Promos, "promo", nil, "a promotion starts at this time (RFC 3339): the past spikes' shape is placed there; repeatable")
	f.StringVar(&opts.Dir, "out", "", "directory for the curves (default forecast-HISTORY)")
	f.StringVar(&opts.Backtest, "backtest", "", "hold out this span and score the forecast on it instead of writing curves")
	f.StringVar(&opts.Cut, "cut", "", "--backtest: train before this time (default: the history's end minus the backtest)")
	f.BoolVar(&opts.JSON, "json", false, "--backtest: print the verdict as JSON")
	f.StringVar(&opts.TrendWindow, "trend-window", traffic.FormatDuration(traffic.DefaultTrendWindow), "fit the trend on this much recent history")
	return cmd
}

// options parses the forecast flags.
func (o *trafficForecastOptions) options() (traffic.FitOptions, traffic.ForecastOptions, error) {
	var fit traffic.FitOptions
	var fo traffic.ForecastOptions
	var errs []error
	var err error
	if fo.Horizon, err = scenario.ParseDuration(o.Horizon); err != nil {
		errs = append(errs, fmt.Errorf("--horizon: %w", err))
	}
	if o.Seasons != "" {
		for _, p := range strings.Split(o.Seasons, ",") {
			d, err := scenario.ParseDuration(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("--season: %w", err))
			}
			fit.Seasons = append(fit.Seasons, d)
		}
	}
	if fit.TrendWindow, err = scenario.ParseDuration(o.TrendWindow); err != nil {
		errs = append(errs, fmt.Errorf("--trend-window: %w", err))
	}
	for _, q := range strings.Split(o.Quantiles, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("--quantiles: %q is not a number", q))
		}
		fo.Quantiles = append(fo.Quantiles, v)
	}
	for _, p := range o.Promos {
		t, err := traffic.ParseTime(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("--promo: %w", err))
		}
		fo.Promos = append(fo.Promos, t)
	}
	fo.Growth = o.Growth
	return fit, fo, errors.Join(errs...)
}

func trafficForecastRun(ctx context.Context, opts *trafficForecastOptions, history string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ho, err := opts.History.options()
	if err != nil {
		return usageErr(err)
	}
	fit, fo, err := opts.options()
	if err != nil {
		return usageErr(err)
	}
	imp, err := traffic.ImportFiles(ctx, []string{history}, ho)
	if err != nil {
		return importErr(err)
	}
	if opts.Backtest != "" {
		return trafficBacktestRun(opts, imp, fit, fo)
	}
	m, err := traffic.Fit(imp.Series, fit)
	if err != nil {
		return usageErr(err)
	}
	fc, err := m.Forecast(fo)
	if err != nil {
		return usageErr(err)
	}
	dir := opts.Dir
	if dir == "" {
		dir = "forecast-" + strings.TrimSuffix(filepath.Base(history), filepath.Ext(history))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := make([]string, len(fc.Quantiles))
	for k, q := range fc.Quantiles {
		files[k] = filepath.Join(dir, traffic.QuantileName(q)+".csv")
		note := fmt.Sprintf("quantile %v forecast of %s, growth %v", q, filepath.Base(history), fo.Growth)
		if err := writeFileAtomic(files[k], func(w io.Writer) error { return traffic.WriteCurve(w, fc.Series(k), note) }); err != nil {
			return err
		}
	}
	if imp.Report.Bad > 0 || imp.Report.GapCount > 0 || imp.Report.OutOfOrder > 0 || imp.Report.Duplicates > 0 {
		if err := render.TrafficImport(opts.Err, imp, 0); err != nil {
			return err
		}
	}
	if err := render.TrafficModel(opts.Out, m); err != nil {
		return err
	}
	return render.TrafficForecast(opts.Out, fc, files)
}

func trafficBacktestRun(opts *trafficForecastOptions, imp *traffic.Import, fit traffic.FitOptions, fo traffic.ForecastOptions) error {
	hold, err := scenario.ParseDuration(opts.Backtest)
	if err != nil {
		return usageErr(fmt.Errorf("--backtest: %w", err))
	}
	bo := traffic.BacktestOptions{Holdout: hold, Fit: fit, Forecast: fo}
	if opts.Cut != "" {
		if bo.Cut, err = traffic.ParseTime(opts.Cut); err != nil {
			return usageErr(fmt.Errorf("--cut: %w", err))
		}
	}
	res, _, err := traffic.Backtest(imp.Series, bo)
	if err != nil {
		return usageErr(err)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return render.TrafficBacktest(opts.Out, res)
}
