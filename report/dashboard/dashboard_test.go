package dashboard

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/flashload/flashload/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestViewGolden compares the ANSI-stripped view with testdata/*.golden at two terminal sizes.
func TestViewGolden(t *testing.T) {
	stopping := testModel(liveSnapshot(), 80, 24)
	stopping.stopping = true
	withHelp := testModel(liveSnapshot(), 140, 45)
	withHelp.showHelp = true
	empty := newModel(func() result.Snapshot { return result.Snapshot{} }, nil, time.Second, lipgloss.NewRenderer(nil))
	cases := []struct {
		name string
		m    model
	}{
		{"live-80x24", testModel(liveSnapshot(), 80, 24)},
		{"live-140x45", testModel(liveSnapshot(), 140, 45)},
		{"live-120x42", testModel(liveSnapshot(), 120, 42)}, // three narrow columns: short latency labels
		{"sim-80x24", testModel(simSnapshot(), 80, 24)},
		{"sim-140x45", testModel(simSnapshot(), 140, 45)},
		{"faults-80x24", testModel(faultSnapshot(), 80, 24)},
		{"faults-140x45", testModel(faultSnapshot(), 140, 45)},
		{"stopping-80x24", stopping},
		{"help-140x45", withHelp},
		{"empty-80x24", empty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ansi.Strip(c.m.View())
			checkSize(t, got, c.m.width, c.m.height)
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("view differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
			}
		})
	}
}

// checkSize fails when the view would not fit the terminal (it would scroll and flicker).
func checkSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		t.Errorf("view has %d lines, terminal has %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, terminal has %d: %q", i, n, w, l)
		}
	}
}

// TestViewShowsFigures checks the figures a user watches for, at both sizes.
func TestViewShowsFigures(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 42}, {140, 45}} {
		live := ansi.Strip(testModel(liveSnapshot(), size[0], size[1]).View())
		for _, want := range []string{"Rate req/s", "target 7.8k", "achieved 5.1k", "203", "31.5", "11,800", "2,210", "phone-x*", "200/200 sold out 0:31:12", "catalogue", "other codes", "not started", "next: stage 3/3", "generator saturated", "arrivals dropped"} {
			if !strings.Contains(live, want) {
				t.Errorf("%dx%d live view lacks %q:\n%s", size[0], size[1], want, live)
			}
		}
		sim := ansi.Strip(testModel(simSnapshot(), size[0], size[1]).View())
		for _, want := range []string{"OVERSOLD", "ready 43 / desired 48", "scale up 43→48"} {
			if !strings.Contains(sim, want) {
				t.Errorf("%dx%d sim view lacks %q:\n%s", size[0], size[1], want, sim)
			}
		}
	}
}

// TestOversoldIsRed checks that an oversell is drawn in red on a colour terminal, and that
// a clean sale is not.
func TestOversoldIsRed(t *testing.T) {
	r := lipgloss.NewRenderer(&bytes.Buffer{})
	r.SetColorProfile(termenv.ANSI256)
	red := "38;5;196"
	view := func(s result.Snapshot) string {
		m := newModel(func() result.Snapshot { return s }, nil, time.Second, r)
		m.snap, m.have, m.width, m.height = s, true, 140, 45
		return m.View()
	}
	if v := view(simSnapshot()); !strings.Contains(v, red) {
		t.Errorf("oversold 3 is not drawn in red (%q not in view)", red)
	}
	clean := simSnapshot()
	clean.Oversold = 0
	if v := view(clean); strings.Contains(v, red) {
		t.Errorf("a sale without oversell is drawn with red")
	}
}

func keyRune(r rune) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}} }

// TestKeyQStops drives the model directly: q calls stop (through a command) and waits for the
// run to report Done; a Done snapshot quits; a second q quits at once.
func TestKeyQStops(t *testing.T) {
	for _, k := range []tea.KeyMsg{keyRune('q'), {Type: tea.KeyCtrlC}} {
		t.Run(k.String(), func(t *testing.T) {
			var stopped atomic.Int32
			m := newModel(liveSnapshot, func() { stopped.Add(1) }, time.Millisecond, lipgloss.NewRenderer(nil))
			next, cmd := m.Update(k)
			m = next.(model)
			if stopped.Load() != 0 {
				t.Fatal("Update called stop itself; it must stay pure and return a command")
			}
			if cmd == nil {
				t.Fatal("q returned no command")
			}
			if msg := cmd(); msg != nil {
				if _, quit := msg.(tea.QuitMsg); quit {
					t.Fatal("first q quit at once: the run would not get to write its summary on screen")
				}
			}
			if stopped.Load() != 1 {
				t.Fatalf("stop called %d times, want 1", stopped.Load())
			}
			if !m.stopping || !strings.Contains(ansi.Strip(m.View()), "stopping") {
				t.Fatalf("after q the model is not in its waiting state:\n%s", ansi.Strip(m.View()))
			}

			// The run finishes: the Done snapshot quits the program.
			done := liveSnapshot()
			done.Done = true
			_, cmd = m.Update(snapMsg(done))
			if cmd == nil || !isQuit(cmd()) {
				t.Fatal("a Done snapshot did not quit")
			}

			// q again while waiting leaves at once without a second stop.
			_, cmd = m.Update(k)
			if cmd == nil || !isQuit(cmd()) {
				t.Fatal("second q did not quit")
			}
			if stopped.Load() != 1 {
				t.Fatalf("stop called %d times after the second q, want 1", stopped.Load())
			}
		})
	}
}

func isQuit(msg tea.Msg) bool { _, ok := msg.(tea.QuitMsg); return ok }

// TestKeyHelpToggles checks ? shows and hides the help.
func TestKeyHelpToggles(t *testing.T) {
	m := testModel(liveSnapshot(), 140, 45)
	next, _ := m.Update(keyRune('?'))
	if v := ansi.Strip(next.View()); !strings.Contains(v, "no coordinated omission") {
		t.Fatalf("? did not show the help:\n%s", v)
	}
	next, _ = next.Update(keyRune('?'))
	if v := ansi.Strip(next.View()); strings.Contains(v, "no coordinated omission") {
		t.Fatalf("second ? did not hide the help")
	}
}

// TestWarningsKeepTheChart checks that many warnings show only the newest few.
func TestWarningsKeepTheChart(t *testing.T) {
	s := liveSnapshot()
	for i := 0; i < 30; i++ {
		s.Warnings = append(s.Warnings, fmt.Sprintf("generator saturated: %d arrivals dropped so far", i))
	}
	v := ansi.Strip(testModel(s, 80, 24).View())
	checkSize(t, v, 80, 24)
	if !strings.Contains(v, "29 arrivals dropped so far") || !strings.Contains(v, "28 arrivals dropped so far") || strings.Contains(v, "27 arrivals dropped so far") {
		t.Errorf("not only the newest warnings shown:\n%s", v)
	}
	if !strings.Contains(v, "29 earlier warnings") || !strings.Contains(v, "Rate req/s") {
		t.Errorf("earlier warnings not counted, or the chart is gone:\n%s", v)
	}
}

// TestResize checks WindowSizeMsg changes the layout size.
func TestResize(t *testing.T) {
	m := testModel(liveSnapshot(), 80, 24)
	next, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	v := ansi.Strip(next.View())
	checkSize(t, v, 100, 30)
	if n := strings.Count(v, "\n") + 1; n != 30 {
		t.Errorf("view has %d lines at height 30, want the chart to fill the screen", n)
	}
}

// TestSnapshotsArriveAsMessages checks the polling loop: Init reads the source through a
// command, each snapshot re-arms the poll, and Update never calls the source.
func TestSnapshotsArriveAsMessages(t *testing.T) {
	var calls atomic.Int32
	src := func() result.Snapshot {
		calls.Add(1)
		s := liveSnapshot()
		s.Name = fmt.Sprintf("poll-%d", calls.Load())
		return s
	}
	m := newModel(src, nil, time.Millisecond, lipgloss.NewRenderer(nil))
	msg := m.Init()()
	if calls.Load() != 1 {
		t.Fatalf("Init command called the source %d times", calls.Load())
	}
	next, cmd := m.Update(msg)
	if calls.Load() != 1 {
		t.Fatal("Update called the source")
	}
	if v := ansi.Strip(next.View()); !strings.Contains(v, "poll-1") {
		t.Fatalf("snapshot not shown:\n%s", v)
	}
	if cmd == nil {
		t.Fatal("a snapshot did not re-arm the poll")
	}
	if _, ok := cmd().(snapMsg); !ok || calls.Load() != 2 {
		t.Fatalf("poll command did not read the source (calls %d)", calls.Load())
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPlainProgress checks the no-TTY mode writes one line per tick and returns on Done.
func TestPlainProgress(t *testing.T) {
	var n atomic.Int32
	src := func() result.Snapshot {
		s := liveSnapshot()
		s.Wall = time.Duration(n.Add(1)) * time.Second
		s.Done = n.Load() == 3
		return s
	}
	var errOut, out syncBuffer
	err := Watch(context.Background(), src, nil, Options{Out: &out, Err: &errOut, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(all) == 0 || all[0] != "warning: generator saturated: 64/64 workers busy" {
		t.Fatalf("the run's warning is not printed first, on its own line:\n%s", errOut.String())
	}
	if n := strings.Count(errOut.String(), "generator saturated"); n != 1 {
		t.Errorf("the warning was printed %d times, want once", n)
	}
	lines := all[1:]
	if len(lines) != 3 {
		t.Fatalf("got %d progress lines, want 3:\n%s", len(lines), errOut.String())
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprintf("[0:00:0%d] double-eleven scenario 0:40:00/24:00:00 (2.8%%)", i+1)) {
			t.Errorf("line %d: %q", i, l)
		}
		for _, want := range []string{"rate 5,070/7,850 req/s", "p99 203 ms", "errors 40", "dropped 2,210", "phone-x sold out at 0:31:12"} {
			if !strings.Contains(l, want) {
				t.Errorf("line %d lacks %q: %s", i, want, l)
			}
		}
	}
	if !strings.HasSuffix(lines[2], " · done") {
		t.Errorf("last line does not say done: %s", lines[2])
	}
	if out.String() != "" {
		t.Errorf("plain mode wrote on Out: %q", out.String())
	}
}

// TestPlainProgressStopsWithContext checks the plain mode returns when ctx is done.
func TestPlainProgressStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var errOut syncBuffer
	var n atomic.Int32
	src := func() result.Snapshot {
		if n.Add(1) == 2 {
			cancel()
		}
		return result.Snapshot{}
	}
	if err := Watch(ctx, src, nil, Options{Err: &errOut, Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "scenario 0:00:00/0:00:00") {
		t.Errorf("no progress line before the context ended: %q", errOut.String())
	}
}

// TestWatchTUI runs the real bubbletea program on a byte stream instead of a terminal: the q
// from the input calls stop, the source then reports Done, Watch returns and leaves the last
// state on Err.
func TestWatchTUI(t *testing.T) {
	var stopped atomic.Bool
	src := func() result.Snapshot {
		s := liveSnapshot()
		s.Done = stopped.Load()
		return s
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Watch(ctx, src, func() { stopped.Store(true) }, Options{
		TTY: true, Out: &out, Err: &errOut, In: strings.NewReader("q"), Interval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Watch only returned because the context timed out")
	}
	if !stopped.Load() {
		t.Fatal("q on the input did not call stop")
	}
	if !strings.Contains(out.String(), "Rate req/s") {
		t.Errorf("the dashboard was never drawn on Out")
	}
	if !strings.Contains(errOut.String(), "double-eleven") || !strings.Contains(errOut.String(), "done") {
		t.Errorf("no final progress line on Err: %q", errOut.String())
	}
}

// TestWatchTUIEndsWithContext checks the dashboard closes when the caller cancels ctx.
func TestWatchTUIEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	src := func() result.Snapshot {
		if n.Add(1) == 3 {
			cancel()
		}
		return liveSnapshot()
	}
	r, w, err := os.Pipe() // input that never ends, like an idle keyboard
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var out, errOut syncBuffer
	if err := Watch(ctx, src, nil, Options{TTY: true, Out: &out, Err: &errOut, In: r, Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
}

func TestWatchNilSource(t *testing.T) {
	if err := Watch(context.Background(), nil, nil, Options{}); err == nil {
		t.Fatal("nil source accepted")
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notatty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	if IsTerminal(nil) {
		t.Error("nil is a terminal")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{count(0), "0"}, {count(999), "999"}, {count(1000), "1,000"}, {count(-1234567), "-1,234,567"}, {count(-123), "-123"}, {count(math.MinInt64), "-9,223,372,036,854,775,808"},
		{compact(950), "950"}, {compact(2000), "2.0k"}, {compact(350000), "350k"}, {compact(1.25e6), "1.2M"}, {compact(4e9), "4.0G"},
		{ms(0), "0"}, {ms(1.234), "1.23"}, {ms(12.34), "12.3"}, {ms(123.4), "123"}, {ms(250000), "250s"},
		{clock(0), "0:00:00"}, {clock(90 * time.Minute), "1:30:00"}, {clock(25*time.Hour + 3*time.Second), "25:00:03"}, {clock(-time.Second), "0:00:00"},
		{pct(0.5), "50.0%"}, {pct(2), "100.0%"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
