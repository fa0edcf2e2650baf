//go:build race

package sim

// raceEnabled shrinks the long statistical tests: the race detector makes the simulation
// about ten times slower, and these tests check the model, not concurrency.
const raceEnabled = true
