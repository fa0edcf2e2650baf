package scenario

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Subscribe holds a push feed (WebSocket or server-sent events) open until a condition: the
// SKU's sale opens, it sells out, or a message matches. With SKU it reads flashload's target
// feed of that SKU; with URL any service's feed (until: message only).
type Subscribe struct {
	SKU       string     `yaml:"sku"`
	URL       string     `yaml:"url"`
	Via       string     `yaml:"via"`   // ws (default) or sse
	Until     string     `yaml:"until"` // open (default with sku), sold_out, message (default with url)
	Match     *JSONMatch `yaml:"match"` // until: message: the message whose field equals the value
	Timeout   Duration   `yaml:"timeout"`
	Reconnect bool       `yaml:"reconnect"` // a feed the server closes is dialled again instead of ending the journey
}

// Crowd is the countdown crowd: Watchers people arrive uniformly over the From window before the
// SKU's sale opens, each holding a subscription to the SKU's feed, and at the opening each one
// plays Journey: the herd. They come on top of the traffic curve's arrivals.
type Crowd struct {
	SKU      string   `yaml:"sku"`
	Watchers int      `yaml:"watchers"`
	From     Duration `yaml:"from"`    // scenario time before the opening; default 10m
	Via      string   `yaml:"via"`     // ws (default) or sse
	Journey  string   `yaml:"journey"` // the journey each watcher plays at the opening
}

// Subscription defaults.
const (
	DefaultSubscribeTimeout = 30 * time.Minute
	DefaultCrowdFrom        = 10 * time.Minute
	// CrowdWatchersMax bounds one generator's crowd (each watcher holds a connection).
	CrowdWatchersMax = 1_000_000
)

// The conditions a subscription waits for.
const (
	UntilOpen    = "open"
	UntilSoldOut = "sold_out"
	UntilMessage = "message"
)

// FeedFields are the fields every message of flashload's target feed carries; a match on a SKU
// feed names one of them.
var FeedFields = []string{"sku", "state", "available", "seq", "sent_at_ns"}

// Cond is a compiled subscribe condition.
type Cond struct {
	Until   string // UntilOpen, UntilSoldOut or UntilMessage
	Field   string // until: message: the field matched
	Equals  string
	Via     string // ws or sse
	URL     string // a url: feed; empty for the target's SKU feed
	Timeout time.Duration
	// Reconnect dials a feed again when the server closes it mid-wait.
	Reconnect bool
}

// Holds reports whether a message of flashload's target (state, and the raw message for
// match) satisfies the condition. field looks a field up in the raw message.
func (c *Cond) Holds(state string, field func(name string) (string, bool)) bool {
	switch c.Until {
	case UntilOpen:
		// A sale that opened and already sold out or ended has opened too: a late watcher goes on.
		return state == "open" || state == "sold_out" || state == "ended"
	case UntilSoldOut:
		return state == "sold_out" || state == "ended"
	case UntilMessage:
		v, ok := field(c.Field)
		return ok && v == c.Equals
	}
	return false
}

// compileSubscribe fills a subscribe instruction.
func compileSubscribe(in *Instr, s *Subscribe) {
	in.Op, in.SKU = OpSubscribe, s.SKU
	c := &Cond{Until: s.Until, Via: s.Via, URL: s.URL, Timeout: s.Timeout.D(), Reconnect: s.Reconnect}
	if s.Match != nil {
		c.Field, c.Equals = s.Match.Field, s.Match.Equals
	}
	in.Cond = c
}

// validateSubscribe checks a subscribe step and fills its defaults.
func (v *validator) validateSubscribe(p string, s *Subscribe) {
	switch {
	case s.SKU == "" && s.URL == "":
		v.problem(p, "needs sku (the target's feed of a SKU) or url (any feed)")
	case s.SKU != "" && s.URL != "":
		v.problem(p, "sku and url are exclusive")
	case s.SKU != "":
		v.sku(p+".sku", &s.SKU, true)
	default:
		u, err := url.Parse(s.URL)
		if err != nil || u.Host == "" || !strings.Contains("http https ws wss", u.Scheme) || u.Scheme == "" {
			v.problem(p+".url", "%q: want a full http(s):// or ws(s):// URL", s.URL)
		}
	}
	if s.Via == "" {
		s.Via = "ws"
	}
	if s.Via != "ws" && s.Via != "sse" {
		v.problem(p+".via", "%q: the target serves ws and sse", s.Via)
	}
	if s.Until == "" {
		s.Until = UntilOpen
		if s.URL != "" {
			s.Until = UntilMessage
		}
	}
	switch s.Until {
	case UntilOpen, UntilSoldOut:
		if s.URL != "" {
			v.problem(p+".until", "%q reads the target's SKU feed: a url: feed waits for a message (until: message, match: {field, equals})", s.Until)
		}
		if s.Match != nil {
			v.problem(p+".match", "only until: message reads match")
		}
	case UntilMessage:
		if s.Match == nil || s.Match.Field == "" {
			v.problem(p+".match", "until: message needs match: {field, equals}")
		} else if s.URL == "" && !contains(FeedFields, s.Match.Field) {
			v.problem(p+".match.field", "%q: no message of the SKU feed has it (fields: %s)", s.Match.Field, strings.Join(FeedFields, ", "))
		}
	default:
		v.problem(p+".until", "%q: want open, sold_out or message", s.Until)
	}
	if s.Timeout < 0 {
		v.problem(p+".timeout", "must be > 0")
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultSubscribeTimeout)
	}
}

// validateCrowd checks the crowd block (after the SKUs and journeys).
func (v *validator) validateCrowd() {
	c := v.s.Crowd
	if c == nil {
		return
	}
	v.sku("crowd.sku", &c.SKU, true)
	for i := range v.s.SKUs {
		if k := &v.s.SKUs[i]; k.SKU == c.SKU {
			if _, ok := SaleOffset(k.StartsAt); !ok {
				v.problem("crowd.sku", "%q needs starts_at as an offset (+10m): the crowd gathers before the opening", c.SKU)
			}
		}
	}
	if c.Watchers <= 0 || c.Watchers > CrowdWatchersMax {
		v.problem("crowd.watchers", "must be in 1..%d", CrowdWatchersMax)
	}
	if c.From < 0 {
		v.problem("crowd.from", "must be > 0")
	}
	if c.From == 0 {
		c.From = Duration(DefaultCrowdFrom)
	}
	if c.Via == "" {
		c.Via = "ws"
	}
	if c.Via != "ws" && c.Via != "sse" {
		v.problem("crowd.via", "%q: the target serves ws and sse", c.Via)
	}
	found := false
	for _, j := range v.s.Journeys {
		found = found || j.Name == c.Journey
	}
	if !found {
		v.problem("crowd.journey", "%q: no journey of that name", c.Journey)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CrowdPlan is the crowd as played: when each watcher arrives and when the sale opens, on the
// run clock.
type CrowdPlan struct {
	Crowd
	Watchers int           // played watchers (scaled by the play's rate scale, at least 1)
	Open     time.Duration // the opening, run clock
	First    time.Duration // the first watcher's arrival, run clock (≥ 0)
}

// Arrive is watcher i's arrival on the run clock: uniform over [First, Open).
func (c *CrowdPlan) Arrive(i int) time.Duration {
	if c.Watchers <= 0 {
		return c.First
	}
	return c.First + time.Duration(float64(c.Open-c.First)*float64(i)/float64(c.Watchers))
}

// CrowdPlan is the play's crowd, nil without one. The watchers are scaled like the arrivals
// (the rate scale) and their window is scenario time played through the compression.
func (p *Play) CrowdPlan() *CrowdPlan {
	c := p.s.Crowd
	if c == nil {
		return nil
	}
	var starts string
	for _, k := range p.s.SKUs {
		if k.SKU == c.SKU {
			starts = k.StartsAt
		}
	}
	off, ok := SaleOffset(starts)
	if !ok {
		return nil
	}
	cp := &CrowdPlan{Crowd: *c, Watchers: max(1, int(float64(c.Watchers)*p.scale+0.5))}
	cp.Open = p.WallAt(off)
	cp.First = p.WallAt(max(0, off-c.From.D()))
	return cp
}

func (c *Crowd) String() string {
	return fmt.Sprintf("%d watchers of %s over %s via %s, then %s", c.Watchers, c.SKU, c.From.D(), c.Via, c.Journey)
}

// HerdSeq is the arrival number of watcher i's herd session: above any arrival of the traffic
// curve, so its user, idempotency keys and pauses never collide with the curve's. Both engines
// number the herd so.
func HerdSeq(i int) int64 { return 1<<40 + int64(i) }

// IsHerd reports whether arrival number seq is a crowd watcher's (HerdSeq).
func IsHerd(seq int64) bool { return seq >= 1<<40 }

// JourneyIndex is the index of the journey named name, -1 for none.
func (p *Program) JourneyIndex(name string) int {
	for i := range p.Journeys {
		if p.Journeys[i].Name == name {
			return i
		}
	}
	return -1
}
