package rehearse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/flashload/flashload/internal/dist"
	"github.com/flashload/flashload/target"
)

// TargetOptions configure the reference target a rehearsal starts.
type TargetOptions struct {
	Strategy       string        // an inventory strategy (inventory.Names)
	Redis          string        // Redis address of the strategies on Redis
	RedisPrefix    string        // key prefix in Redis ("": one of its own)
	RedisWait      int           // target.Options.RedisWait: WAIT for N replicas after each purchase
	Postgres       string        // PostgreSQL URL of the strategies on PostgreSQL
	MaxInflight    int           // target.Options.MaxInflight
	MaxRPS         float64       // target.Options.MaxRPS
	ReservationTTL time.Duration // target.Options.ReservationTTL
	Workers        int           // target.Options.Workers: work slots per replica (0: none)
	Work           dist.Spec     // target.Options.Work: the time a request holds its slot
}

// DefaultStopTimeout bounds the drain of a Target's in-flight requests in Stop.
const DefaultStopTimeout = 5 * time.Second

// service is the target a rehearsal plays against: a Target in this process or a Fleet.
type service interface {
	URLs() []string
	AdminToken() string
	Stop(context.Context) error
}

// Target is the reference flash-sale service running in this process on a free loopback port,
// for one rehearsal: a fresh admin token, and on Redis a key prefix of its own, so rehearsals
// never see each other's SKUs or orders.
type Target struct {
	srv      *target.Server
	url      string
	strategy string
	served   chan error
}

// StartTarget starts the reference target and serves it until Stop.
func StartTarget(ctx context.Context, o TargetOptions) (*Target, error) {
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	prefix := o.RedisPrefix
	if prefix == "" {
		prefix = fmt.Sprintf("flashload:rehearse:%s:", hex.EncodeToString(tok[:4]))
	}
	srv, err := target.New(ctx, target.Options{
		Strategy:       o.Strategy,
		RedisURL:       o.Redis,
		RedisPrefix:    prefix,
		RedisWait:      o.RedisWait,
		PostgresURL:    o.Postgres,
		AdminToken:     hex.EncodeToString(tok[:]),
		MaxInflight:    o.MaxInflight,
		MaxRPS:         o.MaxRPS,
		ReservationTTL: o.ReservationTTL,
		Workers:        o.Workers,
		Work:           o.Work,
		ReplicaID:      ReplicaID(0),
	})
	if err != nil {
		return nil, fmt.Errorf("start target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, srv.Close())
	}
	t := &Target{srv: srv, url: "http://" + ln.Addr().String(), strategy: srv.Strategy(), served: make(chan error, 1)}
	go func() { t.served <- srv.Serve(ln) }()
	return t, nil
}

// URL is the target's base URL (http://127.0.0.1:PORT).
func (t *Target) URL() string { return t.url }

// URLs is URL as a list: the target is one replica.
func (t *Target) URLs() []string { return []string{t.url} }

// AdminToken is the bearer token of the target's admin routes.
func (t *Target) AdminToken() string { return t.srv.AdminToken() }

// Strategy names the target's inventory strategy.
func (t *Target) Strategy() string { return t.strategy }

// Stop drains in-flight requests (until ctx is done) and releases everything the target holds
// (listener, expiry reaper, the strategy's store client). Call it once.
func (t *Target) Stop(ctx context.Context) error {
	err := t.srv.Shutdown(ctx)
	if serr := <-t.served; serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, t.srv.Close())
}
