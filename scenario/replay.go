package scenario

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WithReplay returns a copy of s whose traffic is the replay curve in file (t,rps rows, as
// traffic.replay reads them): `plan --traffic` and `sim --traffic` size a scenario to an
// imported or forecast curve. The stages go and the duration becomes the curve's; journeys,
// SKUs, the model, faults and gates stay, and so do compress and rate_scale (a stage's own
// compression goes with its stage).
func (s *Scenario) WithReplay(file string) (*Scenario, error) {
	if s.Traffic.Model == "closed" {
		return nil, fmt.Errorf("--traffic %s: %s runs the closed model (traffic.model: closed), which has no arrival curve to replace", file, s.Name)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--traffic: %w", err)
	}
	pts, err := readReplay(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("--traffic %s: %w", file, err)
	}
	last := pts[len(pts)-1].T
	if _, err := NewReplayCurve(pts, last); err != nil {
		return nil, fmt.Errorf("--traffic %s: %w", file, err)
	}
	c := *s
	c.Traffic.Replay, c.ReplayPoints = filepath.Clean(file), pts
	c.Traffic.Stages, c.Traffic.StartRPS = nil, 0
	c.Duration = Duration(last)
	return &c, nil
}
