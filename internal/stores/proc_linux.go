package stores

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// sysProcAttr makes a store die with the process that started it (no orphans after a crash of
// the test binary) and keeps it out of the terminal's process group (Ctrl-C reaches the
// parent, which stops the store in order).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// stopped says whether every thread of pid is stopped (or gone): SIGSTOP takes effect when
// each thread next enters the kernel, so on a loaded machine a thread may still answer a
// request after kill(2) returned.
func stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return errors.Is(err, fs.ErrNotExist) // the process is gone: nothing of it runs
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // the thread exited
		}
		// The state is the field after the command name, which ends at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || !strings.ContainsRune("TtZX", rune(b[i+2])) {
			return false
		}
	}
	return true
}
