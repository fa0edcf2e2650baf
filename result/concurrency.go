package result

import "math"

// The concurrency table: for each number of requests in flight when a request was sent (the
// request itself included), how many were sent so and their mean service time. A target with c
// slots answers in about the same time up to c in flight and later above (the request queues
// behind n−c others): the knee of this table is what calibration reads the target's
// concurrency from (sim.Calibrate), and the rows up to the knee the service time of requests
// that did not queue (mean and standard deviation). Only the live engine fills it. Where the
// target reports its own time for an answer (Server-Timing: Result.Server), a row also gives the
// mean and deviation of that time over those answers and their mean round trip outside the
// target (service time − server time): what calibration subtracts from the service time.

// MaxInFlight is the largest in-flight count the table keeps apart; more land in its last row.
const MaxInFlight = 1024

// ConcurrencyBin is one row of the table.
type ConcurrencyBin struct {
	InFlight      int     `json:"in_flight"`       // requests in flight once this one was sent, itself included
	Count         int64   `json:"count"`           // requests sent so
	ServiceMsMean float64 `json:"service_ms_mean"` // their mean service time
	ServiceMsSD   float64 `json:"service_ms_sd"`   // and its standard deviation
	// Of the requests whose answer carried a server time (Server-Timing): how many, the mean
	// and deviation of that time, and the mean of service time − server time.
	ServerCount     int64   `json:"server_count,omitempty"`
	ServerMsMean    float64 `json:"server_ms_mean,omitempty"`
	ServerMsSD      float64 `json:"server_ms_sd,omitempty"`
	RoundTripMsMean float64 `json:"round_trip_ms_mean,omitempty"`
}

// concTable accumulates the table in a Shard (and across shards): counts, service-time sums in
// microseconds and sums of their squares, by in-flight count; and for the answers with a server
// time, their count, its sums and sums of squares, and the sums of the round trips.
type concTable struct {
	n, sn          [MaxInFlight + 1]int64
	us, u2, ss, s2 [MaxInFlight + 1]float64
	rt             [MaxInFlight + 1]float64
}

// add counts n requests of service time us (µs); srv is their server time (µs), ignored when
// !hasSrv.
func (t *concTable) add(inFlight int32, us, srv int64, hasSrv bool, n int64) {
	i := min(int(inFlight), MaxInFlight)
	t.n[i] += n
	t.us[i] += float64(us * n)
	t.u2[i] += float64(us) * float64(us) * float64(n)
	if hasSrv {
		t.sn[i] += n
		t.ss[i] += float64(srv * n)
		t.s2[i] += float64(srv) * float64(srv) * float64(n)
		t.rt[i] += float64((us - srv) * n)
	}
}

func (t *concTable) merge(o *concTable) {
	for i := range t.n {
		t.n[i] += o.n[i]
		t.us[i] += o.us[i]
		t.u2[i] += o.u2[i]
		t.sn[i] += o.sn[i]
		t.ss[i] += o.ss[i]
		t.s2[i] += o.s2[i]
		t.rt[i] += o.rt[i]
	}
}

// meanSD is the mean and standard deviation of n values from their sum and sum of squares.
func meanSD(n int64, sum, sum2 float64) (mean, sd float64) {
	mean = sum / float64(n)
	return mean, math.Sqrt(math.Max(0, sum2/float64(n)-mean*mean))
}

// bins are the table's non-empty rows, ascending.
func (t *concTable) bins() []ConcurrencyBin {
	var out []ConcurrencyBin
	for i, n := range t.n {
		if n > 0 {
			m, sd := meanSD(n, t.us[i], t.u2[i])
			b := ConcurrencyBin{InFlight: i, Count: n, ServiceMsMean: m / 1000, ServiceMsSD: sd / 1000}
			if sn := t.sn[i]; sn > 0 {
				sm, ssd := meanSD(sn, t.ss[i], t.s2[i])
				b.ServerCount, b.ServerMsMean, b.ServerMsSD = sn, sm/1000, ssd/1000
				b.RoundTripMsMean = t.rt[i] / float64(sn) / 1000
			}
			out = append(out, b)
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
			if b.ServerCount > 0 {
				sn, sm, ssd := float64(b.ServerCount), b.ServerMsMean*1000, b.ServerMsSD*1000
				t.sn[i] += b.ServerCount
				t.ss[i] += sm * sn
				t.s2[i] += (ssd*ssd + sm*sm) * sn
				t.rt[i] += b.RoundTripMsMean * 1000 * sn
			}
		}
	}
}
