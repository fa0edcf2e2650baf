// Package parity holds the test that plays one scenario through the live engine (against the
// reference target, in-process) and through the simulator, and checks that both apply the one
// set of journey rules of package scenario: they retry the same answers and count the same
// outcomes. It has no code of its own: it only wires the three together, as cmd/flashload does.
package parity
