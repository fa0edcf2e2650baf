package report

import "math"

// The concurrency table: for each number of requests in flight when a request was sent (the
// request itself included), how many were sent so and their mean service time. A target with c
// slots answers in about the same time up to c in flight and later above (the request queues
// behind n−c others): the knee of this table is what calibration reads the target's
// concurrency from (sim.Calibrate), and the rows up to the knee the service time of requests
// that did not queue (mean and standard deviation). Only the live engine fills it.

// MaxInFlight is the largest in-flight count the table keeps apart; more land in its last row.
const MaxInFlight = 1024

// ConcurrencyBin is one row of the table.
type ConcurrencyBin struct {
	InFlight      int     `json:"in_flight"`       // requests in flight once this one was sent, itself included
	Count         int64   `json:"count"`           // requests sent so
	ServiceMsMean float64 `json:"service_ms_mean"` // their mean service time
	ServiceMsSD   float64 `json:"service_ms_sd"`   // and its standard deviation

	// The requests of the row whose answer carried the target's own time (Server-Timing): how
	// many, that time's mean and standard deviation, and the mean of service time − server
	// time, the round trip outside the target.
	ServerCount     int64   `json:"server_count,omitempty"`
	ServerMsMean    float64 `json:"server_ms_mean,omitempty"`
	ServerMsSD      float64 `json:"server_ms_sd,omitempty"`
	RoundTripMsMean float64 `json:"round_trip_ms_mean,omitempty"`
}

// concTable accumulates the table in a Shard (and across shards): counts, service-time sums in
// microseconds and sums of their squares, by in-flight count.
type concTable struct {
	n      [MaxInFlight + 1]int64
	us, u2 [MaxInFlight + 1]float64
}

func (t *concTable) add(inFlight int32, us, n int64) {
	i := min(int(inFlight), MaxInFlight)
	t.n[i] += n
	t.us[i] += float64(us * n)
	t.u2[i] += float64(us) * float64(us) * float64(n)
}

func (t *concTable) merge(o *concTable) {
	for i := range t.n {
		t.n[i] += o.n[i]
		t.us[i] += o.us[i]
		t.u2[i] += o.u2[i]
	}
}

// bins are the table's non-empty rows, ascending.
func (t *concTable) bins() []ConcurrencyBin {
	var out []ConcurrencyBin
	for i, n := range t.n {
		if n > 0 {
			m := t.us[i] / float64(n)
			sd := math.Sqrt(math.Max(0, t.u2[i]/float64(n)-m*m))
			out = append(out, ConcurrencyBin{InFlight: i, Count: n, ServiceMsMean: m / 1000, ServiceMsSD: sd / 1000})
		}
	}
	return out
}

// addBins adds summary rows back into a table (merging runs).
func (t *concTable) addBins(bins []ConcurrencyBin) {
	for _, b := range bins {
		if b.InFlight > 0 && b.Count > 0 {
			i, n, m, sd := min(b.InFlight, MaxInFlight), float64(b.Count), b.ServiceMsMean*1000, b.ServiceMsSD*1000
			t.n[i] += b.Count
			t.us[i] += m * n
			t.u2[i] += (sd*sd + m*m) * n
		}
	}
}
