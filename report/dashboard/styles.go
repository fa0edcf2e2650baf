package dashboard

import "github.com/charmbracelet/lipgloss"

// styles holds every style of the dashboard, made from one renderer so colours follow the
// terminal the dashboard draws on (and tests can force a profile).
type styles struct {
	title    lipgloss.Style
	dim      lipgloss.Style
	section  lipgloss.Style
	value    lipgloss.Style
	good     lipgloss.Style
	bad      lipgloss.Style // oversold, unreachable: red
	warn     lipgloss.Style
	target   lipgloss.Style // the target rate line
	achieved lipgloss.Style // the achieved rate line
	spark    lipgloss.Style
	axis     lipgloss.Style
	fault    lipgloss.Style // a fault's marker on the chart and its line
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		title:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("212")),
		dim:      r.NewStyle().Foreground(lipgloss.Color("244")),
		section:  r.NewStyle().Bold(true).Foreground(lipgloss.Color("75")),
		value:    r.NewStyle().Bold(true),
		good:     r.NewStyle().Foreground(lipgloss.Color("42")),
		bad:      r.NewStyle().Bold(true).Foreground(lipgloss.Color("196")),
		warn:     r.NewStyle().Foreground(lipgloss.Color("214")),
		target:   r.NewStyle().Foreground(lipgloss.Color("244")),
		achieved: r.NewStyle().Foreground(lipgloss.Color("81")),
		spark:    r.NewStyle().Foreground(lipgloss.Color("213")),
		axis:     r.NewStyle().Foreground(lipgloss.Color("240")),
		fault:    r.NewStyle().Foreground(lipgloss.Color("203")),
	}
}
