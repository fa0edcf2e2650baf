package inventory

import (
	"context"
	"slices"
	"testing"
)

// Every strategy says where its state lives: a strategy added to Names without its stores would
// be started by rehearse without them, or rejected as a fleet.
func TestEveryStrategyNamesItsStores(t *testing.T) {
	inProcess := []string{"naive", "memory", "sharded"}
	for _, name := range Names {
		if slices.Contains(inProcess, name) {
			if Shared(name) {
				t.Errorf("%s keeps its state in the process, yet StoresOf says %v", name, StoresOf(name))
			}
			s, err := New(context.Background(), Config{Name: name})
			if err != nil {
				t.Fatalf("%s without any store: %v", name, err)
			}
			s.Close()
			continue
		}
		if !Shared(name) {
			t.Errorf("%s: StoresOf names no store; add it to the stores table", name)
		}
	}
}
