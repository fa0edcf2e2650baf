package engine

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// TestClassifiedAnswersAreNotErrors: a sold-out sale on a service that answers 409 with no code
// of flashload's (or a code the engine does not know) counts the refusals as answers, exactly
// as on the reference target: requests.errors and failed stay 0, and by_code names what the
// classify rules made of each answer (the rule's code, else the outcome), never OTHER. A rule
// that classifies an answer as an error still counts it as one.
func TestClassifiedAnswersAreNotErrors(t *testing.T) {
	var stock atomic.Int64
	stock.Store(20)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("user_id") == "13" {
			w.WriteHeader(418) // classified as an error below
			return
		}
		if stock.Add(-1) < 0 {
			w.WriteHeader(409)
			fmt.Fprint(w, "sold out")
			return
		}
		fmt.Fprintf(w, `{"code":"c%s"}`, r.URL.Query().Get("user_id")) // a reservation code, not an answer code
	})
	mux.HandleFunc("GET /limited", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		fmt.Fprint(w, `{"code":"OVER_LIMIT"}`)
	})
	base := serveHTTP(t, mux)
	s := mustParse(t, `
name: classified
duration: 1s
skus: [{sku: phone-x, stock: 20, price: 1}]
users: {count: 100000}
traffic: {arrivals: uniform, start_rps: 100, stages: [{duration: 1s, rps: 100}]}
journeys:
  - name: buyer
    steps:
      - request:
          name: checkout
          method: POST
          url: /checkout?user_id={{user}}
          purchase: true
          classify:
            - {status: 200, outcome: acknowledged}
            - {status: 409, outcome: sold_out, code: SOLD_OUT}
            - {status: 418, outcome: error}
      - request:
          name: limit
          url: /limited
          classify: [{status: 403, outcome: limited}]
`)
	res, err := Run(context.Background(), s, Options{Target: base, RunID: "c1", NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Summary.Requests
	teapots := q.ByStatus["418"]
	if teapots != 1 || q.Total != 100+20 || q.ByStatus["409"]+teapots != 80 || q.ByStatus["403"] != 20 {
		t.Fatalf("requests %+v", q)
	}
	if q.Errors != teapots || q.Failed != teapots || q.OK != q.Total-teapots {
		t.Errorf("errors %d failed %d ok %d of %d: only the %d answers classified as errors are errors", q.Errors, q.Failed, q.OK, q.Total, teapots)
	}
	want := map[string]int64{"acknowledged": 20, "SOLD_OUT": q.ByStatus["409"], "limited": 20}
	if teapots > 0 {
		want["error"] = teapots
	}
	for code, n := range want {
		if q.ByCode[code] != n {
			t.Errorf("by_code[%s] = %d, want %d (by_code %v)", code, q.ByCode[code], n, q.ByCode)
		}
	}
	if _, ok := q.ByCode[CodeOther]; ok {
		t.Errorf("by_code has %s: %v", CodeOther, q.ByCode)
	}
	if res.Summary.Audit.Undersold != 0 || res.Summary.Audit.Checked {
		t.Errorf("audit %+v (nothing to audit against)", res.Summary.Audit)
	}
}
