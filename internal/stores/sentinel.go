package stores

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelPackage is the Debian package that provides redis-sentinel.
const SentinelPackage = "redis-sentinel"

// SentinelMaster is the master name the sentinels of a RedisSentinel monitor.
const SentinelMaster = "flashload"

// Sentinel timing: a primary that does not answer for sentinelDownAfter is down; a failover
// that has not ended within sentinelFailoverTimeout is given up (and may be tried again).
const (
	sentinelDownAfter       = 1000 * time.Millisecond
	sentinelFailoverTimeout = 5000 * time.Millisecond
	// failoverWait bounds how long Failover waits for the sentinels to name the new primary.
	failoverWait = 20 * time.Second
)

// sentinelFallback is tried when redis-sentinel is not in PATH.
var sentinelFallback = "/usr/bin/redis-sentinel"

// SentinelBin finds redis-sentinel in PATH (or /usr/bin); missing, it names the package.
func SentinelBin() (string, error) {
	if p, err := exec.LookPath("redis-sentinel"); err == nil {
		return p, nil
	}
	if st, err := os.Stat(sentinelFallback); err == nil && !st.IsDir() {
		return sentinelFallback, nil
	}
	return "", fmt.Errorf("redis-sentinel is not in PATH (install the Debian package %q: apt-get install %s): %w",
		SentinelPackage, SentinelPackage, ErrMissing)
}

// RedisSentinel is a throwaway Sentinel-managed Redis: two redis-servers, a primary and one
// replica of it (asynchronous replication, no persistence), and three redis-sentinel processes
// monitoring them as SentinelMaster with a quorum of 2, each on a free loopback port. Clients
// connect through URL (redis+sentinel://) and follow the primary when it changes.
//
// Kill, Pause, Resume and Restart act on the current primary (the one the sentinels name when
// the fault starts; Resume and Restart on the one the fault hit): a killed or paused primary
// is failed over by the sentinels after sentinelDownAfter. Failover is SENTINEL FAILOVER.
type RedisSentinel struct {
	Servers   [2]*Redis // the primary and the replica at the start; which is primary changes
	sentinels []*sentinelProc

	mu  sync.Mutex
	hit *Redis // the server the last Kill or Pause acted on
}

type sentinelProc struct {
	port int
	dir  string
	process
}

func (s *sentinelProc) Addr() string { return net.JoinHostPort("127.0.0.1", itoa(s.port)) }

// StartRedisSentinel starts the primary, its replica and three sentinels, and waits until the
// replica is in sync and every sentinel knows the replica and the two other sentinels (so a
// failover, ordered or after a crash, can happen at once).
func StartRedisSentinel(ctx context.Context, o Options) (*RedisSentinel, error) {
	o.defaults()
	bin, err := SentinelBin()
	if err != nil {
		return nil, err
	}
	if _, err := RedisBin(); err != nil {
		return nil, err
	}
	rs := &RedisSentinel{}
	ok := false
	defer func() {
		if !ok {
			rs.Stop()
		}
	}()
	if rs.Servers[0], err = StartRedis(ctx, o); err != nil {
		return nil, err
	}
	ro := o
	ro.RedisArgs = append([]string{"--replicaof", "127.0.0.1", itoa(rs.Servers[0].Port())}, o.RedisArgs...)
	if rs.Servers[1], err = StartRedis(ctx, ro); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		s, err := startSentinel(ctx, bin, o, rs.Servers[0].Port())
		if s != nil {
			rs.sentinels = append(rs.sentinels, s)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := rs.settle(ctx, o.StartTimeout); err != nil {
		return nil, err
	}
	ok = true
	return rs, nil
}

func startSentinel(ctx context.Context, bin string, o Options, primary int) (*sentinelProc, error) {
	dir, err := os.MkdirTemp(o.Dir, "flashload-sentinel-")
	if err != nil {
		return nil, err
	}
	s := &sentinelProc{dir: dir}
	conf := filepath.Join(dir, "sentinel.conf")
	s.process = process{what: "redis-sentinel", ready: func(ctx context.Context) error { return pingRedis(ctx, s.Addr()) },
		timeout: o.StartTimeout, stopSig: syscall.SIGTERM, grace: 5 * time.Second,
		command: func() *exec.Cmd { return exec.Command(bin, conf) }}
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return s, err
		}
		// Sentinel rewrites its configuration file: a fresh one per attempt.
		cfg := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s %d\nsentinel parallel-syncs %s 1\n",
			s.port, dir, SentinelMaster, primary, SentinelMaster, sentinelDownAfter.Milliseconds(),
			SentinelMaster, sentinelFailoverTimeout.Milliseconds(), SentinelMaster)
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			return s, err
		}
		err = s.start(ctx)
		if err == nil || s.Running() || attempt == 2 {
			return s, err
		}
	}
}

// settle waits until the replica is in sync and each sentinel sees one replica and two peers.
func (rs *RedisSentinel) settle(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = rs.ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Sentinel-managed Redis not ready after %s: %v", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (rs *RedisSentinel) ready(ctx context.Context) error {
	primary, err := rs.Primary(ctx)
	if err != nil {
		return err
	}
	replica := rs.Servers[0]
	if primary == replica {
		replica = rs.Servers[1]
	}
	info, err := rs.info(ctx, replica.Addr())
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_port:"+itoa(primary.Port())+"\r\n") || !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("the replica %s is not in sync with the primary %s yet", replica.Addr(), primary.Addr())
	}
	for _, s := range rs.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		reps, err := c.Replicas(ctx, SentinelMaster).Result()
		if err == nil && (len(reps) != 1 || reps[0]["port"] != itoa(replica.Port()) || reps[0]["flags"] != "slave") {
			err = fmt.Errorf("sentinel %s sees the replicas %v", s.Addr(), reps)
		}
		if err == nil {
			var peers []map[string]string
			if peers, err = c.Sentinels(ctx, SentinelMaster).Result(); err == nil && len(peers) != 2 {
				err = fmt.Errorf("sentinel %s knows %d other sentinels", s.Addr(), len(peers))
			}
		}
		c.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Settle waits (up to timeout) until the setup is whole again after a fault: a primary, the
// other server its replica in sync, every sentinel seeing that replica up and its two peers.
// Sentinel turns an old primary into a replica some seconds after a failover.
func (rs *RedisSentinel) Settle(ctx context.Context, timeout time.Duration) error {
	return rs.settle(ctx, timeout)
}

func (rs *RedisSentinel) info(ctx context.Context, addr string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	return c.Info(ctx, "replication").Result()
}

// URL is redis+sentinel://S1,S2,S3/SentinelMaster/0.
func (rs *RedisSentinel) URL() string {
	addrs := make([]string, len(rs.sentinels))
	for i, s := range rs.sentinels {
		addrs[i] = s.Addr()
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + SentinelMaster + "/0"
}

// Primary is the server the sentinels name as primary now (asked of each in turn until one
// answers).
func (rs *RedisSentinel) Primary(ctx context.Context) (*Redis, error) {
	addr, err := rs.primaryAddr(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rs.Servers {
		if r.Addr() == addr {
			return r, nil
		}
	}
	return nil, fmt.Errorf("the sentinels name %s as primary, which is neither server", addr)
}

func (rs *RedisSentinel) primaryAddr(ctx context.Context) (string, error) {
	var errs []error
	for _, s := range rs.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		a, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		c.Close()
		if err == nil && len(a) == 2 {
			return net.JoinHostPort(a[0], a[1]), nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no sentinel names the primary: %w", errors.Join(errs...))
}

// Failover orders a failover (SENTINEL FAILOVER: the replica is promoted at once, without
// waiting for it to have every write of the primary) and waits until the sentinels name the
// new primary and it answers as one.
func (rs *RedisSentinel) Failover(ctx context.Context) error {
	old, err := rs.primaryAddr(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, failoverWait)
	defer cancel()
	var ordered error
	for _, s := range rs.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		ordered = c.Failover(ctx, SentinelMaster).Err()
		c.Close()
		if ordered == nil {
			break
		}
	}
	if ordered != nil {
		return fmt.Errorf("SENTINEL FAILOVER %s: %w", SentinelMaster, ordered)
	}
	for {
		if now, err := rs.primaryAddr(ctx); err == nil && now != old {
			if info, err := rs.info(ctx, now); err == nil && strings.Contains(info, "role:master") {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("failover ordered, but no new primary within %s", failoverWait)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill ends the current primary with SIGKILL; the sentinels fail over after their down-after
// time.
func (rs *RedisSentinel) Kill() error {
	p, err := rs.strike()
	if err != nil {
		return err
	}
	return p.Kill()
}

// Pause stops the current primary (SIGSTOP); paused longer than the down-after time, it is
// failed over.
func (rs *RedisSentinel) Pause() error {
	p, err := rs.strike()
	if err != nil {
		return err
	}
	return p.Pause()
}

// Resume continues the server Pause stopped.
func (rs *RedisSentinel) Resume() error { return rs.struck().Resume() }

// Restart starts the server Kill ended (or, without one, the current primary) again on its port
// and directory. A server that comes back empty as a primary before the sentinels failed it
// over makes its replica resynchronise from it and lose everything: Redis's own warning about
// Sentinel without persistence, left visible.
func (rs *RedisSentinel) Restart(ctx context.Context) error {
	rs.mu.Lock()
	p := rs.hit
	rs.mu.Unlock()
	if p == nil {
		var err error
		if p, err = rs.strike(); err != nil {
			return err
		}
	}
	return p.Restart(ctx)
}

func (rs *RedisSentinel) strike() (*Redis, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := rs.Primary(ctx)
	if err != nil {
		return nil, err
	}
	rs.mu.Lock()
	rs.hit = p
	rs.mu.Unlock()
	return p, nil
}

func (rs *RedisSentinel) struck() *Redis {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.hit == nil {
		return rs.Servers[0]
	}
	return rs.hit
}

// Stop ends the sentinels and both servers and removes their directories. Safe to repeat.
func (rs *RedisSentinel) Stop() error {
	var errs []error
	for _, s := range rs.sentinels {
		s.shutdown()
		if s.dir != "" {
			errs = append(errs, os.RemoveAll(s.dir))
			s.dir = ""
		}
	}
	for _, r := range rs.Servers {
		if r != nil {
			errs = append(errs, r.Stop())
		}
	}
	return errors.Join(errs...)
}

// pingRedis dials addr and expects +PONG.
func pingRedis(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	return c.Ping(ctx).Err()
}
