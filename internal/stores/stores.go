// Package stores starts throwaway stores as real processes: a PostgreSQL cluster (initdb in a
// temporary directory) and a redis-server, each on a free loopback port, for tests, `rehearse`
// and scripts. Stop ends the process and removes everything it wrote. A missing binary is an
// error naming the Debian package to install; every wait is bounded.
package stores

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// Options tune a throwaway store. Zero values take the defaults.
type Options struct {
	// Dir is where the temporary directory is created ("" is os.TempDir()). Run as root,
	// PostgreSQL runs as the user "postgres", who must be able to enter Dir.
	Dir string
	// StartTimeout bounds the wait for the store to accept connections (default 30s).
	StartTimeout time.Duration
	// RedisArgs are extra redis-server arguments, after the defaults (which they override):
	// "--appendonly", "yes", "--appendfsync", "always" makes a killed server lose nothing it
	// acknowledged.
	RedisArgs []string
	// SyncCommit runs PostgreSQL with synchronous_commit on: a commit is acknowledged once its
	// WAL is written, so a killed server (a process crash) loses nothing committed. fsync stays
	// off either way: a machine crash may lose the last commits, and it is not a fault anything
	// here rehearses. Off (the default, for tests), the last commits of a killed server may be
	// lost.
	SyncCommit bool
}

func (o *Options) defaults() {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
}

// ErrMissing is wrapped by the errors that say a store's binary is not installed.
var ErrMissing = errors.New("not installed")

// freePort asks the kernel for a free loopback TCP port. The port is free when it returns; a
// store that loses the race for it fails to bind, and the caller retries with another.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// proc is a store's server process and its log.
type proc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

func startProc(cmd *exec.Cmd) (*proc, error) {
	p := &proc{cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = sysProcAttr()
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig, waits up to grace, then kills.
func (p *proc) stop(sig os.Signal, grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the end of the process's output, for error messages.
func (p *proc) tail() string {
	b := p.log.Bytes()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// waitReady polls ready until it succeeds, the process exits, ctx ends or timeout passes.
func waitReady(ctx context.Context, p *proc, timeout time.Duration, what string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("%s exited while starting (%v): %s", what, p.err, p.tail())
		}
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v; log: %s", what, timeout, last, p.tail())
		case <-p.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the log bounded
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func itoa(n int) string { return strconv.Itoa(n) }
