package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestRunServesMetricsMidRun: `flashload run --metrics-addr` serves Prometheus metrics while the
// run goes on: a scrape taken before the run ends parses with Prometheus' text parser and counts
// the purchases answered so far by step and code, with the latency histogram and the rates.
func TestRunServesMetricsMidRun(t *testing.T) {
	base, token := startRunTarget(t, "memory")
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	sc := strings.Replace(strings.Replace(runScenario, "GATES", `"oversold == 0"`, 1), "duration: 1s", "duration: 4s", 1)
	if err := os.WriteFile(path, []byte(sc), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errb bytes.Buffer
	o := &runOptions{Scenario: path, Target: base, AdminToken: token, Out: filepath.Join(dir, "out"), NoTUI: true,
		Stdout: &out, Stderr: &errb, MetricsAddr: addr}
	done := make(chan error, 1)
	go func() { done <- runLive(context.Background(), o) }()

	var scraped bool
	for !scraped {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before a scrape saw answers\n%s", err, errb.String())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue // not listening yet
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("the exposition does not parse: %v\n%s", err, body)
		}
		f := fams["flashload_requests_total"]
		if f == nil {
			continue
		}
		var n float64
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "step" && l.GetValue() == "purchase" {
					n += m.GetCounter().GetValue()
				}
			}
		}
		if n == 0 {
			continue
		}
		for _, name := range []string{"flashload_request_duration_seconds", "flashload_rate_per_second", "flashload_in_flight", "flashload_dropped_total", "flashload_stock_left"} {
			if fams[name] == nil {
				t.Errorf("no %s in a mid-run scrape", name)
			}
		}
		scraped = true
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "metrics: http://"+addr+"/metrics") {
		t.Errorf("the address is not announced:\n%s", errb.String())
	}
}
