package dashboard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

// TestE2EDashboardTmux runs scripts/e2e-dashboard: a real `flashload run` against a real
// `flashload serve` inside tmux, checking the pane shows rate and p99 and that q still leaves
// a summary.json. tmux is required under CI (scripts/test installs it).
func TestE2EDashboardTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the CLI")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if testenv.Required() {
			t.Fatal("tmux is not installed: scripts/test installs it")
		}
		t.Skip("tmux is not installed")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "e2e-dashboard"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	// The tests' one binary: the script's own `go build` would compile the module again in a
	// build configuration of its own.
	cmd.Env = append(os.Environ(), "FLASHLOAD_BIN="+testenv.FlashloadBinary(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/e2e-dashboard: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
