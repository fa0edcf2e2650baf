package result

import (
	"math"
	"testing"
)

// trace makes a decision trace every 15 s from the desired counts (ready lags one decision).
func trace(desired ...int) []ScalePoint {
	out := make([]ScalePoint, len(desired))
	for i, d := range desired {
		out[i] = ScalePoint{T: float64(15 * (i + 1)), Desired: d, Ready: d}
		if i > 0 {
			out[i].Ready = desired[i-1]
		}
	}
	return out
}

func TestCompareScale(t *testing.T) {
	ramp := trace(2, 2, 4, 6, 6, 6, 4, 2, 2)
	for _, tc := range []struct {
		name      string
		live      []ScalePoint
		agree     bool
		maxRep    int
		maxLag    float64
		misses    int
		decisions int
	}{
		{"identical", ramp, true, 0, 0, 0, 9},
		{"one period late", trace(2, 2, 2, 4, 6, 6, 6, 4, 2), true, 2, 15, 0, 9},
		{"one replica short at the peak", trace(2, 2, 4, 5, 5, 5, 4, 2, 2), true, 1, 0, 0, 9},
		{"two periods late", trace(2, 2, 2, 2, 4, 6, 6, 6, 4), false, 4, 30, 4, 9},
		{"two replicas short", trace(2, 2, 4, 4, 4, 4, 4, 2, 2), false, 2, 30, 1, 9},
	} {
		d := CompareScale(tc.live, ramp)
		if d.Agree() != tc.agree || d.MaxReplicas != tc.maxRep || d.MaxLagS != tc.maxLag || d.Misses != tc.misses ||
			d.Decisions != tc.decisions || d.PeriodS != 15 {
			t.Errorf("%s: %+v (agree %v), want agree %v, ±%d, lag %v, %d misses of %d", tc.name, d, d.Agree(), tc.agree, tc.maxRep, tc.maxLag, tc.misses, tc.decisions)
		}
	}
	// A live autoscaler decides a little after each period (its tick): still matched to the
	// prediction's decision of the same period.
	late := trace(2, 2, 2, 4, 6, 6, 6, 4, 2)
	for i := range late {
		late[i].T += 0.4
	}
	if d := CompareScale(late, ramp); !d.Agree() || d.MaxLagS != 15 {
		t.Errorf("one period and a tick late: %+v, want agreement with a 15 s lag", d)
	}
	if d := CompareScale(trace(9, 9), ramp); d.Agree() || !math.IsInf(d.MaxLagS, 1) || d.Misses != 2 {
		t.Errorf("never within one replica: %+v", d)
	}
	if d := CompareScale(nil, ramp); d.Agree() || d.Decisions != 0 {
		t.Errorf("no live decisions: %+v agrees", d)
	}
	if d := CompareScale(ramp, nil); d.Agree() {
		t.Errorf("no prediction: %+v agrees", d)
	}
}

func TestScaleLevels(t *testing.T) {
	got := ScaleLevels(trace(2, 2, 4, 6, 6, 3, 2, 2))
	want := []int{2, 4, 6, 3, 2}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}
