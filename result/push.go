package result

// Push is what the run's push-feed subscribers saw (subscribe steps, wait_until_open on a push
// feed, the crowd's watchers).
type Push struct {
	Connections     int64 `json:"-"` // held now: live snapshots only
	ConnectionsPeak int64 `json:"connections_peak"`
	// ConnectFailures counts dials the feed failed (refused, reset, a failed handshake), not
	// those the step's timeout or the run's end cut short.
	ConnectFailures int64 `json:"connect_failures"`
	// ServerCloses counts feeds the server closed while a subscriber still waited.
	ServerCloses int64 `json:"server_closes"`
	Messages     int64 `json:"messages"`
	// LatencyMs is the server's send time (sent_at_ns) to receipt, over messages that carry one:
	// exact on one machine, as good as the clocks' agreement across machines.
	LatencyMs PushLatency `json:"latency_ms"`
	// FanoutSpreadMs is the largest time from the first to the last receipt of one message (one
	// SKU and sequence number) over all subscribers: it needs no common clock.
	FanoutSpreadMs float64 `json:"fanout_spread_ms"`
}

// PushLatency is the push latency's percentiles, milliseconds.
type PushLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Herd is the crowd released at the opening: when the opening reached the first watcher, how
// many purchases its journeys sent in the first second after it, and their latency.
type Herd struct {
	Watchers       int64   `json:"watchers"`
	OpenedAtS      float64 `json:"opened_at_s"`       // run clock; the first watcher's receipt of the opening
	PurchasesFirst int64   `json:"purchases_first_s"` // purchase requests sent within 1 s of it
	Purchases      int64   `json:"purchases"`         // all the herd's purchase requests
	LatencyMs      struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"` // the herd's purchase requests, intended send to answer
}

// MergePush adds generators' push counts: failures, closes and messages are sums (exact);
// connections_peak is the sum of the peaks (an upper bound: the generators' peaks need not
// coincide); the latency percentiles and the spread are the largest of the generators' (an
// upper bound for the percentiles, exact for the maximum; a spread across generators compares
// clocks of different machines, so it is not formed).
func MergePush(a, b *Push) *Push {
	if a == nil {
		return clonePush(b)
	}
	if b == nil {
		return clonePush(a)
	}
	out := *a
	out.ConnectionsPeak += b.ConnectionsPeak
	out.ConnectFailures += b.ConnectFailures
	out.ServerCloses += b.ServerCloses
	out.Messages += b.Messages
	out.LatencyMs.P50 = max(a.LatencyMs.P50, b.LatencyMs.P50)
	out.LatencyMs.P90 = max(a.LatencyMs.P90, b.LatencyMs.P90)
	out.LatencyMs.P99 = max(a.LatencyMs.P99, b.LatencyMs.P99)
	out.LatencyMs.Max = max(a.LatencyMs.Max, b.LatencyMs.Max)
	out.FanoutSpreadMs = max(a.FanoutSpreadMs, b.FanoutSpreadMs)
	return &out
}

// MergeHerd adds generators' herds: watchers and purchases are sums (exact, each generator
// counting its first second from its own first receipt, which on a shared start differ by the
// push latency); opened_at_s is the earliest; the latency percentiles are the largest (an upper
// bound).
func MergeHerd(a, b *Herd) *Herd {
	if a == nil {
		return cloneHerd(b)
	}
	if b == nil {
		return cloneHerd(a)
	}
	out := *a
	out.Watchers += b.Watchers
	out.OpenedAtS = min(a.OpenedAtS, b.OpenedAtS)
	out.PurchasesFirst += b.PurchasesFirst
	out.Purchases += b.Purchases
	out.LatencyMs.P50 = max(a.LatencyMs.P50, b.LatencyMs.P50)
	out.LatencyMs.P99 = max(a.LatencyMs.P99, b.LatencyMs.P99)
	return &out
}

func clonePush(p *Push) *Push {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneHerd(h *Herd) *Herd {
	if h == nil {
		return nil
	}
	c := *h
	return &c
}
