package result

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// File names inside a run directory.
const (
	SummaryFile    = "summary.json"
	HistogramsFile = "histograms.hlog"
	PredictedFile  = "predicted.json" // the simulator's prediction for the same scenario, when there is one
	FullScaleFile  = "fullscale.json" // the simulator's run of the scenario at full scale, when there is one
)

// Run is a finished run: its Summary and the HDR histograms behind it, which is what makes
// merges exact. Latency and ServiceTime cover the whole run; Windows hold each timeline window
// that saw answers. ServerTime is the target's own time over the run (Result.Server), nil when no
// answer carried one. Values are microseconds.
type Run struct {
	Summary     *Summary
	Latency     *hdr.PackedHistogram
	ServiceTime *hdr.PackedHistogram
	ServerTime  *hdr.PackedHistogram
	Window      time.Duration
	Windows     []WindowHist // ascending Index
	// Steps and Journeys are each step's and journey's whole-run latency histogram (µs), by name;
	// histograms.hlog stores them tagged step:NAME and journey:NAME.
	Steps    map[string]*hdr.PackedHistogram
	Journeys map[string]*hdr.PackedHistogram
	// ByReplica is each replica's whole-run latency histogram (µs), by ID (Requests.ByReplica),
	// tagged replica:ID in histograms.hlog.
	ByReplica map[string]*hdr.PackedHistogram
	// Predicted is an optional second summary (the simulator's, for the same scenario) that the
	// renderers draw beside the measured one. Write stores it as predicted.json.
	Predicted *Summary
	// FullScale is an optional third summary: the simulator's run at the full amplitude (the
	// rehearsal's), shown as its own section. Write stores it as fullscale.json.
	FullScale *Summary
}

// WindowHist is one timeline window's histograms. Index counts windows from the run's start.
type WindowHist struct {
	Index       int64
	Latency     *hdr.PackedHistogram
	ServiceTime *hdr.PackedHistogram
}

// Write stores the run in dir (created if needed): summary.json, histograms.hlog, and
// predicted.json when the run carries a prediction.
func (r *Run) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, SummaryFile), r.Summary); err != nil {
		return err
	}
	if r.Predicted != nil {
		if err := writeJSON(filepath.Join(dir, PredictedFile), r.Predicted); err != nil {
			return err
		}
	}
	if r.FullScale != nil {
		if err := writeJSON(filepath.Join(dir, FullScaleFile), r.FullScale); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, HistogramsFile))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := r.WriteHistograms(bw); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", HistogramsFile, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// startMs is the run's start in Unix milliseconds (0 when unknown: the log then starts at the epoch).
func (r *Run) startMs() int64 {
	if r.Summary == nil || r.Summary.StartedAt.IsZero() || r.Summary.StartedAt.Unix() < 0 {
		return 0
	}
	return r.Summary.StartedAt.UnixMilli()
}

// WriteHistograms writes the HdrHistogram interval log: for each window, one line tagged
// "latency" and one tagged "service_time", values in microseconds, timestamps relative to the
// BaseTime line (the run's start, whole seconds). The Interval_Max column is in seconds. Then
// whole-run intervals: the server time (tagged "server_time", when there is one), each step's
// and each journey's latency.
func (r *Run) WriteHistograms(w io.Writer) error {
	lw := hdr.NewHistogramLogWriter(w)
	start := r.startMs()
	base := start / 1000 * 1000
	name := "run"
	if r.Summary != nil && r.Summary.Name != "" {
		name = r.Summary.Name
	}
	errs := []error{
		lw.OutputComment(fmt.Sprintf("[flashload %s: %s, values in microseconds, window %s]", SummarySchema, name, r.Window)),
		lw.OutputLogFormatVersion(),
		lw.OutputStartTime(start),
		lw.OutputBaseTime(base),
		lw.OutputLegend(),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	lw.SetBaseTime(base)
	winMs := r.Window.Milliseconds()
	var hs []*hdr.PackedHistogram
	for _, wh := range r.Windows {
		from := start + wh.Index*winMs
		for _, h := range []struct {
			tag string
			h   *hdr.PackedHistogram
		}{{TagLatency, wh.Latency}, {TagServiceTime, wh.ServiceTime}} {
			h.h.SetTag(h.tag)
			h.h.SetStartTimeMs(from)
			h.h.SetEndTimeMs(from + winMs)
			hs = append(hs, h.h)
		}
	}
	if err := writeIntervals(w, base, hs); err != nil {
		return err
	}
	// The whole run's histogram of each step and journey, one interval spanning the run.
	end := start + winMs*int64(len(r.Windows))
	if r.Summary != nil {
		end = start + int64(r.Summary.DurationS*1000)
	}
	if h := r.ServerTime; h != nil && h.TotalCount() > 0 {
		h.SetTag(TagServerTime)
		h.SetStartTimeMs(start)
		h.SetEndTimeMs(max(end, start))
		if err := lw.OutputIntervalPackedHistogram(h); err != nil {
			return err
		}
	}
	for _, set := range []struct {
		prefix string
		hs     map[string]*hdr.PackedHistogram
	}{{TagStepPrefix, r.Steps}, {TagJourneyPrefix, r.Journeys}, {TagReplicaPrefix, r.ByReplica}} {
		for _, name := range slices.Sorted(maps.Keys(set.hs)) {
			if strings.ContainsAny(name, ", \t\r\n=") { // the log's tag cannot hold these
				continue
			}
			h := set.hs[name]
			h.SetTag(set.prefix + name)
			h.SetStartTimeMs(start)
			h.SetEndTimeMs(max(end, start))
			if err := lw.OutputIntervalPackedHistogram(h); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadRun reads a run from its directory or from the path of its summary.json. The histograms
// are read when histograms.hlog is next to the summary (Merge needs them), and the prediction
// when predicted.json is.
func ReadRun(path string) (*Run, error) {
	run, dir, err := readRunSummary(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, HistogramsFile))
	if errors.Is(err, os.ErrNotExist) {
		return run, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := run.readHistograms(f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, HistogramsFile), err)
	}
	return run, nil
}

// ParseRun is ReadRun from the contents of summary.json and histograms.hlog (nil: no
// histograms), for runs that arrive by other means than a directory (flashload watch).
func ParseRun(summary, histograms []byte) (*Run, error) {
	s, err := ParseSummary(summary)
	if err != nil {
		return nil, err
	}
	run := newRun(s)
	if histograms != nil {
		if err := run.readHistograms(bytes.NewReader(histograms)); err != nil {
			return nil, fmt.Errorf("%s: %w", HistogramsFile, err)
		}
	}
	return run, nil
}

func newRun(s *Summary) *Run {
	return &Run{Summary: s, Window: time.Duration(s.WindowS * float64(time.Second))}
}

// ReadRunSummary is ReadRun without the histograms: the summary and the prediction beside it,
// for what only needs summary.json.
func ReadRunSummary(path string) (*Run, error) {
	run, _, err := readRunSummary(path)
	return run, err
}

func readRunSummary(path string) (run *Run, dir string, err error) {
	dir, file := path, filepath.Join(path, SummaryFile)
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir, file = filepath.Dir(path), path
	}
	s, err := ReadSummary(file)
	if err != nil {
		return nil, "", err
	}
	run = newRun(s)
	if p, err := ReadSummary(filepath.Join(dir, PredictedFile)); err == nil {
		run.Predicted = p
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	if p, err := ReadSummary(filepath.Join(dir, FullScaleFile)); err == nil {
		run.FullScale = p
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	return run, dir, nil
}

// ReadSummary reads and checks a summary.json.
func ReadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSummary(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSummary decodes a summary.json and checks its schema.
func ParseSummary(b []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Schema != SummarySchema {
		return nil, fmt.Errorf("schema %q, want %q", s.Schema, SummarySchema)
	}
	return &s, nil
}

func (r *Run) readHistograms(rd io.Reader) error {
	lr := hdr.NewHistogramLogReader(rd)
	start := r.startMs()
	winMs := r.Window.Milliseconds()
	byIdx := map[int64]*WindowHist{}
	r.Latency, r.ServiceTime = newPacked(), newPacked()
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return err
		}
		if h == nil {
			break
		}
		if name, ok := strings.CutPrefix(h.Tag(), TagStepPrefix); ok {
			r.Steps = addNamedHist(r.Steps, name, h)
			continue
		}
		if name, ok := strings.CutPrefix(h.Tag(), TagJourneyPrefix); ok {
			r.Journeys = addNamedHist(r.Journeys, name, h)
			continue
		}
		if name, ok := strings.CutPrefix(h.Tag(), TagReplicaPrefix); ok {
			r.ByReplica = addNamedHist(r.ByReplica, name, h)
			continue
		}
		if h.Tag() == TagServerTime {
			if r.ServerTime == nil {
				r.ServerTime = newPacked()
			}
			r.ServerTime.MergeFrom(h)
			continue
		}
		idx := int64(0)
		if winMs > 0 {
			idx = int64(math.Round(float64(h.StartTimeMs()-start) / float64(winMs)))
		}
		wh := byIdx[idx]
		if wh == nil {
			wh = &WindowHist{Index: idx, Latency: newPacked(), ServiceTime: newPacked()}
			byIdx[idx] = wh
		}
		switch h.Tag() {
		case TagLatency:
			wh.Latency.MergeFrom(h)
			r.Latency.MergeFrom(h)
		case TagServiceTime:
			wh.ServiceTime.MergeFrom(h)
			r.ServiceTime.MergeFrom(h)
		}
	}
	r.Windows = sortWindows(byIdx)
	if n := r.Latency.TotalCount(); n != r.Summary.Requests.Total {
		r.Summary.Warnings = append(r.Summary.Warnings,
			fmt.Sprintf("histograms.hlog holds %d latencies but summary.json counts %d requests", n, r.Summary.Requests.Total))
	}
	return nil
}

func addNamedHist(m map[string]*hdr.PackedHistogram, name string, h *hdr.Histogram) map[string]*hdr.PackedHistogram {
	if m == nil {
		m = map[string]*hdr.PackedHistogram{}
	}
	d := m[name]
	if d == nil {
		d = newPacked()
		m[name] = d
	}
	d.MergeFrom(h)
	return m
}

func sortWindows(m map[int64]*WindowHist) []WindowHist {
	out := make([]WindowHist, 0, len(m))
	for _, w := range m {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// DefaultRunDir is where a run of scenario name started at t is written when no --out is
// given: runs/NAME-YYYYMMDD-HHMMSS.
func DefaultRunDir(name string, t time.Time) string {
	return filepath.Join("runs", name+"-"+t.Format("20060102-150405"))
}

// writeIntervals writes the histograms as interval lines of a log whose base time is base, in
// order. Encoding (compressing) a histogram is most of the cost, and each line depends on its
// histogram alone: the lines are made on every core at once, a block at a time, and written in
// order.
func writeIntervals(w io.Writer, base int64, hs []*hdr.PackedHistogram) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	const block = 64
	lines := make([]bytes.Buffer, min(len(hs), block))
	for from := 0; from < len(hs); from += block {
		part := hs[from:min(from+block, len(hs))]
		errs := make([]error, len(part))
		next := make(chan int, len(part))
		for i := range part {
			next <- i
		}
		close(next)
		var wg sync.WaitGroup
		for range min(workers, len(part)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					lines[i].Reset()
					lw := hdr.NewHistogramLogWriter(&lines[i])
					lw.SetBaseTime(base)
					errs[i] = lw.OutputIntervalPackedHistogram(part[i])
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for i := range part {
			if _, err := w.Write(lines[i].Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}
