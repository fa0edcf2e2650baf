package target

import (
	"testing"
	"time"

	"github.com/flashload/flashload/target/inventory"
)

func TestLadderPrice(t *testing.T) {
	seed := DefaultLadder
	tests := []struct {
		name       string
		list, cost float64
		l          Ladder
		elapsed    time.Duration
		want       float64
	}{
		{"opening at 120% of list", 100, 50, seed, 0, 120},
		{"before the start counts as the opening", 100, 50, seed, -time.Hour, 120},
		{"59 minutes: still the first step", 100, 50, seed, 59 * time.Minute, 120},
		{"one hour: 5% of list off", 100, 50, seed, time.Hour, 115},
		{"three and a half hours", 100, 50, seed, 210 * time.Minute, 105},
		{"floor at 110% of cost", 100, 90, seed, 10 * time.Hour, 99},
		{"just above the floor", 100, 90, seed, 4 * time.Hour, 100},
		{"far past the floor", 100, 90, seed, 100 * time.Hour, 99},
		{"zero fields take the seeds' defaults", 3999, 2800, Ladder{}, 2 * time.Hour, 4398.9},
		{"custom steps", 200, 0, Ladder{Start: 1, Step: 0.1, Every: time.Minute}, 3 * time.Minute, 140},
		{"no cost: never below zero", 10, 0, Ladder{Start: 1, Step: 0.5, Every: time.Second}, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LadderPrice(tt.list, tt.cost, tt.l, tt.elapsed); got != tt.want {
				t.Fatalf("LadderPrice = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGroupDiscount(t *testing.T) {
	for _, tt := range []struct {
		members int
		want    float64
	}{{0, 1}, {1, 1}, {2, 0.9}, {4, 0.9}, {5, 0.8}, {9, 0.8}, {10, 0.7}, {11, 0.7}} {
		if got := GroupDiscount(tt.members); got != tt.want {
			t.Errorf("GroupDiscount(%d) = %v, want %v", tt.members, got, tt.want)
		}
	}
}

func TestFirstNHalf(t *testing.T) {
	for _, tt := range []struct{ taken, qty, n, want int64 }{
		{0, 1, 100, 1}, {99, 1, 100, 1}, {100, 1, 100, 0}, {98, 5, 100, 2}, {0, 5, 0, 0}, {150, 2, 100, 0}, {0, 3, 100, 3},
	} {
		if got := FirstNHalf(tt.taken, tt.qty, tt.n); got != tt.want {
			t.Errorf("FirstNHalf(%d,%d,%d) = %d, want %d", tt.taken, tt.qty, tt.n, got, tt.want)
		}
	}
}

func TestUnitPriceAndTotal(t *testing.T) {
	tests := []struct {
		name       string
		list, cost float64
		ladder     *Ladder
		elapsed    time.Duration
		group      float64
		coupon     bool
		qty, half  int64
		wantUnit   float64
		wantTotal  float64
	}{
		{"list price", 100, 0, nil, 0, 1, false, 1, 0, 100, 100},
		{"first-N half price", 100, 0, nil, 0, 1, false, 1, 1, 100, 50},
		{"two of three at half", 100, 0, nil, 0, 1, false, 3, 2, 100, 200},
		{"group of 5 on the ladder", 100, 50, &DefaultLadder, time.Hour, 0.8, false, 1, 0, 92, 92},
		{"team coupon after a group of 2", 100, 0, nil, 0, 0.9, true, 2, 0, 81, 162},
		{"cents are rounded", 9.99, 0, nil, 0, 0.7, false, 1, 1, 6.99, 3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := UnitPrice(tt.list, tt.cost, tt.ladder, tt.elapsed, tt.group, tt.coupon)
			if u != tt.wantUnit {
				t.Fatalf("UnitPrice = %v, want %v", u, tt.wantUnit)
			}
			if got := inventory.Total(u, tt.qty, tt.half); got != tt.wantTotal {
				t.Fatalf("Total = %v, want %v", got, tt.wantTotal)
			}
		})
	}
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 678_900_000, time.FixedZone("x", 8*3600)),
		time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	} {
		want := tm.UTC().Format(timeLayout)
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestFastQty(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
		qty  int64
	}{
		{`{"qty":1}`, true, 1}, {`{"qty":1234567}`, true, 1234567}, {`{"qty":0}`, true, 0},
		{`{"qty":01}`, false, 0}, {`{"qty":-1}`, false, 0}, {`{"qty":1.5}`, false, 0},
		{`{"qty":}`, false, 0}, {`{"qty": 1}`, false, 0}, {`{"qty":12345678}`, false, 0},
	} {
		var q int64
		if ok := fastQty([]byte(tt.body), &q); ok != tt.ok || ok && q != tt.qty {
			t.Errorf("fastQty(%s) = %d, %v; want %d, %v", tt.body, q, ok, tt.qty, tt.ok)
		}
	}
}
