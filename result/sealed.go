package result

import (
	"fmt"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Sealed is what a Recorder added to its closed windows since the previous Seal, with the run's
// counters so far: what a generator publishes so that another process (flashload watch) can
// merge many generators live. Windows are deltas: a window that late answers reopened after it
// was published comes again with only what they added, so the sum of every Sealed of a run is
// exactly the finished Run's windows (HDR histograms add). It is plain data and encodes as JSON.
type Sealed struct {
	Name     string         `json:"name,omitempty"`
	Wall     time.Duration  `json:"wall"`               // run clock when sealed
	Window   time.Duration  `json:"window"`             // timeline window
	Duration time.Duration  `json:"duration,omitempty"` // the run's expected length, 0 when unknown
	Windows  []SealedWindow `json:"windows,omitempty"`
	// Counters over the whole run so far (not deltas): a later Sealed replaces an earlier one.
	Requests Requests         `json:"requests"`
	Rates    map[string]Ratio `json:"rates,omitempty"`
	Gauges   *Gauges          `json:"gauges,omitempty"` // the last reading of the sale, nil without one
	Final    bool             `json:"final,omitempty"`  // sealed after Finish: nothing more will come
}

// SealedWindow is what one window gained: its histograms encoded (HdrHistogram V2, compressed,
// as a sealed window keeps them; empty when it gained no answers) and its counters. Target is
// the expected arrivals of the window's span, sent once, with the window's first publication.
type SealedWindow struct {
	Index       int64   `json:"i"`
	Latency     []byte  `json:"lat,omitempty"`
	ServiceTime []byte  `json:"svc,omitempty"`
	ServerTime  []byte  `json:"srv,omitempty"` // the target's own times, empty when no answer carried one
	Requests    int64   `json:"n,omitempty"`
	Arrivals    int64   `json:"arrivals,omitempty"`
	Errors      int64   `json:"errors,omitempty"`
	Shed        int64   `json:"shed,omitempty"`
	Dropped     int64   `json:"dropped,omitempty"`
	Target      float64 `json:"target,omitempty"`
}

// keep adds what a harvest moved into window idx to the part not yet sealed (RecorderOptions.Publish).
// Called with r.mu held, before d is stored (d is then owned by r.windows).
func (r *Recorder) keep(idx int64, d *window) {
	if !r.opts.Publish {
		return
	}
	if r.pending == nil {
		r.pending = map[int64]*window{}
	}
	p := r.pending[idx]
	if p == nil {
		p = newWindow(idx)
		r.pending[idx] = p
	}
	p.merge(d)
}

// Seal returns what the closed windows gained since the last Seal (windows before now's; after
// Finish, all of them) with the counters so far. It needs RecorderOptions.Publish, else its
// Windows are empty. Call it once per window while the run goes on and once after Finish.
func (r *Recorder) Seal(now time.Duration) Sealed {
	c := r.counters()
	r.mu.Lock()
	defer r.mu.Unlock()
	nowIdx := int64(0)
	if now > 0 {
		nowIdx = int64(now / r.win)
	}
	if r.finished {
		nowIdx = int64((now + r.win - 1) / r.win)
	} else {
		r.harvest(nowIdx, true)
	}
	out := Sealed{Name: r.opts.Name, Wall: now, Window: r.win, Duration: r.opts.Duration, Final: r.finished,
		Requests: c.requests(), Rates: c.ratios}
	if r.hasGauge {
		g := r.last
		out.Gauges = &g
	}
	hi := nowIdx
	for idx := range r.pending {
		hi = max(hi, idx+1)
	}
	for idx := range hi {
		p := r.pending[idx]
		if p == nil && idx < r.pubNext {
			continue
		}
		sw := SealedWindow{Index: idx}
		if idx >= r.pubNext {
			start := time.Duration(idx) * r.win
			stop := start + r.win
			if r.finished && now > start {
				stop = min(stop, now) // as point() reads the last, short window
			}
			sw.Target = r.targetRPS(start, stop) * (stop - start).Seconds()
		}
		if p != nil {
			lat, err1 := p.lat.Encode()
			svc, err2 := p.svc.Encode()
			var srv []byte
			var err3 error
			if p.srv != nil {
				srv, err3 = p.srv.Encode()
			}
			if err1 != nil || err2 != nil || err3 != nil {
				// Encoding a histogram of our own geometry does not fail; if it ever did, the
				// window stays pending and goes with the next Seal.
				continue
			}
			sw.Latency, sw.ServiceTime, sw.ServerTime = lat, svc, srv
			sw.Requests, sw.Arrivals, sw.Errors, sw.Shed, sw.Dropped = p.n, p.arrivals, p.errs, p.shed, p.drops
			delete(r.pending, idx)
		}
		out.Windows = append(out.Windows, sw)
	}
	r.pubNext = max(r.pubNext, hi)
	return out
}

// SetStartedAt sets the run's start (the instant its clock reads zero) when it is known only
// after the Recorder was made: coordinated generators start at a shared instant.
func (r *Recorder) SetStartedAt(t time.Time) {
	r.mu.Lock()
	r.opts.StartedAt = t
	r.mu.Unlock()
}

// requests is the counters' Requests block.
func (c counters) requests() Requests {
	return Requests{Total: c.total, Arrivals: c.arrivals, OK: c.ok, Failed: c.errs + c.shed, Errors: c.errs, Shed: c.shed,
		Dropped: c.dropped, Retries: c.retries, ByStatus: c.byStatus, ByCode: c.byCode, ByError: c.byError,
		ByStep: c.byStep, ByJourney: c.byJourney, DroppedBy: nilIfEmpty(c.byDrop)}
}

func nilIfEmpty(m map[string]int64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	return m
}

// decode turns a SealedWindow back into a window.
func (sw *SealedWindow) decode() (*window, error) {
	w := newWindow(sw.Index)
	for _, h := range []struct {
		enc []byte
		dst **hdr.PackedHistogram
	}{{sw.Latency, &w.lat}, {sw.ServiceTime, &w.svc}, {sw.ServerTime, &w.srv}} {
		if len(h.enc) == 0 {
			continue
		}
		d, err := hdr.DecodePacked(h.enc)
		if err != nil {
			return nil, fmt.Errorf("window %d: %w", sw.Index, err)
		}
		*h.dst = d
	}
	w.n, w.arrivals, w.errs, w.shed, w.drops = sw.Requests, sw.Arrivals, sw.Errors, sw.Shed, sw.Dropped
	return w, nil
}

// sortedIdx returns the keys of a window map in order.
func sortedIdx[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
