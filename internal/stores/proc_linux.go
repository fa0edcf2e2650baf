package stores

import "syscall"

// sysProcAttr makes a store die with the process that started it (no orphans after a crash of
// the test binary) and keeps it out of the terminal's process group (Ctrl-C reaches the
// parent, which stops the store in order).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
