package inventory

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kinds of Redis deployment a RedisAddr names.
const (
	RedisSingle   = "redis"    // redis://HOST:PORT/DB (rediss:// with TLS)
	RedisCluster  = "cluster"  // redis+cluster://H:P,H:P,...
	RedisSentinel = "sentinel" // redis+sentinel://H:P,H:P/MASTER[/DB]
)

// RedisAddr is a parsed --redis address.
type RedisAddr struct {
	Kind     string
	TLS      bool     // rediss://
	Addrs    []string // host:port; one for RedisSingle, seeds for Cluster, sentinels for Sentinel
	DB       int      // not on Cluster
	Master   string   // Sentinel's master name
	Username string
	Password string
	PoolSize int // ?pool_size=N; 0 takes the strategy's default
}

// ParseRedisURL reads redis://[USER:PASS@]HOST[:PORT][/DB], rediss://... (TLS),
// redis+cluster://[USER:PASS@]H:P,H:P,... and redis+sentinel://[USER:PASS@]H:P,H:P/MASTER[/DB].
// The only query option is pool_size. Ports default to 6379 (26379 for sentinels).
func ParseRedisURL(s string) (RedisAddr, error) {
	bad := func(format string, a ...any) (RedisAddr, error) {
		return RedisAddr{}, fmt.Errorf("redis address %q: %s", s, fmt.Sprintf(format, a...))
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad("want redis://HOST:PORT/DB, redis+cluster://H:P,H:P,... or redis+sentinel://H:P,H:P/MASTER")
	}
	var a RedisAddr
	defPort := "6379"
	switch strings.ToLower(scheme) {
	case "redis":
		a.Kind = RedisSingle
	case "rediss":
		a.Kind, a.TLS = RedisSingle, true
	case "redis+cluster":
		a.Kind = RedisCluster
	case "redis+sentinel":
		a.Kind, defPort = RedisSentinel, "26379"
	default:
		return bad("unknown scheme %q (want redis, rediss, redis+cluster or redis+sentinel)", scheme)
	}
	rest, query, _ := strings.Cut(rest, "?")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return bad("query: %v", err)
		}
		for k, v := range q {
			if k != "pool_size" {
				return bad("unknown option %q (the only one is pool_size)", k)
			}
			n, err := strconv.Atoi(v[len(v)-1])
			if err != nil || n < 1 || n > 1<<16 {
				return bad("pool_size must be a number from 1 to 65536")
			}
			a.PoolSize = n
		}
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		info := rest[:i]
		rest = rest[i+1:]
		user, pass, hasPass := strings.Cut(info, ":")
		var err error
		if a.Username, err = url.PathUnescape(user); err != nil {
			return bad("user: %v", err)
		}
		if hasPass {
			if a.Password, err = url.PathUnescape(pass); err != nil {
				return bad("password: %v", err)
			}
		}
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if hosts == "" {
		return bad("no host")
	}
	for _, h := range strings.Split(hosts, ",") {
		addr, err := hostPort(h, defPort)
		if err != nil {
			return bad("%v", err)
		}
		a.Addrs = append(a.Addrs, addr)
	}
	parts := strings.Split(path, "/")
	if path == "" {
		parts = nil
	}
	db := func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1<<20 || strconv.Itoa(n) != v {
			return fmt.Errorf("database %q: want a number", v)
		}
		a.DB = n
		return nil
	}
	switch a.Kind {
	case RedisSingle:
		if len(a.Addrs) != 1 {
			return bad("redis:// takes one host; use redis+cluster:// or redis+sentinel:// for several")
		}
		if len(parts) > 1 {
			return bad("path must be /DB")
		}
		if len(parts) == 1 && parts[0] != "" {
			if err := db(parts[0]); err != nil {
				return bad("%v", err)
			}
		}
	case RedisCluster:
		if len(parts) > 1 || len(parts) == 1 && parts[0] != "" && parts[0] != "0" {
			return bad("Redis Cluster has only database 0")
		}
	case RedisSentinel:
		if len(parts) == 0 || parts[0] == "" {
			return bad("redis+sentinel:// needs the master name: redis+sentinel://H:P,H:P/MASTER")
		}
		if len(parts) > 2 {
			return bad("path must be /MASTER or /MASTER/DB")
		}
		m, err := url.PathUnescape(parts[0])
		if err != nil || m == "" || strings.ContainsAny(m, " \t\r\n") {
			return bad("master name %q", parts[0])
		}
		a.Master = m
		if len(parts) == 2 {
			if err := db(parts[1]); err != nil {
				return bad("%v", err)
			}
		}
	}
	return a, nil
}

func hostPort(h, defPort string) (string, error) {
	host, port := h, defPort
	switch {
	case h == "":
		return "", errors.New("empty host in the list")
	case strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]"):
		host = h[1 : len(h)-1]
	case strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1:
		var err error
		if host, port, err = net.SplitHostPort(h); err != nil {
			return "", fmt.Errorf("host %q: %v", h, err)
		}
	case strings.Contains(h, ":"):
		return "", fmt.Errorf("host %q: put IPv6 addresses in brackets, [::1]:6379", h)
	}
	if host == "" || strings.ContainsAny(host, "[]@/?#%, \t\r\n") {
		return "", fmt.Errorf("host %q: bad host name", h)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return "", fmt.Errorf("host %q: port must be 1-65535", h)
	}
	return net.JoinHostPort(host, port), nil
}

// String renders the address so that ParseRedisURL reads it back (the password as "xxxxx"
// when redact is set).
func (a RedisAddr) String() string { return a.render(false) }

// Redacted is String with the password hidden, for messages.
func (a RedisAddr) Redacted() string { return a.render(true) }

func (a RedisAddr) render(redact bool) string {
	var b strings.Builder
	switch {
	case a.Kind == RedisCluster:
		b.WriteString("redis+cluster://")
	case a.Kind == RedisSentinel:
		b.WriteString("redis+sentinel://")
	case a.TLS:
		b.WriteString("rediss://")
	default:
		b.WriteString("redis://")
	}
	if a.Username != "" || a.Password != "" {
		b.WriteString(url.PathEscape(a.Username))
		if a.Password != "" {
			b.WriteByte(':')
			if redact {
				b.WriteString("xxxxx")
			} else {
				b.WriteString(url.PathEscape(a.Password))
			}
		}
		b.WriteByte('@')
	}
	b.WriteString(strings.Join(a.Addrs, ","))
	switch a.Kind {
	case RedisSingle:
		b.WriteString("/" + strconv.Itoa(a.DB))
	case RedisSentinel:
		b.WriteString("/" + url.PathEscape(a.Master) + "/" + strconv.Itoa(a.DB))
	}
	if a.PoolSize > 0 {
		b.WriteString("?pool_size=" + strconv.Itoa(a.PoolSize))
	}
	return b.String()
}

// Client connection settings of the Redis strategies: short timeouts, and no automatic retry
// of a command on a single server (a purchase is not idempotent at the wire level).
const (
	redisDialTimeout = 300 * time.Millisecond
	redisIOTimeout   = 500 * time.Millisecond
	redisPoolSize    = 128 // purchases wait for a connection at most redisIOTimeout
)

// client connects (lazily) to the deployment a names.
func (a RedisAddr) client() redis.UniversalClient {
	pool := a.PoolSize
	if pool == 0 {
		pool = redisPoolSize
	}
	var tlsConf *tls.Config
	if a.TLS {
		host, _, _ := net.SplitHostPort(a.Addrs[0])
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	switch a.Kind {
	case RedisCluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: a.Addrs, Username: a.Username, Password: a.Password,
			DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout,
			PoolTimeout: redisIOTimeout, PoolSize: pool, ContextTimeoutEnabled: true, DialerRetries: 1,
			// Redirects (MOVED/ASK after a failover) are followed; a command may then run again
			// after a connection error, which the scripts' idempotency keys absorb.
			MaxRedirects: 3,
		})
	case RedisSentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: a.Master, SentinelAddrs: a.Addrs, DB: a.DB,
			Username: a.Username, Password: a.Password,
			DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout,
			PoolTimeout: redisIOTimeout, PoolSize: pool, ContextTimeoutEnabled: true, DialerRetries: 1,
			MaxRetries: -1,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr: a.Addrs[0], DB: a.DB, Username: a.Username, Password: a.Password, TLSConfig: tlsConf,
		DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout,
		PoolTimeout: redisIOTimeout, PoolSize: pool, ContextTimeoutEnabled: true,
		MaxRetries: -1, DialerRetries: 1, // a dead Redis answers 503 at once, not after a dial backoff
	})
}
