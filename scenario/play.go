package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PlayOptions say how to play a scenario. Zero values mean "from the file".
type PlayOptions struct {
	// Wall is the run-clock length of the play: every stage's compression is rescaled by the
	// same factor so the whole scenario lasts Wall. 0: the file's compression.
	Wall time.Duration
	// RateScale is the share of the curve's amplitude played (per run-clock second). 0: the
	// file's rate_scale. The simulator passes 1.
	RateScale float64
	// Uncompressed plays scenario time as run time (compress and Wall ignored): the simulator.
	Uncompressed bool
	// Segment selects the arrivals of one generator out of N; the zero value is all of them.
	Segment Segment
}

// Segment is the execution segment I/N (1 ≤ I ≤ N): arrival number Seq belongs to segment
// Seq mod N + 1. The N segments are disjoint, their union is the whole schedule, and each is
// spread evenly over time. The zero value is the whole schedule (1/1).
type Segment struct{ I, N int }

// ParseSegment reads "I/N".
func ParseSegment(s string) (Segment, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Segment{}, fmt.Errorf("segment %q: want I/N, for example 1/4", s)
	}
	if n < 1 || i < 1 || i > n {
		return Segment{}, fmt.Errorf("segment %q: want 1 ≤ I ≤ N", s)
	}
	return Segment{I: i, N: n}, nil
}

func (g Segment) norm() Segment {
	if g.N <= 0 {
		return Segment{1, 1}
	}
	return g
}

// Whole reports whether the segment is the whole schedule.
func (g Segment) Whole() bool { return g.norm().N == 1 }

// String is "I/N".
func (g Segment) String() string { g = g.norm(); return fmt.Sprintf("%d/%d", g.I, g.N) }

// Contains reports whether arrival seq belongs to the segment.
func (g Segment) Contains(seq int64) bool {
	g = g.norm()
	return seq%int64(g.N) == int64(g.I-1)
}

// Play is a scenario resolved for one run: the curve, each stage's compression, the rate scale
// and the arrival schedule. Times: "scen" is scenario time, "wall" is the run clock (wall time
// live, virtual time in the simulator). A Play is immutable and safe for concurrent use; each
// Arrivals iterator is not.
type Play struct {
	s        *Scenario
	curve    *Curve
	stages   []playStage
	scale    float64
	wallDur  float64
	seg      Segment
	poisson  bool
	seed     int64
	total    float64 // expected arrivals of the whole schedule
	peakWall float64
	skus     []SKU // the SKUs as this play sells them (SKUs), compiled once
}

type playStage struct {
	part
	c     float64 // compression: scenario seconds per run second
	w0    float64 // run seconds at the stage's start
	l0    float64 // played arrivals before the stage
	k     float64 // played arrivals per unit of the curve's integral: scale / c
	ik    float64 // 1/k and 1/c: the hot path multiplies (the result is then within one
	ic    float64 // rounding of the quotient, and the same in every segment)
	stage Stage
}

// Play resolves the scenario for a run.
func (s *Scenario) Play(o PlayOptions) (*Play, error) {
	curve, err := s.Curve()
	if err != nil {
		return nil, err
	}
	scale := o.RateScale
	if scale == 0 {
		scale = s.RateScale
	}
	if scale == 0 {
		scale = 1
	}
	if scale < 0 || math.IsNaN(scale) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("rate scale %v must be > 0", scale)
	}
	if o.Wall < 0 {
		return nil, fmt.Errorf("wall %v must be ≥ 0", o.Wall)
	}
	if g := o.Segment; g.N != 0 && (g.N < 0 || g.I < 1 || g.I > g.N) {
		return nil, fmt.Errorf("segment %d/%d: want 1 ≤ I ≤ N", g.I, g.N)
	}
	p := &Play{s: s, curve: curve, scale: scale, seg: o.Segment.norm(), poisson: s.Traffic.Arrivals != "uniform", seed: s.Seed}
	defC := s.Compress
	if defC <= 0 {
		defC = 1
	}
	stages := s.Traffic.Stages
	for i, pt := range curve.parts {
		c := defC
		var st Stage
		if s.Traffic.Replay == "" && i < len(stages) {
			st = stages[i]
			if st.Compress > 0 {
				c = st.Compress
			}
		} else {
			st = Stage{Duration: Duration(secs(pt.d)), Shape: "replay", Name: s.Traffic.Replay}
		}
		if o.Uncompressed {
			c = 1
		}
		p.stages = append(p.stages, playStage{part: pt, c: c, stage: st})
	}
	natural := 0.0
	for _, st := range p.stages {
		natural += st.d / st.c
	}
	if o.Wall > 0 && !o.Uncompressed && natural > 0 {
		f := natural / o.Wall.Seconds()
		for i := range p.stages {
			p.stages[i].c *= f
		}
	}
	w, l := 0.0, 0.0
	for i := range p.stages {
		st := &p.stages[i]
		st.w0, st.l0, st.k = w, l, scale/st.c
		st.ik, st.ic = 1/st.k, 1/st.c
		w += st.d / st.c
		l += st.k * st.p.integral(st.d)
		p.peakWall = math.Max(p.peakWall, scale*st.p.peak())
	}
	p.wallDur, p.total = w, l
	p.skus = p.playedSKUs()
	return p, nil
}

// Curve builds the scenario's traffic curve (stages or replay), unscaled and uncompressed.
func (s *Scenario) Curve() (*Curve, error) {
	if s.Traffic.Replay != "" {
		return NewReplayCurve(s.ReplayPoints, s.Duration.D())
	}
	if len(s.Traffic.Stages) == 0 {
		// The closed model (or an idle scenario): no arrivals, only a duration.
		d := s.Duration
		if d <= 0 {
			return nil, fmt.Errorf("scenario %q has neither stages nor a duration", s.Name)
		}
		return NewCurve(0, []Stage{{Duration: d, Shape: ShapeConstant}})
	}
	return NewCurve(s.Traffic.StartRPS, s.Traffic.Stages)
}

// Scenario is the scenario being played.
func (p *Play) Scenario() *Scenario { return p.s }

// Segment is the segment the arrivals are drawn from.
func (p *Play) Segment() Segment { return p.seg }

// RateScale is the resolved rate scale.
func (p *Play) RateScale() float64 { return p.scale }

// WallDuration is the run-clock length of the play.
func (p *Play) WallDuration() time.Duration { return secs(p.wallDur) }

// ScenarioDuration is the scenario time the play covers.
func (p *Play) ScenarioDuration() time.Duration { return secs(p.curve.dur) }

func (p *Play) stageAtWall(w float64) int {
	k := sort.Search(len(p.stages), func(k int) bool { return p.stages[k].w0+p.stages[k].d/p.stages[k].c > w })
	return min(k, len(p.stages)-1)
}

func (p *Play) stageAtScen(s float64) int {
	k := sort.Search(len(p.stages), func(k int) bool { return p.stages[k].start+p.stages[k].d > s })
	return min(k, len(p.stages)-1)
}

// ScenarioAt maps run time to scenario time (clamped to the play).
func (p *Play) ScenarioAt(wall time.Duration) time.Duration {
	w := min(max(wall.Seconds(), 0), p.wallDur)
	st := &p.stages[p.stageAtWall(w)]
	return secs(min(st.start+(w-st.w0)*st.c, st.start+st.d))
}

// WallAt maps scenario time to run time (clamped to the play).
func (p *Play) WallAt(scen time.Duration) time.Duration {
	s := min(max(scen.Seconds(), 0), p.curve.dur)
	st := &p.stages[p.stageAtScen(s)]
	return secs(st.w0 + (s-st.start)/st.c)
}

// CompressAt is the compression (scenario seconds per run second) at run time wall.
func (p *Play) CompressAt(wall time.Duration) float64 {
	return p.stages[p.stageAtWall(wall.Seconds())].c
}

// Rate is the played rate at scenario time scen, in arrivals per scenario second: the curve
// times RateScale, divided by the compression there.
func (p *Play) Rate(scen time.Duration) float64 {
	s := scen.Seconds()
	if s < 0 || s > p.curve.dur {
		return 0
	}
	st := &p.stages[p.stageAtScen(s)]
	return st.k * st.p.rate(s-st.start)
}

// WallRate is the played rate at run time wall, in arrivals per run second: the curve times
// RateScale at the scenario time wall maps to.
func (p *Play) WallRate(wall time.Duration) float64 {
	w := wall.Seconds()
	if w < 0 || w > p.wallDur {
		return 0
	}
	st := &p.stages[p.stageAtWall(w)]
	return p.scale * st.p.rate(min((w-st.w0)*st.c, st.d))
}

// Expected is the expected number of arrivals of the whole schedule (all segments) in [0, wall].
func (p *Play) Expected(wall time.Duration) float64 {
	w := wall.Seconds()
	if w <= 0 {
		return 0
	}
	if w >= p.wallDur {
		return p.total
	}
	st := &p.stages[p.stageAtWall(w)]
	return st.l0 + st.k*st.p.integral(min((w-st.w0)*st.c, st.d))
}

// Total is the expected number of arrivals of the whole schedule (uniform: exactly ⌈Total⌉).
func (p *Play) Total() float64 { return p.total }

// PeakRate is the highest played rate, in arrivals per run second.
func (p *Play) PeakRate() float64 { return p.peakWall }

// StageAt returns the stage playing at run time wall, its index, and a one-line description
// of the next stage ("" at the last one), for the dashboard.
func (p *Play) StageAt(wall time.Duration) (int, Stage, string) {
	k := p.stageAtWall(wall.Seconds())
	next := ""
	if k+1 < len(p.stages) {
		n := p.stages[k+1]
		next = fmt.Sprintf("%s in %s", describeStage(n.stage, n.p), secs(n.w0-wall.Seconds()).Round(time.Second))
	}
	return k, p.stages[k].stage, next
}

// describeStage is "midnight-spike to 350k rps over 30m0s".
func describeStage(st Stage, pc piece) string {
	name := st.Name
	if name == "" {
		name = st.Shape
	}
	if name == "" {
		name = ShapeRamp
	}
	return fmt.Sprintf("%s to %s rps over %s", name, formatRate(pc.peak()), st.Duration.D())
}

// Arrival is one scheduled arrival: its number in the whole schedule and its times.
type Arrival struct {
	Seq      int64         // 0-based number in the whole schedule (all segments)
	Wall     time.Duration // run-clock offset at which it is due
	Scenario time.Duration // scenario time it stands for
}

// Arrivals is an iterator over the play's arrivals of its segment, in time order. It does not
// allocate per arrival. Uniform: arrival i of the whole schedule is due where the played
// integral reaches i. Poisson: a non-homogeneous Poisson process by time rescaling: the unit
// rate process's points (cumulative sums of Exp(1) draws from the scenario's seed) mapped
// through the inverse of the integral, so every segment sees the same global schedule.
type Arrivals struct {
	p      *Play
	rng    *rand.Rand
	next   int64   // the next global sequence number
	n      float64 // poisson: the unit-rate point of arrival next-1
	k      int     // current stage
	cur    int     // search cursor of the current stage's piece
	stride int64
}

// Arrivals starts the schedule from the beginning.
func (p *Play) Arrivals() *Arrivals {
	a := &Arrivals{p: p, next: int64(p.seg.I - 1), stride: int64(p.seg.N)}
	if p.poisson {
		a.next = 0
		a.rng = rand.New(rand.NewPCG(uint64(p.seed), 0x9e3779b97f4a7c15))
	}
	return a
}

// Next returns the next arrival of the segment, or false at the end of the schedule.
func (a *Arrivals) Next() (Arrival, bool) {
	p := a.p
	var n float64
	var seq int64
	if a.rng != nil {
		want := int64(p.seg.I - 1)
		for {
			a.n += a.rng.ExpFloat64()
			seq = a.next
			a.next++
			if a.n >= p.total {
				a.next--
				return Arrival{}, false
			}
			if a.stride == 1 || seq%a.stride == want {
				break
			}
		}
		n = a.n
	} else {
		seq = a.next
		n = float64(seq)
		if n >= p.total {
			return Arrival{}, false
		}
		a.next += a.stride
	}
	for a.k+1 < len(p.stages) && n >= p.stages[a.k+1].l0 {
		a.k++
		a.cur = 0
	}
	st := &p.stages[a.k]
	u := st.p.inverse((n-st.l0)*st.ik, &a.cur)
	return Arrival{Seq: seq, Wall: secs(st.w0 + u*st.ic), Scenario: secs(st.start + u)}, true
}
