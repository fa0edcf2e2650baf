// Command genlog writes a synthetic nginx access log with a known traffic shape (daily cycle,
// weekend, trend, noise, optional promotions; traffic.Synthetic): the input of the import
// benchmark (scripts/bench-traffic-import) and of the documented backtest on an access log.
//
//	go run ./bench/genlog -span 28d -mean 3 -bytes 1GiB > big.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/traffic"
)

func main() {
	span := flag.String("span", "28d", "how much history")
	mean := flag.Float64("mean", 3, "requests per second at the start, before the cycles")
	trend := flag.Float64("trend", 0.005, "growth per day, in log units")
	noise := flag.Float64("noise", 0.05, "per-second log-normal noise")
	promo := flag.String("promo", "", "a promotion (×5, 2h decay) starts this far into the log, e.g. 17d20h")
	size := flag.String("bytes", "0", "stop at this size (e.g. 1GiB; 0: the whole span)")
	seed := flag.Uint64("seed", 1, "random seed")
	start := flag.String("start", "2024-10-14T00:00:00Z", "the first second (a Monday by default)")
	flag.Parse()
	if err := run(*span, *mean, *trend, *noise, *promo, *size, *seed, *start); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(2)
	}
}

func run(spanS string, mean, trend, noise float64, promoS, sizeS string, seed uint64, startS string) error {
	span, err := scenario.ParseDuration(spanS)
	if err != nil {
		return err
	}
	maxBytes, err := scenario.ParseSize(sizeS)
	if err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, startS)
	if err != nil {
		return err
	}
	g := traffic.Synthetic{Start: start, Mean: mean, Daily: 0.8, PeakHour: 13, Weekend: 0.7, TrendPerDay: trend, Noise: noise}
	if promoS != "" {
		at, err := scenario.ParseDuration(promoS)
		if err != nil {
			return err
		}
		g.Promos = []traffic.Promo{{At: start.Add(at), Peak: 5, Decay: 2 * time.Hour}}
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	lines, err := g.WriteLog(w, span, seed, int64(maxBytes))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "genlog: %d lines\n", lines)
	return w.Flush()
}
