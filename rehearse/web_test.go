package rehearse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flashload/flashload/report/web"
)

// TestRunWeb rehearses with the live page: a page following the stream sees the run's
// snapshots with the scenario's gates evaluated as it goes, then its result, gates as in
// summary.json, with report.html to fetch.
func TestRunWeb(t *testing.T) {
	srv, err := web.Listen("127.0.0.1:0", web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get(srv.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type ev struct{ name, data string }
	events := make(chan ev, 1024)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				events <- ev{name, d}
			}
		}
	}()
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	s := tinySale(t, "300", "400")
	res, err := Run(context.Background(), Options{Scenario: s, Out: out, NoSim: true, Web: srv, Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Rehearsals) != 1 {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	liveGates := 0
	for e := range events {
		var d struct {
			Snap struct {
				Strategy string
				Gates    []struct{ Expr, Verdict string }
			}
			Gates  []struct{ Expr, Verdict string }
			Report string
		}
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		switch e.name {
		case "snapshot":
			if d.Snap.Strategy != "memory" {
				t.Errorf("snapshot of strategy %q", d.Snap.Strategy)
			}
			// The audit gates pass only on the target's stock readings, which reach the page's
			// gates through the sealed windows: without them they are "not checked".
			pass := len(d.Snap.Gates) == len(s.Gates)
			for _, g := range d.Snap.Gates {
				pass = pass && g.Verdict == "PASS"
			}
			if pass {
				liveGates++
			}
		case "result":
			sum := readSummary(t, out)
			if d.Report != "report.html" || len(d.Gates) != len(sum.Gates) {
				t.Fatalf("result: report %q, gates %v; summary.json %v", d.Report, d.Gates, sum.Gates)
			}
			for i, g := range sum.Gates {
				if d.Gates[i].Expr != g.Expr || (d.Gates[i].Verdict == "PASS") != g.Pass {
					t.Errorf("gate %d: page %+v, summary.json %+v", i, d.Gates[i], g)
				}
			}
			if liveGates == 0 {
				t.Error("no snapshot carried the scenario's gates, measured, while the run went on")
			}
			return
		}
	}
	t.Fatal("the stream ended without a result")
}
