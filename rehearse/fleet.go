package rehearse

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flashload/flashload/internal/stores"
	"github.com/flashload/flashload/target/inventory"
)

// FleetOptions configure a local fleet: the reference target as several `flashload serve`
// processes on one set of stores.
type FleetOptions struct {
	Replicas int
	Target   TargetOptions // every replica's strategy, stores (one Scope for all) and limits
	// Binary is the flashload executable the replicas run; "" is this process's own
	// (os.Executable), which is flashload when rehearse runs from the CLI.
	Binary string
	// StartTimeout bounds the wait for a replica to listen (default 15s).
	StartTimeout time.Duration
	// Standby adds replicas that are not started (an autoscaled fleet's room to grow: Start
	// them later). Each has its loopback port from the outset, so URLs lists them all.
	Standby int
}

// Fleet is a local fleet of `serve` processes, one service: the rehearsal spreads its requests
// over URLs. Each replica keeps its loopback port for its life, so Kill, Start, Restart, Pause
// and Resume (the target faults) leave the list of URLs valid.
type Fleet struct {
	Replicas []*Replica
	token    string
}

// Replica is one `serve` process of a Fleet.
type Replica struct {
	Index   int
	bin     string
	args    []string // serve's flags, but --addr
	env     []string
	timeout time.Duration

	mu     sync.Mutex
	addr   string // 127.0.0.1:PORT once the first start listened
	cmd    *exec.Cmd
	done   chan struct{}
	log    *logTail
	paused bool
}

// StartFleet starts o.Replicas serve processes and waits until every one listens. A fleet of
// more than one needs a strategy that keeps its state in a store (inventory.Shared).
func StartFleet(ctx context.Context, o FleetOptions) (*Fleet, error) {
	if o.Replicas < 1 {
		return nil, fmt.Errorf("a fleet needs at least one replica, not %d", o.Replicas)
	}
	if o.Replicas+o.Standby > 1 && !inventory.Shared(o.Target.Strategy) {
		return nil, fmt.Errorf("strategy %s keeps its state in the process: it cannot run as %d replicas", o.Target.Strategy, o.Replicas+o.Standby)
	}
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("the flashload binary for the replicas: %w", err)
		}
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	f := &Fleet{token: hex.EncodeToString(tok[:])}
	args := serveArgs(o.Target)
	// The token in the environment, not on a command line anyone can read.
	env := append(os.Environ(), "FLASHLOAD_ADMIN_TOKEN="+f.token)
	for i := range o.Replicas + o.Standby {
		r := &Replica{Index: i, bin: bin, args: append(slices.Clone(args), "--replica-id", ReplicaID(i)), env: env, timeout: o.StartTimeout}
		if i >= o.Replicas {
			var err error
			if r.addr, err = freeLoopback(); err != nil {
				return nil, err
			}
		}
		f.Replicas = append(f.Replicas, r)
	}
	errs := make([]error, o.Replicas)
	var wg sync.WaitGroup
	for i, r := range f.Replicas[:o.Replicas] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.Start(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, f.Stop(context.Background()))
	}
	return f, nil
}

// ReplicaID is the name replica i of a rehearsal's target gives on every answer
// (X-Flashload-Replica): replica-0, replica-1, ..., as the simulator names its replicas.
func ReplicaID(i int) string { return "replica-" + strconv.Itoa(i) }

// Addr is the replica's loopback host:port ("" before its first start).
func (r *Replica) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

// freeLoopback is a loopback address whose port was free a moment ago.
func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// serveArgs are the flags of `flashload serve` for o (without --addr).
func serveArgs(o TargetOptions) []string {
	args := []string{"serve", "--strategy", o.Strategy,
		"--max-inflight", strconv.Itoa(o.MaxInflight),
		"--max-rps", strconv.FormatFloat(o.MaxRPS, 'g', -1, 64)}
	if o.ReservationTTL > 0 {
		args = append(args, "--reservation-ttl", o.ReservationTTL.String())
	}
	if o.Redis != "" {
		args = append(args, "--redis", o.Redis)
	}
	if o.RedisPrefix != "" {
		args = append(args, "--redis-prefix", o.RedisPrefix)
	}
	if o.RedisWait > 0 {
		args = append(args, "--redis-wait", strconv.Itoa(o.RedisWait))
	}
	if o.Postgres != "" {
		args = append(args, "--postgres", o.Postgres)
	}
	if o.Workers > 0 {
		args = append(args, "--workers", strconv.Itoa(o.Workers), "--work", o.Work.String())
	}
	return args
}

// URLs are the replicas' base URLs, in order.
func (f *Fleet) URLs() []string {
	urls := make([]string, len(f.Replicas))
	for i, r := range f.Replicas {
		urls[i] = r.URL()
	}
	return urls
}

// AdminToken is the bearer token of every replica's admin routes.
func (f *Fleet) AdminToken() string { return f.token }

// Replica returns replica i, or an error naming the fleet's size.
func (f *Fleet) Replica(i int) (*Replica, error) {
	if i < 0 || i >= len(f.Replicas) {
		return nil, fmt.Errorf("no replica %d: the fleet has %d (0..%d)", i, len(f.Replicas), len(f.Replicas)-1)
	}
	return f.Replicas[i], nil
}

// Stop ends every replica: SIGTERM (each drains its in-flight requests), SIGKILL for those
// still running when ctx ends. Safe to repeat.
func (f *Fleet) Stop(ctx context.Context) error {
	errs := make([]error, len(f.Replicas))
	var wg sync.WaitGroup
	for i, r := range f.Replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.Stop(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// URL is the replica's base URL (http://127.0.0.1:PORT), the same across restarts.
func (r *Replica) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return "http://" + r.addr
}

// Pid is the replica's process id, 0 when it is not running.
func (r *Replica) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.runningLocked() {
		return 0
	}
	return r.cmd.Process.Pid
}

// Running says whether the replica's process is alive (paused counts as alive).
func (r *Replica) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runningLocked()
}

func (r *Replica) runningLocked() bool {
	if r.cmd == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// Log is the end of the replica's output (both streams), for error messages.
func (r *Replica) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log == nil {
		return ""
	}
	return r.log.String()
}

// Start starts the replica (again, on its port, after Kill or Stop) and waits until it
// listens. Starting a running replica is an error.
func (r *Replica) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.runningLocked() {
		r.mu.Unlock()
		return fmt.Errorf("replica %d is running", r.Index)
	}
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0" // the first start picks a free port, kept from then on
	}
	cmd := exec.Command(r.bin, append(slices.Clone(r.args), "--addr", addr)...)
	cmd.Env = r.env
	cmd.SysProcAttr = stores.SysProcAttr()
	log := &logTail{}
	cmd.Stdout = log
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.mu.Unlock()
		return err
	}
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("replica %d: %w", r.Index, err)
	}
	done := make(chan struct{})
	r.cmd, r.done, r.log, r.paused = cmd, done, log, false
	r.mu.Unlock()

	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			log.Write([]byte(line + "\n"))
			if _, rest, ok := strings.Cut(line, "listening on http://"); ok {
				a, _, _ := strings.Cut(rest, " ")
				select {
				case listening <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(done)
	}()
	t := time.NewTimer(r.timeout)
	defer t.Stop()
	select {
	case a := <-listening:
		r.mu.Lock()
		r.addr = a
		r.mu.Unlock()
		return nil
	case <-done:
		return fmt.Errorf("replica %d exited while starting (%v): %s", r.Index, cmd.ProcessState, log.String())
	case <-t.C:
		err = fmt.Errorf("replica %d did not listen within %s: %s", r.Index, r.timeout, log.String())
	case <-ctx.Done():
		err = fmt.Errorf("replica %d: %w", r.Index, ctx.Err())
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-done
	return err
}

// Kill ends the replica with SIGKILL, as a crash would: no drain, nothing said.
func (r *Replica) Kill() error { return r.end(context.Background(), syscall.SIGKILL) }

// Stop ends the replica gracefully (SIGTERM: it drains in-flight requests), with SIGKILL when
// ctx ends first. Stopping a stopped replica does nothing.
func (r *Replica) Stop(ctx context.Context) error {
	if !r.Running() {
		return nil
	}
	return r.end(ctx, syscall.SIGTERM)
}

// Restart stops the replica gracefully if it runs and starts it again on its port.
func (r *Replica) Restart(ctx context.Context) error {
	if err := r.Stop(ctx); err != nil {
		return err
	}
	return r.Start(ctx)
}

// Pause freezes the replica (SIGSTOP): its connections stay open and nothing answers until
// Resume, a stalled service.
func (r *Replica) Pause() error { return r.signal(syscall.SIGSTOP, true) }

// Resume continues a paused replica (SIGCONT).
func (r *Replica) Resume() error { return r.signal(syscall.SIGCONT, false) }

func (r *Replica) signal(sig syscall.Signal, paused bool) error {
	r.mu.Lock()
	if !r.runningLocked() {
		r.mu.Unlock()
		return fmt.Errorf("replica %d is not running", r.Index)
	}
	p := r.cmd.Process
	if err := p.Signal(sig); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("replica %d: %w", r.Index, err)
	}
	r.paused = paused
	r.mu.Unlock()
	if sig == syscall.SIGSTOP {
		if err := stores.WaitStopped(p.Pid, 10*time.Second); err != nil {
			return fmt.Errorf("replica %d: %w", r.Index, err)
		}
	}
	return nil
}

// end signals the running replica and waits for its exit, killing it when ctx ends first.
func (r *Replica) end(ctx context.Context, sig syscall.Signal) error {
	r.mu.Lock()
	if !r.runningLocked() {
		r.mu.Unlock()
		return fmt.Errorf("replica %d is not running", r.Index)
	}
	p, done, paused := r.cmd.Process, r.done, r.paused
	r.paused = false
	r.mu.Unlock()
	_ = p.Signal(sig)
	if paused && sig != syscall.SIGKILL {
		_ = p.Signal(syscall.SIGCONT) // a stopped process handles SIGTERM once continued
	}
	select {
	case <-done:
	case <-ctx.Done():
		_ = p.Signal(syscall.SIGKILL)
		<-done
	}
	return nil
}

// logTail keeps the last few kilobytes of a replica's output.
type logTail struct {
	mu sync.Mutex
	b  []byte
}

const logTailBytes = 4 << 10

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if len(l.b) > 2*logTailBytes {
		l.b = append(l.b[:0], l.b[len(l.b)-logTailBytes:]...)
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
	}
	return strings.TrimSpace(string(b))
}
