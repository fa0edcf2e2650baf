package render

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// What `flashload calibrate` prints, pasted into a scenario, is the model rehearse applies: the
// block parses back to the same capacity fields (durations to the microsecond it prints).
func TestModelBlockParsesBack(t *testing.T) {
	ms := func(f float64) scenario.Duration { return scenario.Duration(f * float64(time.Millisecond)) }
	for _, m := range []scenario.Model{
		{Replicas: 2, WorkersPerReplica: 8, ServiceTime: scenario.ServiceTime{Dist: "exponential", Mean: ms(10.089)},
			Cache: &scenario.Cache{HitTime: ms(10.089)}, RoundTrip: ms(0.123)},
		{Replicas: 1, WorkersPerReplica: 64, ServiceTime: scenario.ServiceTime{Dist: "lognormal", P50: ms(2.5), P99: ms(31.25)}},
		{Replicas: 3, ServiceTime: scenario.ServiceTime{Dist: "deterministic", Mean: ms(5)}, Cache: &scenario.Cache{HitTime: ms(5)}},
	} {
		var b strings.Builder
		if err := ModelBlock(&b, []string{"calibrated from a test"}, &m); err != nil {
			t.Fatal(err)
		}
		doc := "name: back\nduration: 1s\ntraffic: {start_rps: 1, stages: [{duration: 1s, rps: 1}]}\n" +
			"skus: [{sku: a, stock: 1, price: 1}]\njourneys: [{name: j, steps: [{view: {sku: a}}]}]\n" + b.String()
		s, err := scenario.Parse("back.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if !reflect.DeepEqual(*s.Model, m) {
			t.Errorf("printed\n%s\nparsed back as %+v, want %+v", b.String(), *s.Model, m)
		}
	}
}
