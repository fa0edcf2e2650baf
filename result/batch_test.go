package result

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/flashload/flashload/outcome"
)

// Every value's bucket is the histogram's own: bucketValue(bucketOf(v)) is the lowest value
// of v's bucket in the dense HDR histogram of the same geometry.
func TestBatchBucketsAreTheHistogramsOwn(t *testing.T) {
	h := hdr.New(HistLowest, HistHighest, HistSigFigs)
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []int64{0, 1, 2047, 2048, 2049, 4095, 4096, 1 << 20, HistHighest, HistHighest - 1}
	for range 100000 {
		vals = append(vals, rng.Int64N(HistHighest+1)>>rng.IntN(37))
	}
	bucketsLen := bucketOf(HistHighest) + 1 // 2048 sub-buckets, the lower half shared with the bucket below
	for _, v := range vals {
		i := bucketOf(v)
		if i < 0 || i >= bucketsLen {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, bucketsLen)
		}
		lo := bucketValue(i)
		if !h.ValuesAreEquivalent(v, lo) || (lo > 0 && h.ValuesAreEquivalent(lo-1, lo)) {
			t.Fatalf("value %d: bucket %d starts at %d, not where the histogram's bucket of %d does", v, i, lo, v)
		}
	}
}

// RecordBatch is RecordN once per added value: the same summary and histograms.
func TestRecordBatchEqualsRecordN(t *testing.T) {
	opts := RecorderOptions{Name: "b", Mode: "sim", Window: time.Second, Duration: 4 * time.Second}
	one, batched := NewRecorder(opts), NewRecorder(opts)
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := []Result{
		{Status: 201, Code: "RESERVED", Step: "purchase", Journey: "rusher", First: true},
		{Status: 410, Code: "SOLD_OUT", Step: "purchase", Journey: "rusher", Retry: true},
		{Status: 503, Code: "SHED", Step: "view", Journey: "browser"},
		{Err: outcome.ErrTimeout, Step: "view"},
		{Status: 200, Journey: "browser", Bytes: 10},
		{Status: 201, Code: "RESERVED", Step: "purchase", Journey: "rusher", Replica: "r1"},
	}
	for win := range 4 {
		var bs []*Batch
		for si, shape := range shapes {
			b := &Batch{Result: shape}
			b.Done = time.Duration(win)*time.Second + 500*time.Millisecond
			for range 200 {
				at := time.Duration(win)*time.Second + time.Duration(rng.Int64N(int64(400*time.Millisecond)))
				lat := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
				lat = min(lat, time.Duration(win+1)*time.Second-at-1)
				var server time.Duration
				if si%2 == 0 {
					server = lat * 9 / 10
				}
				n := 1 + rng.Int64N(1000)
				r := shape
				r.Intended, r.Sent, r.Done, r.Server = at, at, at+lat, server
				one.Shard(0).RecordN(&r, n)
				b.Add(lat, server, n)
			}
			if si == 1 {
				batched.Snapshot(time.Duration(win) * time.Second) // harvests between batches
			}
			if win%2 == 0 {
				batched.Shard(0).RecordBatch(b)
			} else {
				bs = append(bs, b) // a window's batches in one call
			}
		}
		batched.Shard(0).RecordBatch(bs...)
		for _, b := range bs {
			if b.N() != 0 {
				t.Fatalf("batch not emptied: %d", b.N())
			}
		}
	}
	end := 4 * time.Second
	a, b := one.Finish(end), batched.Finish(end)
	ja, _ := json.Marshal(a.Summary)
	jb, _ := json.Marshal(b.Summary)
	if !bytes.Equal(ja, jb) {
		t.Errorf("summaries differ:\n RecordN %s\n   batch %s", ja, jb)
	}
	da, db := t.TempDir(), t.TempDir()
	if err := a.Write(da); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(db); err != nil {
		t.Fatal(err)
	}
	ha, _ := os.ReadFile(filepath.Join(da, "histograms.hlog"))
	hb, _ := os.ReadFile(filepath.Join(db, "histograms.hlog"))
	if len(ha) == 0 || !bytes.Equal(ha, hb) {
		t.Errorf("histograms.hlog differ (%d and %d bytes)", len(ha), len(hb))
	}
}

// mergeAll (dense sums, one sparse merge) gives the window that merging one by one does.
func TestWindowMergeAllEqualsMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ws []*window
	for i := range 20 {
		w := newWindow(int64(i))
		for range 300 {
			v := int64(rng.ExpFloat64() * 5000)
			_ = w.lat.RecordValues(v, 1+rng.Int64N(9))
			_ = w.svc.RecordValues(v/2, 1)
			if i%3 == 0 {
				if w.srv == nil {
					w.srv = newPacked()
				}
				_ = w.srv.RecordValues(v/3, 2)
			}
		}
		w.n, w.arrivals, w.errs, w.shed, w.drops = int64(i), 1, 2, 3, 4
		w.reps.add("r"+string(rune('a'+i%3)), int64(i+1))
		ws = append(ws, w)
	}
	one, all := newWindow(-1), newWindow(-1)
	_ = one.lat.RecordValues(7, 1) // a total that already holds something
	_ = all.lat.RecordValues(7, 1)
	for _, w := range ws {
		one.merge(w)
	}
	all.mergeAll(ws)
	for _, pair := range [][2]*hdr.PackedHistogram{{one.lat, all.lat}, {one.svc, all.svc}, {one.srv, all.srv}} {
		a, _ := pair[0].Encode()
		b, _ := pair[1].Encode()
		if !bytes.Equal(a, b) || pair[0].TotalCount() != pair[1].TotalCount() {
			t.Fatalf("histograms differ: %d and %d values", pair[0].TotalCount(), pair[1].TotalCount())
		}
	}
	if one.n != all.n || one.arrivals != all.arrivals || one.errs != all.errs || one.shed != all.shed || one.drops != all.drops ||
		!reflect.DeepEqual(one.reps.toMap(), all.reps.toMap()) {
		t.Fatalf("counters differ: %+v and %+v", one, all)
	}
}
