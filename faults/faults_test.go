package faults

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) Start(_ context.Context, f *scenario.Fault) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, "start "+f.Kind())
	if f.Kind() == "postgres:pause" {
		return errors.New("no postgres")
	}
	return nil
}

func (r *recorder) End(_ context.Context, f *scenario.Fault) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, "end "+f.Kind())
	if f.Kind() == "redis:restart" {
		return ErrNothingToEnd
	}
	return nil
}

// TestSchedule: every fault starts, every lasting one ends (the last one, cut by the end of the
// load, ends at once), a failed start is recorded with its error, records keep the file's order.
func TestSchedule(t *testing.T) {
	s, err := scenario.Parse("f.yaml", []byte(`name: f
duration: 1s
skus: [{sku: a, stock: 1, price: 1}]
traffic: {start_rps: 1, stages: [{duration: 1s, rps: 1}]}
journeys: [{name: b, steps: [{purchase: {sku: a}}]}]
faults:
  - {at: 10%, redis: restart}
  - {at: 20%, for: 100ms, network: {to: redis, latency: 5ms}}
  - {at: 30%, for: 50ms, postgres: pause}
  - {at: 40%, for: 500ms, target: stall}
`))
	if err != nil {
		t.Fatal(err)
	}
	play, err := s.Play(scenario.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := &recorder{}
	log := &Log{}
	ctx, cancel := context.WithCancel(context.Background())
	// The load "ends" once the stall has started: the stall is ended then, not at 900ms.
	go func() {
		for {
			if recs := log.Records(); len(recs) == 4 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	recs := Schedule(ctx, time.Now(), play, s.Faults, in, log.Event)
	got := strings.Join(in.log, ", ")
	for _, want := range []string{"start redis:restart", "start network:redis", "end network:redis", "start postgres:pause", "start target:stall", "end target:stall", "end redis:restart"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	if strings.Contains(got, "end postgres:pause") {
		// A pause that failed to start is still ended (it may have half-happened).
	} else {
		t.Errorf("a failed pause was not ended: %s", got)
	}
	if len(recs) != 4 || recs[0].Kind != "redis:restart" || recs[3].Kind != "target:stall" {
		t.Fatalf("records %+v", recs)
	}
	if !recs[0].OK || recs[0].EndedAtS != 0 || recs[0].AtS != 0.1 {
		t.Errorf("restart %+v", recs[0])
	}
	if recs[2].OK || !strings.Contains(recs[2].Error, "no postgres") {
		t.Errorf("failed pause %+v", recs[2])
	}
	if recs[1].EndS != 0.3 || recs[1].EndedAtS < recs[1].AppliedAtS || !recs[1].OK {
		t.Errorf("latency %+v", recs[1])
	}
	if recs[3].EndedAtS == 0 {
		t.Errorf("stall not ended at the end of the load: %+v", recs[3])
	}
}

// TestAdminSupported: run's admin API applies stalls and consumer crashes only.
func TestAdminSupported(t *testing.T) {
	a := &Admin{URLs: []string{"http://127.0.0.1:1"}}
	one := 1
	for _, c := range []struct {
		f  scenario.Fault
		ok bool
	}{
		{scenario.Fault{Target: "stall"}, true},
		{scenario.Fault{Consumer: "kill"}, true},
		{scenario.Fault{Target: "stall", Replica: &one}, false},
		{scenario.Fault{Redis: "kill"}, false},
		{scenario.Fault{Target: "kill"}, false},
		{scenario.Fault{Network: &scenario.NetworkFault{To: "redis"}}, false},
	} {
		err := a.Supported(&c.f)
		if (err == nil) != c.ok || (err != nil && c.f.Replica == nil && !errors.Is(err, ErrUnsupported)) {
			t.Errorf("%s: %v", c.f.Kind(), err)
		}
	}
}
