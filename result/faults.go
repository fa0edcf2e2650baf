package result

// Fault is one fault of a scenario as a live run applied it. Times are scenario seconds, like
// the timeline's T, so a fault lines up with the windows it touched: AtS is when the scenario
// asked for it, AppliedAtS when it took effect (the scenario clock at that instant). A fault
// that lasts also has EndS (asked) and EndedAtS (undone: a process resumed or started again, a
// toxic removed); a fault still in effect when the load ended is undone then, before the audit.
type Fault struct {
	AtS        float64 `json:"at_s"`
	Kind       string  `json:"kind"` // redis:kill, network:store, target:stall, ...
	Detail     string  `json:"detail,omitempty"`
	AppliedAtS float64 `json:"applied_at_s"`
	OK         bool    `json:"ok"`
	Error      string  `json:"error,omitempty"`
	EndS       float64 `json:"end_s,omitempty"`
	EndedAtS   float64 `json:"ended_at_s,omitempty"`
}

// Span is the scenario time the fault was in effect: from AppliedAtS (AtS when it was never
// applied) to EndedAtS, else EndS, else an instant.
func (f *Fault) Span() (from, to float64) {
	from = f.AppliedAtS
	if !f.OK && from == 0 {
		from = f.AtS
	}
	to = from
	switch {
	case f.EndedAtS > 0:
		to = f.EndedAtS
	case f.EndS > 0:
		to = f.EndS
	}
	return from, max(from, to)
}

// MarkFaults names, on every timeline window, the faults in effect during it (an instant fault
// marks the window it fell in).
func MarkFaults(s *Summary) {
	for i := range s.Timeline {
		p := &s.Timeline[i]
		p.Faults = nil
		end := s.ScenarioTimeS
		if i+1 < len(s.Timeline) {
			end = s.Timeline[i+1].T
		}
		for j := range s.Faults {
			from, to := s.Faults[j].Span()
			if from < end && to >= p.T {
				p.Faults = append(p.Faults, s.Faults[j].Kind)
			}
		}
	}
}
