package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var binary struct {
	once sync.Once
	path string
	err  error
}

// FlashloadBinary builds cmd/flashload once per test process and returns its path, for tests
// that run the real thing: `serve` replicas as processes of their own.
func FlashloadBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "flashload-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "flashload")
		if out, err := exec.Command("go", "build", "-o", binary.path, "github.com/flashload/flashload/cmd/flashload").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}
