package engine

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestReplicasShareLoad: a run given two target URLs spreads its requests over both replicas
// (two reference targets on their own loopback listeners), over every transport: the workers'
// own connections (closed model), the pool and fasthttp's slots (fewer connections than
// workers: each request takes the next replica), and fasthttp with a connection per worker.
// Each replica's /metrics counts what it answered: each answered a share, and together every
// request the run recorded.
func TestReplicasShareLoad(t *testing.T) {
	_, a := startTarget(t, "memory", nil)
	_, b := startTarget(t, "memory", nil)
	const open = "{arrivals: uniform, start_rps: 300, stages: [{duration: 1s, rps: 300}]}"
	const closed = "{model: closed, vus: 4}"
	for _, c := range []struct {
		name, traffic string
		opts          Options
		transport     string
	}{
		{"own connections", closed, Options{}, "own"},
		{"pool", open, Options{Workers: 64, MaxConns: 4}, "pool"},
		{"fasthttp slots", open, Options{Workers: 64, MaxConns: 4, FastHTTPOnly: true}, "fast+slots"},
		{"fasthttp own", closed, Options{FastHTTPOnly: true}, "fast"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, `
name: replicas
duration: 1s
skus: [{sku: mug-1, stock: 1000000, price: 20}]
traffic: `+c.traffic+`
journeys:
  - {name: buyer, steps: [{view: {sku: mug-1}}, {purchase: {sku: mug-1}}]}
`)
			for _, base := range []string{a, b} {
				if err := SetupSKUs(context.Background(), base, "test-token", s.SKUs); err != nil {
					t.Fatal(err)
				}
			}
			before := []int64{answered(t, a), answered(t, b)}
			opts := c.opts
			opts.Target, opts.NoPreflight, opts.NoAudit = a+","+b, true, true
			r, err := prepare(s, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := transportName(r.tr); got != c.transport {
				t.Fatalf("transport %s, want %s", got, c.transport)
			}
			res, err := Run(context.Background(), s, opts)
			if err != nil {
				t.Fatal(err)
			}
			req := res.Summary.Requests
			got := []int64{answered(t, a) - before[0], answered(t, b) - before[1]}
			t.Logf("%d requests (errors %v, codes %v); replica A answered %d, B %d", req.Total, req.ByError, req.ByCode, got[0], got[1])
			if req.Total < 20 {
				t.Fatalf("only %d requests", req.Total)
			}
			for i, n := range got {
				if n < req.Total/4 {
					t.Errorf("replica %d answered %d of %d requests, want at least a quarter", i, n, req.Total)
				}
			}
			if req.Errors == 0 && got[0]+got[1] != req.Total {
				t.Errorf("the replicas answered %d requests, the run recorded %d", got[0]+got[1], req.Total)
			}
		})
	}
}

// answered is how many view and purchase requests the reference target at base has answered,
// from its /metrics.
func answered(t *testing.T, base string) int64 {
	t.Helper()
	n, err := answeredBy(base)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// answeredBy is answered without a testing.T, for goroutines other than the test's.
func answeredBy(base string) (int64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "flashload_target_requests_total{") ||
			!(strings.Contains(line, `route="view"`) || strings.Contains(line, `route="purchase"`)) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %v", line, err)
		}
		n += int64(v)
	}
	return n, sc.Err()
}

func transportName(tr transport) string {
	switch tr := tr.(type) {
	case *rawPool:
		return "pool"
	case *rawConns:
		return "own"
	case *fastClient:
		if tr.slots != nil {
			return "fast+slots"
		}
		return "fast"
	}
	return "?"
}

// TestReplicaConnections: MaxConns connections are spread round robin over the replicas (the
// pool holds connection i for replica i mod N); fewer connections than replicas is refused;
// setup and the audit go to the first URL unless AdminURL says otherwise.
func TestReplicaConnections(t *testing.T) {
	s := mustParse(t, constantScenario(100, "1s", ""))
	r, err := prepare(s, Options{Target: "http://127.0.0.1:1,http://127.0.0.1:2, http://127.0.0.1:3/base", Workers: 16, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	p := r.tr.(*rawPool)
	for k, want := range []int{3, 3, 2} {
		if len(p.conns[k]) != want {
			t.Errorf("replica %d: %d connections, want %d", k, len(p.conns[k]), want)
		}
		for range len(p.conns[k]) {
			if c := <-p.conns[k]; c.addr != r.targets[k].Host {
				t.Errorf("replica %d holds a connection to %s", k, c.addr)
			}
		}
	}
	if r.targets[2].Prefix != "/base" || r.adminURL() != "http://127.0.0.1:1" {
		t.Errorf("targets %+v, admin %s", r.targets, r.adminURL())
	}
	if _, err := prepare(s, Options{Target: "http://127.0.0.1:1,http://127.0.0.1:2", Workers: 16, MaxConns: 1}); err == nil {
		t.Error("one connection for two replicas was accepted")
	}
	r, err = prepare(s, Options{Target: "http://127.0.0.1:1,http://127.0.0.1:2", AdminURL: "http://127.0.0.1:2"})
	if err != nil || r.adminURL() != "http://127.0.0.1:2" {
		t.Errorf("admin %s, err %v; want the given AdminURL", r.adminURL(), err)
	}
}

// TestSplitTargets: the replicas' list and its errors, which the CLI shows as they are.
func TestSplitTargets(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}, ""},
		{"http://127.0.0.1:1, http://127.0.0.1:2/base ,https://[::1]:3", []string{"http://127.0.0.1:1", "http://127.0.0.1:2/base", "https://[::1]:3"}, ""},
		{"", nil, `target "": no URL`},
		{"http://127.0.0.1:1,", nil, `target 2 of 2 (""): no URL`},
		{"http://127.0.0.1:1,,http://127.0.0.1:2", nil, `target 2 of 3 (""): no URL`},
		{"http://127.0.0.1:1,ftp://127.0.0.1:2", nil, `target 2 of 2 ("ftp://127.0.0.1:2"): target must be an http:// or https:// URL`},
		{"http://127.0.0.1:1,http://", nil, `target 2 of 2 ("http://"): target URL has no host`},
		{"http://127.0.0.1:80,http://127.0.0.1/", nil, `target 2 of 2 ("http://127.0.0.1/"): the same replica as target 1`},
	} {
		got, err := SplitTargets(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzSplitTargets: any input either splits into as many valid, distinct targets as it has
// comma-separated entries (and joining them splits back to the same list), or is an error that
// says which target is wrong.
func FuzzSplitTargets(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080", "http://a:1,http://b:2", " http://a:1 , https://b/x ", "a,,b", ",",
		"", "http://a:1,http://a:1", "ftp://x", "http://[::1]:80/p,http://%zz", "https://h:443,http://h:443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		urls, ts, err := splitTargets(list)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "target ") {
				t.Fatalf("%q: error %q does not name the target", list, err)
			}
			return
		}
		if len(urls) != strings.Count(list, ",")+1 || len(ts) != len(urls) {
			t.Fatalf("%q: %d URLs, %d targets", list, len(urls), len(ts))
		}
		for i, u := range urls {
			if u == "" || u != strings.TrimSpace(u) || strings.Contains(u, ",") {
				t.Fatalf("%q: URL %q", list, u)
			}
			if pt, err := parseTarget(u); err != nil || pt != ts[i] {
				t.Fatalf("%q: URL %q parses to %+v, %v; split gave %+v", list, u, pt, err, ts[i])
			}
			for j := range i {
				if ts[j] == ts[i] {
					t.Fatalf("%q: targets %d and %d are one replica", list, j, i)
				}
			}
		}
		again, err := SplitTargets(strings.Join(urls, ","))
		if err != nil || strings.Join(again, ",") != strings.Join(urls, ",") {
			t.Fatalf("%q: joined and split again: %q, %v", list, again, err)
		}
	})
}
