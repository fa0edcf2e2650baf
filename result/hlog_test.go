package result

import (
	"bytes"
	"math/rand/v2"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The interval lines made on every core are those the log writer makes one after another, in
// order, across blocks.
func TestWriteIntervalsInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	var hs []*hdr.PackedHistogram
	for i := range 150 {
		h := newPacked()
		for range 1 + rng.IntN(300) {
			_ = h.RecordValues(int64(rng.ExpFloat64()*2000), 1+rng.Int64N(5))
		}
		h.SetTag(TagLatency)
		h.SetStartTimeMs(1_700_000_000_000 + int64(i)*1000)
		h.SetEndTimeMs(1_700_000_001_000 + int64(i)*1000)
		hs = append(hs, h)
	}
	var want bytes.Buffer
	lw := hdr.NewHistogramLogWriter(&want)
	lw.SetBaseTime(1_700_000_000_000)
	for _, h := range hs {
		if err := lw.OutputIntervalPackedHistogram(h); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	if err := writeIntervals(&got, 1_700_000_000_000, hs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("lines differ (%d and %d bytes)", got.Len(), want.Len())
	}
}
