package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestPoolGrows: sessions that take longer than the plan (a 40 ms target at 200/s needs about 8
// workers, the plan says 2) get more workers up to MaxWorkers instead of dropped arrivals; with
// the pool bounded at the plan, arrivals are dropped and the summary names the limit: the pool's
// bound (max-workers), or every connection busy (max-conns).
func TestPoolGrows(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond)
		w.WriteHeader(409)
		w.Write([]byte(`{"code":"SOLD_OUT"}`))
	}))
	defer srv.Close()
	s := mustParse(t, constantScenario(200, "1s", ""))
	for _, c := range []struct {
		name                string
		workers, max, conns int
		wantDrops           bool
		reason              string
	}{
		{"grows", 2, 64, 32, false, ""},
		{"bounded", 2, 2, 32, true, "max-workers"},
		{"connections", 4, 4, 2, true, "max-conns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Run(context.Background(), s, Options{Target: srv.URL, NoPreflight: true, NoAudit: true,
				Workers: c.workers, MaxWorkers: c.max, MaxConns: c.conns, ConnWaitTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			req := res.Summary.Requests
			t.Logf("%d requests, %d dropped %v", req.Total, req.Dropped, req.DroppedBy)
			if !c.wantDrops {
				if req.Dropped != 0 || req.Total != 200 {
					t.Errorf("%d requests, %d dropped (%v); want 200, none", req.Total, req.Dropped, req.DroppedBy)
				}
				return
			}
			if req.Dropped == 0 || req.DroppedBy[c.reason] == 0 || req.Total+req.Dropped != 200 {
				t.Errorf("%d requests, %d dropped by %v; want drops by %s", req.Total, req.Dropped, req.DroppedBy, c.reason)
			}
		})
	}
}
