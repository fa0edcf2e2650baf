package traffic

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// genLog is a generated access log of about size bytes.
func genLog(b testing.TB, size int64) []byte {
	var buf bytes.Buffer
	g := Synthetic{Start: monday, Mean: 200, Daily: 0.8, PeakHour: 13, Weekend: 0.7, Noise: 0.05}
	if _, err := g.WriteLog(&buf, week(1), 1, size); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkImportNginx measures the streaming import of a combined log (MB/s is the figure;
// scripts/bench-traffic-import measures a 1 GB file with its memory).
func BenchmarkImportNginx(b *testing.B) {
	for _, mix := range []bool{false, true} {
		name := "curve"
		if mix {
			name = "curve+mix"
		}
		b.Run(name, func(b *testing.B) {
			data := genLog(b, 32<<20)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ImportReader(context.Background(), bytes.NewReader(data), "bench", ImportOptions{Format: FormatNginx, Mix: mix}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A generated four-week access log (daily cycle, quiet weekends, growth, a promotion), streamed
// through the importer: the curve holds every request, the promotion is found, and the
// forecast of the last week beats seasonal naive.
func TestBacktestGeneratedLog(t *testing.T) {
	g := Synthetic{Start: monday, Mean: 0.08, Daily: 0.8, PeakHour: 13, Weekend: 0.7, TrendPerDay: 0.005, Noise: 0.05,
		Promos: []Promo{{At: monday.Add(week(1) + 4*24*time.Hour + 20*time.Hour), Peak: 5, Decay: 2 * time.Hour}}}
	pr, pw := io.Pipe()
	var lines int64
	go func() {
		var err error
		lines, err = g.WriteLog(pw, week(4), 5, 0)
		pw.CloseWithError(err)
	}()
	imp, err := ImportReader(context.Background(), pr, "generated.log", ImportOptions{Format: FormatNginx, Step: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Report.Records != lines || imp.Report.Bad != 0 || int64(imp.Report.Requests+0.5) != lines {
		t.Fatalf("%d lines, report %+v", lines, imp.Report)
	}
	m, err := Fit(imp.Series, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Spikes) != 1 || m.Spikes[0].Start.Sub(g.Promos[0].At).Abs() > time.Hour {
		t.Fatalf("spikes %+v", m.Spikes)
	}
	r, _, err := Backtest(imp.Series, BacktestOptions{Holdout: week(1), Forecast: ForecastOptions{Quantiles: []float64{0.1, 0.5, 0.9}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d lines: WAPE %.3f, seasonal naive %.3f, coverage %.3f", lines, r.WAPE, r.SeasonalNaiveWAPE, r.Coverage)
	if r.WAPE >= r.SeasonalNaiveWAPE {
		t.Fatalf("WAPE %.3f does not beat seasonal naive %.3f", r.WAPE, r.SeasonalNaiveWAPE)
	}
}
