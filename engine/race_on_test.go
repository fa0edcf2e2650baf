//go:build race

package engine

// raceEnabled: the race detector slows the in-process target several times over.
const raceEnabled = true
