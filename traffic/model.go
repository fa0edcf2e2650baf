package traffic

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Defaults of a fit.
var (
	DefaultSeasons   = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}
	DefaultQuantiles = []float64{0.5, 0.9}
)

const (
	// DefaultDailyHalfLife weighs the days behind the shortest season's profile: a day this old
	// counts half as much as the last one, so the profile follows a slowly changing shape.
	DefaultDailyHalfLife = 14 * 24 * time.Hour
	// DefaultWeeklyHalfLife does the same for the longest season's deviations from it.
	DefaultWeeklyHalfLife = 28 * 24 * time.Hour
	// DefaultTrendWindow is how much recent history the trend is fitted on.
	DefaultTrendWindow = 14 * 24 * time.Hour
	// outlierSigmas: a residual this many robust deviations from the fit is left out of it
	// (promotion spikes, outages), so one sale day does not lift every Monday after it.
	outlierSigmas = 4.5
	fitRounds     = 4
)

// ErrHistory is wrapped by every refusal that comes from the history being too short or too
// sparse for what was asked.
var ErrHistory = errors.New("not enough history")

// FitOptions says what to fit. Zero values take the defaults.
type FitOptions struct {
	// Seasons to model, each a whole number of steps. nil: those of DefaultSeasons the history
	// holds two cycles of (said in Model.Notes); given: each must fit, else Fit refuses.
	Seasons     []time.Duration
	TrendWindow time.Duration // default DefaultTrendWindow
}

// Model is a fitted history: in log(rate + c), the level (a trend and a daily level that
// drifts as an AR(1) around it) plus the seasonal profile (the shortest season's shape and the
// longest season's deviations from it), plus noise whose spread depends on the time of day.
// Promotion spikes and outages are kept out of the fit and remembered (Spikes).
type Model struct {
	Step       time.Duration
	Start, End time.Time       // the history fitted
	Seasons    []time.Duration // the seasons modelled, shortest first
	Spikes     []Spike         // past promotion spikes, in time order
	Dips       int             // intervals far below the fit (outages), left out
	Notes      []string        // what the fit decided on its own (seasons dropped, trend kept or not)

	c          float64   // log offset: a fraction of the mean, so quiet nights do not dominate
	short      []float64 // profile over the shortest season, per step (mean 0)
	long       []float64 // deviation over the longest season when there are two (mean 0)
	blockSteps int       // steps per level block (the shortest season, or one step)
	lvl        level
	scale      []float64 // noise scale per slot of the shortest season
	noise      []float64 // standardized within-block residuals, sorted
	seasonN    float64   // effective number of cycles behind the profile
	sigma      float64   // robust spread of the residuals
}

// Trend is the fitted trend in log units per day (0 when it was not significant); the rate
// grows by a factor exp(Trend) a day.
func (m *Model) Trend() float64 { return m.lvl.slope / m.blockDays() }

func (m *Model) blockDays() float64 {
	return (time.Duration(m.blockSteps) * m.Step).Hours() / 24
}

// SeasonalAmplitude is the ratio of the highest to the lowest point of the fitted profile of
// the shortest season (averaged over the longest one), at the history's mean level.
func (m *Model) SeasonalAmplitude() float64 {
	if len(m.short) == 0 {
		return 1
	}
	hi, lo := math.Inf(-1), math.Inf(1)
	for _, v := range m.short {
		hi, lo = math.Max(hi, v), math.Min(lo, v)
	}
	return math.Exp(hi - lo)
}

// Fit fits a model to the history. It refuses (ErrHistory) a history too short for the seasons
// or with too few intervals of data.
func Fit(s Series, opts FitOptions) (*Model, error) {
	if s.Step <= 0 || len(s.Values) == 0 {
		return nil, fmt.Errorf("%w: an empty history", ErrHistory)
	}
	m := &Model{Step: s.Step, Start: s.Start, End: s.End()}
	if err := m.pickSeasons(s, opts.Seasons); err != nil {
		return nil, err
	}
	mean := s.Mean()
	if !(mean > 0) {
		return nil, fmt.Errorf("%w: the history has no traffic", ErrHistory)
	}
	m.c = 0.05 * mean
	z := make([]float64, len(s.Values))
	w := make([]float64, len(s.Values))
	known := 0
	for i, v := range s.Values {
		z[i] = math.NaN()
		if !math.IsNaN(v) {
			z[i], w[i] = math.Log(v+m.c), 1
			known++
		}
	}
	if known < 2*m.seasonSteps(0) {
		return nil, fmt.Errorf("%w: %d of %d intervals have data; a fit needs two cycles of its shortest season (%s)",
			ErrHistory, known, len(z), FormatDuration(m.Seasons[0]))
	}
	f := m.decompose(s, z, w, true)
	m.findSpikes(s, z, f, w)
	f = m.decompose(s, z, w, false)
	tw := opts.TrendWindow
	if tw <= 0 {
		tw = DefaultTrendWindow
	}
	m.fitLevel(s, z, f, w, tw)
	m.fitNoise(s, z, f, w)
	return m, nil
}

// pickSeasons settles the seasons: given ones must fit; defaults are dropped when they do not.
func (m *Model) pickSeasons(s Series, given []time.Duration) error {
	span := s.Span()
	cand := given
	if cand == nil {
		cand = DefaultSeasons
	}
	var out []time.Duration
	for _, p := range cand {
		var why string
		switch {
		case p <= 0:
			why = "must be > 0"
		case p%s.Step != 0 || p/s.Step < 2:
			why = fmt.Sprintf("is not a whole number (≥ 2) of the history's %s steps", FormatDuration(s.Step))
		case span < 2*p:
			why = fmt.Sprintf("needs two cycles (%s) of history, which covers %s", FormatDuration(2*p), FormatDuration(span))
		}
		if why == "" {
			out = append(out, p)
			continue
		}
		if given != nil {
			return fmt.Errorf("%w: season %s %s", ErrHistory, FormatDuration(p), why)
		}
		m.Notes = append(m.Notes, fmt.Sprintf("season %s left out: it %s", FormatDuration(p), why))
	}
	if len(out) == 0 {
		return fmt.Errorf("%w: no season fits a history of %s at %s steps (%s)", ErrHistory, FormatDuration(span), FormatDuration(s.Step),
			strings.Join(m.Notes, "; "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	for i := 1; i < len(out); i++ {
		if out[i]%out[0] != 0 {
			return fmt.Errorf("season %s is not a whole number of %s seasons", FormatDuration(out[i]), FormatDuration(out[0]))
		}
	}
	if len(out) > 2 {
		m.Notes = append(m.Notes, fmt.Sprintf("seasons %s: only the shortest and the longest are modelled", formatDurations(out)))
		out = []time.Duration{out[0], out[len(out)-1]}
	}
	m.Seasons = out
	// The level moves by the day when days are what the shortest season is made of; else by
	// the shortest season; and by the step when a season is only a few steps long (daily data
	// with a weekly season).
	const day = 24 * time.Hour
	switch {
	case day%m.Step == 0 && day/m.Step >= 4 && out[0]%day == 0:
		m.blockSteps = int(day / m.Step)
	case m.seasonSteps(0) >= 4:
		m.blockSteps = m.seasonSteps(0)
	default:
		m.blockSteps = 1
	}
	return nil
}

func formatDurations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = FormatDuration(d)
	}
	return strings.Join(s, ",")
}

func (m *Model) seasonSteps(i int) int { return int(m.Seasons[i] / m.Step) }

// slot is the position of interval start t in a season of n steps, counted from the Unix
// epoch, so the history and its forecast agree on what is Monday 09:00.
func (m *Model) slot(t time.Time, n int) int {
	k := t.UnixNano() / int64(m.Step)
	r := int(k % int64(n))
	if r < 0 {
		r += n
	}
	return r
}

// fitted is the decomposition of a history: level and seasonal parts per interval.
type fitted struct {
	level, season []float64
}

// decompose alternates between the seasonal profile (recency-weighted means by slot of the
// history less its level) and the level (means by block of the history less its profile),
// starting from a moving average over the longest season. Weights 0 leave intervals out; with
// flag, each round also leaves out the intervals far from the last round's fit.
func (m *Model) decompose(s Series, z, w []float64, flag bool) fitted {
	n := len(z)
	f := fitted{level: movingAverage(z, w, m.seasonSteps(len(m.Seasons)-1)), season: make([]float64, n)}
	u := make([]float64, n)
	for round := 0; round < fitRounds; round++ {
		for i := range z {
			u[i] = z[i] - f.level[i]
		}
		ps := m.seasonSteps(0)
		m.short, m.seasonN = m.profile(s, u, w, ps, DefaultDailyHalfLife)
		m.long = nil
		if len(m.Seasons) > 1 {
			pl := m.seasonSteps(1)
			for i := range u {
				u[i] -= m.short[m.slot(s.At(i), ps)]
			}
			dev, cycles := m.profile(s, u, w, pl, DefaultWeeklyHalfLife)
			m.long = m.shrinkDeviation(dev, cycles, ps)
		}
		for i := range z {
			f.season[i] = m.seasonAt(s.At(i))
		}
		f.level = m.blockLevel(s, z, w, f.season)
		m.flagOutliers(z, f, w, flag)
	}
	return f
}

// shrinkDeviation smooths the longest season's deviations over half an hour of the shortest
// season's slots on either side and shrinks them toward 0 by how much of their spread noise
// could explain (James-Stein): each slot of a week rests on a few weeks only, and a weekly
// profile copied from noise costs more than it gains.
func (m *Model) shrinkDeviation(dev []float64, cycles float64, shortSlots int) []float64 {
	half := max(shortSlots/48, 1)
	p := len(dev)
	sm := make([]float64, p)
	for k := range dev {
		var sum float64
		for d := -half; d <= half; d++ {
			sum += dev[(k+d+p)%p]
		}
		sm[k] = sum / float64(2*half+1)
	}
	if m.sigma == 0 || cycles == 0 {
		return sm
	}
	noise := m.sigma * m.sigma / (cycles * float64(2*half+1))
	signal := stat.Variance(sm, nil) - noise
	shrink := 0.0
	if signal > 0 {
		shrink = signal / (signal + noise)
	}
	for k := range sm {
		sm[k] *= shrink
	}
	return sm
}

// profile is the recency-weighted mean of u by slot of a season of p steps, centred on 0, and
// the effective number of cycles behind it.
func (m *Model) profile(s Series, u, w []float64, p int, halfLife time.Duration) ([]float64, float64) {
	sum, wt, wt2 := make([]float64, p), make([]float64, p), make([]float64, p)
	n := len(u)
	decay := math.Ln2 * s.Step.Seconds() / halfLife.Seconds()
	for i := range u {
		if w[i] == 0 || math.IsNaN(u[i]) {
			continue
		}
		k := m.slot(s.At(i), p)
		a := w[i] * math.Exp(-decay*float64(n-1-i))
		sum[k] += a * u[i]
		wt[k] += a
		wt2[k] += a * a
	}
	prof := make([]float64, p)
	var eff, effN float64
	for k := range prof {
		if wt[k] > 0 {
			prof[k] = sum[k] / wt[k]
			eff += wt[k] * wt[k] / wt2[k]
			effN++
		}
	}
	fillCircular(prof, wt)
	mean := stat.Mean(prof, nil)
	for k := range prof {
		prof[k] -= mean
	}
	if effN == 0 {
		return prof, 0
	}
	return prof, eff / effN
}

// fillCircular interpolates the slots nothing was seen in from their neighbours.
func fillCircular(prof, wt []float64) {
	p := len(prof)
	for k := range prof {
		if wt[k] > 0 {
			continue
		}
		var a, b float64
		var da, db int
		for d := 1; d < p; d++ {
			if wt[(k-d+p)%p] > 0 {
				a, da = prof[(k-d+p)%p], d
				break
			}
		}
		for d := 1; d < p; d++ {
			if wt[(k+d)%p] > 0 {
				b, db = prof[(k+d)%p], d
				break
			}
		}
		if da > 0 && db > 0 {
			prof[k] = a + (b-a)*float64(da)/float64(da+db)
		}
	}
}

// seasonAt is the seasonal part at interval start t.
func (m *Model) seasonAt(t time.Time) float64 {
	v := m.short[m.slot(t, len(m.short))]
	if m.long != nil {
		v += m.long[m.slot(t, len(m.long))]
	}
	return v
}

// blockLevel is the level per interval: the mean of the deseasonalized history over each block
// (a day when the shortest season is a day), interpolated between block centres.
func (m *Model) blockLevel(s Series, z, w, season []float64) []float64 {
	cx, cy := m.blockMeans(s, z, w, season)
	lvl := make([]float64, len(z))
	if len(cx) == 0 {
		return movingAverage(z, w, len(z))
	}
	j := 0
	for i := range lvl {
		x := float64(i) + 0.5
		for j+1 < len(cx) && cx[j+1] <= x {
			j++
		}
		switch {
		case x <= cx[0]:
			lvl[i] = cy[0]
		case j+1 >= len(cx):
			lvl[i] = cy[len(cy)-1]
		default:
			f := (x - cx[j]) / (cx[j+1] - cx[j])
			lvl[i] = cy[j] + f*(cy[j+1]-cy[j])
		}
	}
	return lvl
}

// blockMeans are the deseasonalized means of the blocks at least half covered: their centres
// (in intervals from the start, mean position of the intervals used) and values.
func (m *Model) blockMeans(s Series, z, w, season []float64) (cx, cy []float64) {
	b := m.blockSteps
	first := m.slot(s.Start, b) // blocks align with the season's slots: calendar days
	for lo := -first; lo < len(z); lo += b {
		var sum, pos, n float64
		for i := max(lo, 0); i < min(lo+b, len(z)); i++ {
			if w[i] == 0 || math.IsNaN(z[i]) {
				continue
			}
			sum += z[i] - season[i]
			pos += float64(i) + 0.5
			n++
		}
		if n > 0 && n*2 >= float64(b) {
			cx, cy = append(cx, pos/n), append(cy, sum/n)
		}
	}
	return cx, cy
}

// flagOutliers measures the residuals' robust deviation and, with flag, leaves out of the next
// round the intervals more than outlierSigmas of it away (and takes back those now close).
func (m *Model) flagOutliers(z []float64, f fitted, w []float64, flag bool) {
	r := make([]float64, 0, len(z))
	for i := range z {
		if !math.IsNaN(z[i]) && (w[i] > 0 || flag) {
			r = append(r, math.Abs(z[i]-f.level[i]-f.season[i]))
		}
	}
	m.sigma = math.Max(1.4826*quantileOf(r, 0.5), 1e-6)
	if !flag {
		return
	}
	for i := range z {
		if math.IsNaN(z[i]) {
			continue
		}
		if math.Abs(z[i]-f.level[i]-f.season[i]) > outlierSigmas*m.sigma {
			w[i] = 0
		} else {
			w[i] = 1
		}
	}
}

// movingAverage is the mean of the known values in a window of p intervals around each one,
// shifted to stay inside the series at its ends.
func movingAverage(z, w []float64, p int) []float64 {
	n := len(z)
	p = max(min(p, n), 1)
	sum, cnt := make([]float64, n+1), make([]float64, n+1)
	for i, v := range z {
		sum[i+1], cnt[i+1] = sum[i], cnt[i]
		if w[i] > 0 && !math.IsNaN(v) {
			sum[i+1] += v
			cnt[i+1]++
		}
	}
	out := make([]float64, n)
	for i := range out {
		lo := min(max(i-p/2, 0), n-p)
		hi := lo + p
		if c := cnt[hi] - cnt[lo]; c > 0 {
			out[i] = (sum[hi] - sum[lo]) / c
		} else if cnt[n] > 0 {
			out[i] = sum[n] / cnt[n]
		}
	}
	return out
}

// quantileOf is the p-quantile of x (sorted in place), interpolated linearly.
func quantileOf(x []float64, p float64) float64 {
	if len(x) == 0 {
		return 0
	}
	sort.Float64s(x)
	return stat.Quantile(p, stat.LinInterp, x, nil)
}
