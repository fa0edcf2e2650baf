package stores

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Redis is a throwaway redis-server: no persistence, its directory in a temporary directory.
// Kill, Pause, Resume and Restart (the faults) keep its port and directory.
type Redis struct {
	dir  string
	port int
	process
}

// RedisPackage is the Debian package that provides redis-server.
const RedisPackage = "redis-server"

// redisFallback is tried when redis-server is not in PATH.
var redisFallback = "/usr/bin/redis-server"

// RedisBin finds redis-server in PATH (or /usr/bin); missing, it names the package.
func RedisBin() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if st, err := os.Stat(redisFallback); err == nil && !st.IsDir() {
		return redisFallback, nil
	}
	return "", fmt.Errorf("redis-server is not in PATH (install the Debian package %q: apt-get install %s): %w",
		RedisPackage, RedisPackage, ErrMissing)
}

// StartRedis starts a redis-server and waits until it answers PING.
func StartRedis(ctx context.Context, o Options) (*Redis, error) {
	o.defaults()
	bin, err := RedisBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "flashload-redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{dir: dir}
	r.process = process{what: "redis-server", ready: r.ping, timeout: o.StartTimeout, stopSig: syscall.SIGTERM, grace: 5 * time.Second,
		command: func() *exec.Cmd {
			return exec.Command(bin, "--bind", "127.0.0.1", "--port", itoa(r.port), "--save", "",
				"--appendonly", "no", "--dir", dir, "--daemonize", "no", "--protected-mode", "no")
		}}
	for attempt := 0; ; attempt++ {
		if r.port, err = freePort(); err != nil {
			r.Stop()
			return nil, err
		}
		err = r.start(ctx)
		if err == nil {
			return r, nil
		}
		if r.Running() || attempt == 2 {
			r.Stop()
			return nil, err
		}
	}
}

func (r *Redis) ping(ctx context.Context) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Addr is host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", itoa(r.port)) }

// URL is redis://HOST:PORT/0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Port is the loopback TCP port.
func (r *Redis) Port() int { return r.port }

// Stop ends the server (SIGTERM, killed after 5s) and removes its directory. Safe to repeat.
func (r *Redis) Stop() error {
	r.shutdown()
	if r.dir == "" {
		return nil
	}
	err := os.RemoveAll(r.dir)
	r.dir = ""
	return err
}
