package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BinaryEnv names a flashload binary already built with the Dockerfile's build command.
// scripts/test builds it once for every test process: each process building its own cost the
// run a compile of the whole module per process (about 100 s of two cores from an empty cache).
const BinaryEnv = "FLASHLOAD_TEST_BINARY"

var binary struct {
	once  sync.Once
	path  string
	built string // the temporary directory of a binary this process built
	err   error
}

// FlashloadBinary returns the flashload binary for tests that run the real thing (`serve`
// replicas, generators, the CLI as a process): the one named by BinaryEnv, else one built on
// the first call with the Dockerfile's own build command, so the tests drive what the image
// ships. Main removes a binary the process built.
func FlashloadBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		if p := os.Getenv(BinaryEnv); p != "" {
			if _, err := os.Stat(p); err != nil {
				binary.err = fmt.Errorf("%s: %w", BinaryEnv, err)
			}
			binary.path = p
			return
		}
		binary.path, binary.err = buildFlashload()
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func buildFlashload() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return "", err
	}
	cmdline, err := DockerBuildCommand(string(b))
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "flashload-bin-")
	if err != nil {
		return "", err
	}
	binary.built = dir
	path := filepath.Join(dir, "flashload")
	c := exec.Command("sh", "-c", strings.Replace(cmdline, " -o /out/flashload ", " -o "+path+" ", 1))
	c.Dir = root
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", cmdline, err, out)
	}
	return path, nil
}

// DockerBuildCommand is the Dockerfile's `RUN CGO_ENABLED=0 go build ...` line without RUN; an
// error when there is none or it does not write /out/flashload.
func DockerBuildCommand(dockerfile string) (string, error) {
	for _, l := range strings.Split(dockerfile, "\n") {
		if cmd, ok := strings.CutPrefix(strings.TrimSpace(l), "RUN CGO_ENABLED=0 go build "); ok {
			cmd = "CGO_ENABLED=0 go build " + cmd
			if !strings.Contains(cmd, " -o /out/flashload ") {
				return "", fmt.Errorf("the Dockerfile's build command %q does not write /out/flashload", cmd)
			}
			return cmd, nil
		}
	}
	return "", errors.New("the Dockerfile has no RUN CGO_ENABLED=0 go build line")
}

// moduleRoot is the nearest directory at or above the working directory with a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}

// Main runs the package's tests, then removes the binary FlashloadBinary built, if it did.
// A package whose tests call FlashloadBinary calls it from its TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binary.built != "" {
		os.RemoveAll(binary.built)
	}
	os.Exit(code)
}
