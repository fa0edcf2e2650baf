package dashboard

import (
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/flashload/flashload/result"
)

// Default terminal size until the first WindowSizeMsg arrives.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

// snapMsg carries a snapshot read by the poll command (outside Update).
type snapMsg result.Snapshot

// keyMap is the dashboard's keys, shown by the help bubble.
type keyMap struct {
	Stop key.Binding
	Help key.Binding
}

func (k keyMap) ShortHelp() []key.Binding  { return []key.Binding{k.Stop, k.Help} }
func (k keyMap) FullHelp() [][]key.Binding { return [][]key.Binding{{k.Stop, k.Help}} }

func newKeyMap() keyMap {
	return keyMap{
		Stop: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop gracefully (summary still written)")),
		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
	}
}

// model is the bubbletea model. Update is pure: the snapshot is read by a Cmd (poll) and comes
// back as a snapMsg; stop() is called by a Cmd, too.
type model struct {
	source   func() result.Snapshot
	stop     func()
	interval time.Duration

	st   styles
	bar  progress.Model
	help help.Model
	keys keyMap

	snap     result.Snapshot
	have     bool // at least one snapshot arrived
	width    int
	height   int
	showHelp bool
	stopping bool // stop() was requested; waiting for the run to report Done

	charts *chartCache // shared by the copies of the model; only the program goroutine uses it
}

func newModel(source func() result.Snapshot, stop func(), interval time.Duration, r *lipgloss.Renderer) model {
	h := help.New()
	h.ShowAll = false
	return model{
		source:   source,
		stop:     stop,
		interval: interval,
		st:       newStyles(r),
		bar: progress.New(
			progress.WithSolidFill("75"),
			progress.WithoutPercentage(),
			progress.WithColorProfile(r.ColorProfile()),
		),
		help:   h,
		keys:   newKeyMap(),
		width:  defaultWidth,
		height: defaultHeight,
		charts: &chartCache{},
	}
}

// Init reads the first snapshot at once; later ones come from poll.
func (m model) Init() tea.Cmd {
	src := m.source
	return func() tea.Msg { return snapMsg(src()) }
}

// poll reads the source after one interval, on bubbletea's command goroutine.
func (m model) poll() tea.Cmd {
	src := m.source
	return tea.Tick(m.interval, func(time.Time) tea.Msg { return snapMsg(src()) })
}

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case snapMsg:
		m.snap = sanitized(result.Snapshot(msg))
		m.have = true
		if m.snap.Done {
			return m, tea.Quit
		}
		return m, m.poll()
	case ctxDoneMsg:
		return m, tea.Quit
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, m.keys.Stop):
			if m.stopping {
				return m, tea.Quit
			}
			m.stopping = true
			stop := m.stop
			return m, func() tea.Msg { stop(); return nil }
		case key.Matches(msg, m.keys.Help):
			m.showHelp = !m.showHelp
			return m, nil
		}
	}
	return m, nil
}
