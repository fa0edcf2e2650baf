package result

// Completion is what a run's caller knows beyond what its engine measured: the strategy and
// target it played against, the fleet's size and scaling, the simulator's predictions to draw
// beside it, warnings of its own, and the gates to judge it by.
type Completion struct {
	Strategy, Target string
	Replicas         *Replicas    // nil: as measured
	Scale            []ScalePoint // the live fleet's replicas over time
	Warnings         []string
	Predicted        *Summary // the simulator's run at the played scale
	FullScale        *Summary // the simulator's run at the full amplitude
	Gates            []string
}

// Complete finishes the run's summary in one step: what the caller adds (c), then the gates,
// evaluated last so that they judge everything the summary says. It reports whether every gate
// passed; err joins the gates that do not parse. After Complete the run is ready to write.
func (r *Run) Complete(c Completion) (pass bool, err error) {
	s := r.Summary
	if c.Strategy != "" {
		s.Strategy = c.Strategy
	}
	if c.Target != "" {
		s.Target = c.Target
	}
	if c.Replicas != nil {
		s.Replicas = *c.Replicas
	}
	if c.Scale != nil {
		s.Scale = c.Scale
	}
	s.Warnings = append(s.Warnings, c.Warnings...)
	if c.Predicted != nil {
		r.Predicted = c.Predicted
	}
	if c.FullScale != nil {
		r.FullScale = c.FullScale
	}
	s.Gates, pass, err = EvaluateGates(s, c.Gates)
	return pass, err
}
