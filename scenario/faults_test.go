package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const faultBase = `name: f
duration: 10s
skus: [{sku: a, stock: 100, price: 1}]
traffic: {start_rps: 10, stages: [{duration: 10s, rps: 10}]}
journeys: [{name: b, steps: [{purchase: {sku: a}}]}]
faults:
`

func TestFaultsParse(t *testing.T) {
	s, err := Parse("f.yaml", []byte(faultBase+`  - {at: 40%, redis: failover}
  - {at: 5s, for: 2s, network: {to: redis, latency: 200ms, jitter: 50ms}}
  - {at: 5s, for: 1s, network: {to: postgres, partition: true}}
  - {at: 6s, target: kill, replica: 1, restart_after: 2s}
  - {at: 7s, postgres: restart}
  - {at: 85%, consumer: kill}
  - {at: 1s, for: 1s, redis: pause}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind, detail string
		at, end      time.Duration
		store        string
	}{
		{"redis:failover", "", 4 * time.Second, 4 * time.Second, "redis"},
		{"network:redis", "latency 200ms, jitter 50ms, for 2s", 5 * time.Second, 7 * time.Second, "redis"},
		{"network:postgres", "partition, for 1s", 5 * time.Second, 6 * time.Second, "postgres"},
		{"target:kill", "replica 1, restart after 2s", 6 * time.Second, 8 * time.Second, ""},
		{"postgres:restart", "", 7 * time.Second, 7 * time.Second, "postgres"},
		{"consumer:kill", "", 8500 * time.Millisecond, 8500 * time.Millisecond, "consumer"},
		{"redis:pause", "for 1s", time.Second, 2 * time.Second, "redis"},
	}
	if len(s.Faults) != len(want) {
		t.Fatalf("%d faults", len(s.Faults))
	}
	for i, w := range want {
		f := &s.Faults[i]
		if f.Kind() != w.kind || f.Detail() != w.detail || f.AtTime != w.at || f.End() != w.end || f.Store() != w.store {
			t.Errorf("faults[%d] = %s %q at %v end %v store %q; want %+v", i, f.Kind(), f.Detail(), f.AtTime, f.End(), f.Store(), w)
		}
		if f.Line != 7+i || f.Col == 0 {
			t.Errorf("faults[%d] at %d:%d", i, f.Line, f.Col)
		}
	}
	if got := s.FaultStores(); strings.Join(got, ",") != "consumer,postgres,redis" {
		t.Errorf("stores %v", got)
	}
	perr := s.Faults[4].Problem("strategy redis-lua has no postgres")
	var fe *FieldError
	if !errors.As(perr, &fe) || perr.Error() != "f.yaml:11:5: faults[4]: strategy redis-lua has no postgres" {
		t.Errorf("problem %v", perr)
	}
}

// TestFaultsBadInput: every problem at once, each at its line:col.
func TestFaultsBadInput(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{`  - {at: 1s, redis: explode}`, `7:14: faults[0].redis: unknown redis fault "explode"`},
		{`  - {at: 1s, postgres: failover}`, `faults[0].postgres: unknown postgres fault "failover"`},
		{`  - {at: 1s, volcano: erupt}`, `faults[0].volcano: unknown key`},
		{`  - {at: 1s}`, `faults[0]: names no fault`},
		{`  - {at: 1s, redis: kill, target: kill}`, `names 2 faults (redis, target)`},
		{`  - {at: 12s, redis: kill}`, `faults[0].at: 12s is beyond the run (10s)`},
		{`  - {at: 100%, redis: kill}`, `below 100%`},
		{`  - {at: abc%, redis: kill}`, `is not a share of the run`},
		{`  - {at: -1s, redis: kill}`, `before the run`},
		{`  - {redis: kill}`, `faults[0].at: is required`},
		{`  - {at: 9s, for: 2s, redis: pause}`, `faults[0]: lasts until 11s, beyond the run (10s)`},
		{`  - {at: 1s, redis: pause}`, `redis:pause needs for`},
		{`  - {at: 1s, target: stall}`, `target:stall needs for`},
		{`  - {at: 1s, for: 1s, redis: failover}`, `redis:failover is instant`},
		{`  - {at: 1s, for: 1s, postgres: restart}`, `postgres:restart is instant`},
		{`  - {at: 1s, for: 0s, redis: kill}`, `faults[0].for: must be > 0`},
		{`  - {at: 1s, network: {latency: 1s}}`, `faults[0].network.to: is required`},
		{`  - {at: 1s, network: {to: kafka, latency: 1s}}`, `unknown store "kafka"`},
		{`  - {at: 1s, network: {to: redis}}`, `does nothing`},
		{`  - {at: 1s, network: {to: redis, jitter: 5ms}}`, `needs a latency`},
		{`  - {at: 1s, network: {to: redis, latency: 5ms, partition: true}}`, `separate faults`},
		{`  - {at: 1s, redis: kill, replica: 2}`, `faults[0].replica: applies to target and consumer faults only`},
		{`  - {at: 1s, target: kill, replica: -1}`, `must be ≥ 0`},
		{`  - {at: 1s, target: stall, for: 1s, restart_after: 1s}`, `restart_after: applies to target: kill only`},
		{"  - {at: 1s, for: 3s, redis: pause}\n  - {at: 2s, redis: kill}", `8:5: faults[1]: redis:kill overlaps faults[0] (redis:pause, 1s..4s)`},
		{"  - {at: 1s, for: 3s, network: {to: store, reset: true}}\n  - {at: 2s, for: 1s, network: {to: postgres, latency: 5ms}}", `network:postgres overlaps faults[0]`},
		{"  - {at: 1s, target: kill, restart_after: 3s}\n  - {at: 2s, for: 1s, target: stall, replica: 0}", `target:stall overlaps faults[0]`},
		{"  - {at: 1s, for: 3s, target: stall, replica: 0}\n  - {at: 2s, consumer: kill}", `consumer:kill overlaps faults[0]`},
	}
	for _, c := range cases {
		_, err := Parse("f.yaml", []byte(faultBase+c.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  got %v\n  want …%s", c.yaml, err, c.want)
		}
	}
	// Compatible: different replicas, different stores, one after the other.
	ok := "  - {at: 1s, target: kill, replica: 0, restart_after: 3s}\n  - {at: 2s, for: 1s, target: stall, replica: 1}\n" +
		"  - {at: 1s, for: 1s, redis: pause}\n  - {at: 3s, redis: kill}\n  - {at: 1s, for: 5s, network: {to: postgres, latency: 5ms}}\n"
	if _, err := Parse("f.yaml", []byte(faultBase+ok)); err != nil {
		t.Errorf("compatible faults rejected: %v", err)
	}
	// All at once.
	_, err := Parse("f.yaml", []byte(faultBase+"  - {at: 1s, redis: explode}\n  - {at: 20s, postgres: kill}\n  - {at: 1s}\n"))
	if err == nil || strings.Count(err.Error(), "f.yaml:") != 3 {
		t.Errorf("want 3 problems: %v", err)
	}
}

func FuzzFaults(f *testing.F) {
	for _, s := range []string{"{at: 40%, redis: failover}", "{at: 5s, for: 2s, network: {to: store, latency: 200ms, jitter: 50ms}}",
		"{at: 6s, target: kill, replica: 1, restart_after: 2s}", "{at: 1s, for: 1s, postgres: pause}", "{at: 75%, consumer: kill}",
		"{at: 99.99%, target: stall, for: 1ms}"} {
		f.Add(s, "{at: 2s, redis: restart}")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsAny(a+b, "\n\r") {
			return
		}
		s, err := Parse("f.yaml", []byte(faultBase+"  - "+a+"\n  - "+b+"\n"))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for i := range s.Faults {
			ft := &s.Faults[i]
			if ft.Class() == "" || ft.AtTime < 0 || ft.End() > s.Duration.D() || ft.AtTime >= s.Duration.D() {
				t.Fatalf("faults[%d] accepted: %+v", i, ft)
			}
			if ft.Line == 0 {
				t.Fatalf("faults[%d] has no position", i)
			}
			_ = fmt.Sprint(ft.Kind(), ft.Detail())
		}
	})
}
