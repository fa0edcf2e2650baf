package stores

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a store's server as faults see it: killed, paused, resumed and started again on
// the same port and directory. Signals go to the server's process group (PostgreSQL's
// backends are children of the postmaster), so a pause stops the whole server.
type process struct {
	what    string           // "redis-server", "postgres"
	command func() *exec.Cmd // a fresh command starting the server on its port and directory
	ready   func(context.Context) error
	timeout time.Duration // the bound of a start's wait for ready
	stopSig os.Signal     // the graceful shutdown signal
	grace   time.Duration // how long Stop waits before SIGKILL

	mu     sync.Mutex
	p      *proc
	paused bool
}

// ErrNotRunning is returned by Kill, Pause and Resume when the server is not running.
var ErrNotRunning = errors.New("not running")

// start runs command once and waits until ready.
func (s *process) start(ctx context.Context) error {
	p, err := startProc(s.command())
	if err != nil {
		return fmt.Errorf("starting %s: %w", s.what, err)
	}
	s.mu.Lock()
	s.p, s.paused = p, false
	s.mu.Unlock()
	return waitReady(ctx, p, s.timeout, s.what, s.ready)
}

// running is the live process, or nil.
func (s *process) running() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil || s.p.exited() {
		return nil
	}
	return s.p
}

// Pid is the server's process id, 0 when it is not running.
func (s *process) Pid() int {
	if p := s.running(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Running says whether the server's process is alive (paused counts as alive).
func (s *process) Running() bool { return s.running() != nil }

// Kill ends the server with SIGKILL, as a crash would: no shutdown, nothing flushed.
func (s *process) Kill() error {
	p := s.running()
	if p == nil {
		return fmt.Errorf("kill %s: %w", s.what, ErrNotRunning)
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return nil
}

// Pause stops the server (SIGSTOP to its process group): connections stay open and nothing
// answers until Resume.
func (s *process) Pause() error { return s.signal(syscall.SIGSTOP, true) }

// Resume continues a paused server (SIGCONT).
func (s *process) Resume() error { return s.signal(syscall.SIGCONT, false) }

func (s *process) signal(sig syscall.Signal, paused bool) error {
	p := s.running()
	if p == nil {
		return fmt.Errorf("signal %s: %w", s.what, ErrNotRunning)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %s: %w", s.what, err)
	}
	s.mu.Lock()
	s.paused = paused
	s.mu.Unlock()
	if sig == syscall.SIGSTOP {
		return WaitStopped(p.cmd.Process.Pid, stopWait)
	}
	return nil
}

// stopWait bounds the wait for a SIGSTOP to take effect.
const stopWait = 10 * time.Second

// Restart stops the server if it runs (gracefully, or killed after its grace) and starts it
// again on the same port and directory, waiting until it answers.
func (s *process) Restart(ctx context.Context) error {
	s.shutdown()
	return s.start(ctx)
}

// shutdown stops a running server: resumed first if paused, then the graceful signal.
func (s *process) shutdown() {
	p := s.running()
	if p == nil {
		return
	}
	s.mu.Lock()
	paused := s.paused
	s.mu.Unlock()
	if paused {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGCONT)
	}
	p.stop(s.stopSig, s.grace)
	// Whatever the server left behind in its group (a backend past the postmaster's death).
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// WaitStopped waits until every thread of the process pid is stopped after a SIGSTOP, at most
// timeout: a pause has then taken effect, and nothing of the process answers until SIGCONT.
func WaitStopped(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !stopped(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d not stopped %v after SIGSTOP", pid, timeout)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// SysProcAttr is how stores are started, for other processes a rehearsal owns (the target's
// replicas): their own process group, and on Linux killed when their parent dies.
func SysProcAttr() *syscall.SysProcAttr { return sysProcAttr() }
