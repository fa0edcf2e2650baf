package result

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// window is one timeline window's histograms and counters (on a shard, or merged). srv, the
// target's own time (Result.Server), stays nil until an answer carries one.
//
// A harvested window that the dashboard no longer reads in full (all but the last complete one)
// is sealed: its histograms are kept in their encoded form (HdrHistogram V2, zlib-compressed,
// a few KiB) instead of as PackedHistograms (tens of KiB each at 10k answers/s), with the two
// latency percentiles the timeline shows. The run's memory then grows by the encoded size per
// window, not by the live histograms. Sealing is lossless: merge and Finish decode again.
type window struct {
	idx                            int64
	lat, svc, srv                  *hdr.PackedHistogram // nil while sealed
	n, arrivals, errs, shed, drops int64
	reps                           counterSet // answers per replica (Result.Replica)

	sealed                 bool
	latEnc, svcEnc, srvEnc []byte // the encoded histograms of a sealed window
	p50, p99               int64  // latency percentiles (µs) of a sealed window, 0 when it has none
}

// seal encodes the window's histograms and drops the decoded ones. A histogram that cannot be
// encoded keeps the window as it is.
func (w *window) seal() {
	if w.sealed {
		return
	}
	le, err := w.lat.Encode()
	if err != nil {
		return
	}
	se, err := w.svc.Encode()
	if err != nil {
		return
	}
	var re []byte
	if w.srv != nil {
		if re, err = w.srv.Encode(); err != nil {
			return
		}
	}
	w.p50, w.p99 = 0, 0
	if w.lat.TotalCount() > 0 {
		w.p50, w.p99 = w.lat.ValueAtPercentile(50), w.lat.ValueAtPercentile(99)
	}
	w.latEnc, w.svcEnc, w.srvEnc, w.lat, w.svc, w.srv, w.sealed = le, se, re, nil, nil, nil, true
}

// unseal decodes a sealed window's histograms back. They were encoded by seal in this process,
// so a decode error is a broken invariant.
func (w *window) unseal() {
	if !w.sealed {
		return
	}
	lat, err := hdr.DecodePacked(w.latEnc)
	if err != nil {
		panic("report: decoding a sealed window's latency histogram: " + err.Error())
	}
	svc, err := hdr.DecodePacked(w.svcEnc)
	if err != nil {
		panic("report: decoding a sealed window's service-time histogram: " + err.Error())
	}
	var srv *hdr.PackedHistogram
	if w.srvEnc != nil {
		if srv, err = hdr.DecodePacked(w.srvEnc); err != nil {
			panic("report: decoding a sealed window's server-time histogram: " + err.Error())
		}
	}
	w.lat, w.svc, w.srv, w.latEnc, w.svcEnc, w.srvEnc, w.sealed = lat, svc, srv, nil, nil, nil, false
}

// histograms returns the window's histograms, decoded afresh when it is sealed (the window stays
// sealed), else clones.
func (w *window) histograms() (lat, svc *hdr.PackedHistogram) {
	if !w.sealed {
		return w.lat.Clone(), w.svc.Clone()
	}
	c := *w
	c.unseal()
	return c.lat, c.svc
}

// handOver returns the window's histograms for a finished run: its own when it is not sealed,
// since a finished Recorder no longer changes its windows (Snapshot reads them, harvest stops),
// else decoded afresh. A day's windows are a few thousand histograms: cloning them was a
// sizeable share of finishing a simulated day.
func (w *window) handOver() (lat, svc *hdr.PackedHistogram) {
	if !w.sealed {
		return w.lat, w.svc
	}
	return w.histograms()
}

func newWindow(idx int64) *window { return &window{idx: idx, lat: newPacked(), svc: newPacked()} }

func (w *window) merge(o *window) {
	w.unseal()
	o.unseal()
	w.lat.Merge(o.lat)
	w.svc.Merge(o.svc)
	if o.srv != nil {
		if w.srv == nil {
			w.srv = newPacked()
		}
		w.srv.Merge(o.srv)
	}
	w.addCounts(o)
}

// addCounts adds o's counters (not its histograms) to w's.
func (w *window) addCounts(o *window) {
	w.n += o.n
	w.arrivals += o.arrivals
	w.errs += o.errs
	w.shed += o.shed
	w.drops += o.drops
	o.reps.mergeInto(&w.reps)
}

// mergeAll merges windows into w. Many are summed in dense tallies first and merged into w's
// sparse histograms once: each sparse merge costs w's size, which for the run's total is large.
func (w *window) mergeAll(ws []*window) {
	if len(ws) < 8 {
		for _, o := range ws {
			w.merge(o)
		}
		return
	}
	w.unseal()
	var lat, svc, srv denseTally
	for _, o := range ws {
		o.unseal()
		lat.addPacked(o.lat)
		svc.addPacked(o.svc)
		if o.srv != nil {
			srv.addPacked(o.srv)
		}
		w.addCounts(o)
	}
	lat.drain(w.lat)
	svc.drain(w.svc)
	if srv.n > 0 {
		if w.srv == nil {
			w.srv = newPacked()
		}
		srv.drain(w.srv)
	}
}
