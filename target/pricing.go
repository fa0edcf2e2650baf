package target

import (
	"math"
	"time"
)

// Ladder is the ladder price of a flash sale: start at Start × list price, take Step × list price off
// every Every, and never go below FloorOverCost × cost.
type Ladder struct {
	Start         float64
	Step          float64
	Every         time.Duration
	FloorOverCost float64
}

// DefaultLadder is the usual rule: 120% of list, 5% of list off every hour, floor 110% of cost.
var DefaultLadder = Ladder{Start: 1.2, Step: 0.05, Every: time.Hour, FloorOverCost: 1.1}

// withDefaults fills zero fields from DefaultLadder.
func (l Ladder) withDefaults() Ladder {
	if l.Start == 0 {
		l.Start = DefaultLadder.Start
	}
	if l.Step == 0 {
		l.Step = DefaultLadder.Step
	}
	if l.Every <= 0 {
		l.Every = DefaultLadder.Every
	}
	if l.FloorOverCost == 0 {
		l.FloorOverCost = DefaultLadder.FloorOverCost
	}
	return l
}

// LadderPrice is the unit price after elapsed time on sale (negative elapsed counts as 0).
func LadderPrice(list, cost float64, l Ladder, elapsed time.Duration) float64 {
	l = l.withDefaults()
	steps := 0.0
	if elapsed > 0 {
		steps = math.Floor(float64(elapsed) / float64(l.Every))
	}
	p := list*l.Start - list*l.Step*steps
	if floor := cost * l.FloorOverCost; p < floor {
		p = floor
	}
	if p < 0 {
		p = 0
	}
	return round2(p)
}

// Group-buy tiers: 2 buyers 90%, 5 buyers 80%, 10 buyers 70%.
const (
	GroupMax = 10 // members a group can hold
)

// GroupDiscount is the price factor of a group with members buyers.
func GroupDiscount(members int) float64 {
	switch {
	case members >= 10:
		return 0.7
	case members >= 5:
		return 0.8
	case members >= 2:
		return 0.9
	}
	return 1
}

// CouponTeam3 is the team coupon: a group of 3 unlocks it for its members (the
// "invite 3 to team up" mechanic). It takes TeamCouponFactor off the unit price.
const (
	CouponTeam3       = "TEAM3"
	TeamCouponMembers = 3
	TeamCouponFactor  = 0.9
)

// FirstNHalf is how many of qty units, the first of which has rank taken (0-based count of
// units handed out before), are within the first n and so go at half price.
func FirstNHalf(taken, qty, n int64) int64 {
	h := n - taken
	switch {
	case h <= 0:
		return 0
	case h > qty:
		return qty
	}
	return h
}

// UnitPrice is the price of one unit before first-N: the ladder (when set) or the list price,
// times the group factor, times the coupon factor, in cents.
func UnitPrice(list, cost float64, ladder *Ladder, elapsed time.Duration, groupFactor float64, coupon bool) float64 {
	p := list
	if ladder != nil {
		p = LadderPrice(list, cost, *ladder, elapsed)
	}
	if groupFactor > 0 {
		p *= groupFactor
	}
	if coupon {
		p *= TeamCouponFactor
	}
	return round2(p)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
