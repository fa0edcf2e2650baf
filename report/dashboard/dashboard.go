// Package dashboard is flashload's live view of a run: a bubbletea dashboard on a terminal, one
// plain progress line per second elsewhere. It is a pure consumer of result.Snapshot values: the
// caller hands Watch a cheap source function (normally Recorder.Snapshot) and a stop function,
// and the dashboard polls the source at a steady rate from its own goroutine, so drawing never
// slows the engine. Data only enters through source(); the only thing that leaves is a call to
// stop() when the user presses q or ctrl-c.
package dashboard

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"

	"github.com/flashload/flashload/result"
)

// DefaultRedraw is how often the terminal dashboard polls the source and redraws.
const DefaultRedraw = 250 * time.Millisecond

// DefaultProgressEvery is how often the plain mode prints a progress line.
const DefaultProgressEvery = time.Second

// Options says where the dashboard draws and how often.
type Options struct {
	// TTY selects the bubbletea dashboard; false prints plain progress lines on Err.
	TTY bool
	// Out is the terminal the dashboard draws on (default os.Stdout).
	Out io.Writer
	// Err receives the plain progress lines, and one final line after the dashboard closes
	// (default os.Stderr).
	Err io.Writer
	// In is where keys come from (default os.Stdin).
	In io.Reader
	// Interval is how often source() is called: zero means DefaultRedraw on a TTY and
	// DefaultProgressEvery in plain mode.
	Interval time.Duration
}

// IsTerminal reports whether f is a terminal; commands use it (with --no-tui) to fill Options.TTY.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(f.Fd())
}

// Watch shows the run until ctx is done or a snapshot says Done.
//
// source must be cheap and safe to call from another goroutine at any moment, including after
// the run has finished. stop asks the run to end gracefully (it must still write its summary);
// it may be called once, from the dashboard's goroutine, and must not block for long. After a
// stop the terminal dashboard keeps showing (as "stopping") until the source reports Done or
// ctx is done; pressing q again leaves at once. The caller should cancel ctx (or let the
// source report Done) once the run is over, so Watch returns.
func Watch(ctx context.Context, source func() result.Snapshot, stop func(), opts Options) error {
	if source == nil {
		return fmt.Errorf("dashboard: nil source")
	}
	if stop == nil {
		stop = func() {}
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	if !opts.TTY {
		every := opts.Interval
		if every <= 0 {
			every = DefaultProgressEvery
		}
		return watchPlain(ctx, source, opts.Err, every)
	}
	every := opts.Interval
	if every <= 0 {
		every = DefaultRedraw
	}
	return watchTUI(ctx, source, stop, opts, every)
}

// ctxDoneMsg tells the model that the caller is finished with the dashboard.
type ctxDoneMsg struct{}

func watchTUI(ctx context.Context, source func() result.Snapshot, stop func(), opts Options, every time.Duration) error {
	m := newModel(source, stop, every, lipgloss.NewRenderer(opts.Out))
	popts := []tea.ProgramOption{
		tea.WithOutput(opts.Out),
		tea.WithAltScreen(),
		// ctrl-c arrives as a key in raw mode; signals sent from outside reach the command
		// through its own context, which ends this program below.
		tea.WithoutSignalHandler(),
	}
	if opts.In != nil {
		popts = append(popts, tea.WithInput(opts.In))
	}
	p := tea.NewProgram(m, popts...)
	go func() {
		<-ctx.Done()
		p.Send(ctxDoneMsg{})
	}()
	final, err := p.Run()
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	// The alternate screen is gone now: leave the last state in the scrollback.
	if fm, ok := final.(model); ok && fm.have {
		fmt.Fprintln(opts.Err, ProgressLine(fm.snap))
	}
	return nil
}

// watchPlain prints one progress line per tick on w until ctx is done or the run is Done, and
// each of the run's warnings once, on its own line, when it first appears.
func watchPlain(ctx context.Context, source func() result.Snapshot, w io.Writer, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	said := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s := source()
			// Progress is best effort: a closed stderr must not fail the run.
			for _, msg := range s.Warnings {
				if msg = printable(msg); !said[msg] {
					said[msg] = true
					_, _ = fmt.Fprintln(w, "warning: "+msg)
				}
			}
			for _, f := range s.Faults {
				if msg := FaultLine(f); !said[msg] {
					said[msg] = true
					_, _ = fmt.Fprintln(w, msg)
				}
			}
			_, _ = fmt.Fprintln(w, ProgressLine(s))
			for _, l := range GeneratorLines(s) {
				_, _ = fmt.Fprintln(w, l)
			}
			if s.Done {
				return nil
			}
		}
	}
}
