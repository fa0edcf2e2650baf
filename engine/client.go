package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/scenario"
	"github.com/valyala/fasthttp"
)

// Client defaults; zero Options fields take these.
const (
	DefaultTimeout         = 10 * time.Second         // read and write timeout of one request
	DefaultConnWaitTimeout = scenario.DefaultConnWait // how long a request may wait for a free connection
	DefaultDrain           = 5 * time.Second          // how long in-flight sessions may finish after a stop
	DefaultMaxConns        = scenario.MaxDefaultConns
)

// classifyErr turns a transport error into the class the summary counts. A nil error is ErrNone.
func classifyErr(err error) outcome.ErrorClass {
	if err == nil {
		return outcome.ErrNone
	}
	switch {
	case errors.Is(err, errBadAnswer):
		return outcome.ErrBadAnswer
	case errors.Is(err, syscall.ECONNREFUSED):
		return outcome.ErrRefused
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, os.ErrDeadlineExceeded):
		return outcome.ErrTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return outcome.ErrReset
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outcome.ErrTimeout
	}
	var se *fasthttp.ErrSmallBuffer
	if errors.As(err, &se) {
		return outcome.ErrBadAnswer
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return outcome.ErrRefused
	case strings.Contains(msg, "reset by peer"), strings.Contains(msg, "broken pipe"),
		strings.Contains(msg, "closed connection"):
		return outcome.ErrReset
	case strings.Contains(msg, "cannot parse"), strings.Contains(msg, "error when reading response headers"),
		strings.Contains(msg, "body size exceeds"):
		return outcome.ErrBadAnswer
	case strings.Contains(msg, "timeout"):
		return outcome.ErrTimeout
	}
	return outcome.ErrOther
}

// targetURL is a parsed --target: scheme, host:port and a path prefix joined to every path.
type targetURL struct {
	TLS    bool
	Host   string // host:port
	Prefix string // "" or "/base" (no trailing slash)
}

// parseTarget validates a target URL. Only http and https are accepted; the port defaults by scheme.
func parseTarget(raw string) (targetURL, error) {
	if !strings.Contains(raw, "://") {
		return targetURL{}, errors.New("target must be an http:// or https:// URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return targetURL{}, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return targetURL{}, errors.New("target must be an http:// or https:// URL")
	}
	if u.Host == "" {
		return targetURL{}, errors.New("target URL has no host")
	}
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	return targetURL{TLS: u.Scheme == "https", Host: host, Prefix: strings.TrimRight(u.Path, "/")}, nil
}

// SplitTargets splits a target list, "URL" or "URL,URL,..." (the replicas of one service), and
// validates every URL as a target (http:// or https://, with a host). Spaces around the commas
// are ignored; an empty entry or a replica listed twice is an error.
func SplitTargets(list string) ([]string, error) {
	urls, _, err := splitTargets(list)
	return urls, err
}

func splitTargets(list string) ([]string, []targetURL, error) {
	parts := strings.Split(list, ",")
	urls := make([]string, 0, len(parts))
	ts := make([]targetURL, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		which := fmt.Sprintf("target %q", p)
		if len(parts) > 1 {
			which = fmt.Sprintf("target %d of %d (%q)", i+1, len(parts), p)
		}
		if p == "" {
			return nil, nil, fmt.Errorf("%s: no URL", which)
		}
		t, err := parseTarget(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", which, err)
		}
		if j := slices.Index(ts, t); j >= 0 {
			return nil, nil, fmt.Errorf("%s: the same replica as target %d", which, j+1)
		}
		urls = append(urls, p)
		ts = append(ts, t)
	}
	return urls, ts, nil
}

// IsLoopback reports whether a target URL names this machine (localhost or a loopback IP).
// The CLI refuses other targets unless the user says --allow-remote: this tool sends real load.
func IsLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// clientSizing is what the fasthttp client is sized from.
type clientSizing struct {
	MaxConns        int
	Timeout         time.Duration
	ConnWaitTimeout time.Duration
	Recycle         recycle // MaxConnDuration from its age; its count is marked per request (closeEvery)
}

// newHostClient builds the client for the target: one HostClient, sized to the number of
// concurrent sessions so that a session never waits for a connection in normal operation, with
// a bounded wait (MaxConnWaitTimeout) when it does, and read/write timeouts so that a stalled
// target produces timeouts rather than stuck workers. Header normalizing and the default
// User-Agent are off: the engine writes exactly the headers the scenario asks for.
func newHostClient(t targetURL, sz clientSizing) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          t.Host,
		Name:                          "flashload",
		IsTLS:                         t.TLS,
		MaxConns:                      sz.MaxConns,
		MaxConnWaitTimeout:            sz.ConnWaitTimeout,
		ReadTimeout:                   sz.Timeout,
		WriteTimeout:                  sz.Timeout,
		MaxIdleConnDuration:           30 * time.Second,
		MaxConnDuration:               sz.Recycle.maxAge, // 0: never
		MaxIdemponentCallAttempts:     1,                 // the engine retries itself, by the scenario's rules
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		ReadBufferSize:                8 << 10,
		WriteBufferSize:               8 << 10,
		MaxResponseBodySize:           4 << 20,
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
}

// newOtherClient serves request steps whose URL names another host than the target.
func newOtherClient(sz clientSizing) *fasthttp.Client {
	return &fasthttp.Client{
		Name:                          "flashload",
		MaxConnsPerHost:               sz.MaxConns,
		MaxConnWaitTimeout:            sz.ConnWaitTimeout,
		ReadTimeout:                   sz.Timeout,
		WriteTimeout:                  sz.Timeout,
		MaxConnDuration:               sz.Recycle.maxAge,
		MaxIdemponentCallAttempts:     1,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		MaxResponseBodySize:           4 << 20,
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
}
