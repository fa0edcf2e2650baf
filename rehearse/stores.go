package rehearse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/flashload/flashload/internal/stores"
	"github.com/flashload/flashload/target/inventory"
)

// StoreOptions say which stores a rehearsal needs and which it is given.
type StoreOptions struct {
	Need     []inventory.Store // the stores the rehearsed strategies keep their state in
	Redis    string            // a Redis address to use (redis://, redis+cluster://, redis+sentinel://); "": start one
	Postgres string            // a PostgreSQL URL to use; "": start one
	Dir      string            // where throwaway stores put their directories ("": the system's temp dir)
	Stderr   io.Writer         // a line per store started (nil: none)
	// RedisArgs are extra arguments of a throwaway redis-server (persistence for the faults:
	// "--appendonly yes --appendfsync always").
	RedisArgs []string
	// RedisSentinel starts the throwaway Redis as a Sentinel-managed primary with one replica
	// and three sentinels (stores.RedisSentinel): targets connect with redis+sentinel://.
	RedisSentinel bool
}

// Stores are the stores of a rehearsal: the ones it was given by address, and throwaway ones it
// started itself (a redis-server or a PostgreSQL cluster on a free loopback port, in a temporary
// directory), which it owns: they stay up across every strategy and replica of the rehearsal
// and stop with Stop. Faults reach the started ones through Redis and Postgres (kill, pause,
// restart on the same port). Targets connect through URL, which is the store's own address
// unless something is put in between.
type Stores struct {
	Redis    *stores.Redis    // started by the rehearsal; nil when given or not needed
	Postgres *stores.Postgres // started by the rehearsal; nil when given or not needed
	// Sentinel is the Sentinel-managed Redis the rehearsal started instead of Redis
	// (StoreOptions.RedisSentinel); nil otherwise.
	Sentinel *stores.RedisSentinel

	urls map[inventory.Store]string // what targets connect to
}

// StartStores starts every needed store that has no address. A missing binary is an error
// naming the Debian package, found before anything starts; a store that fails to start stops
// the ones started before it.
func StartStores(ctx context.Context, o StoreOptions) (*Stores, error) {
	s := &Stores{urls: map[inventory.Store]string{}}
	given := map[inventory.Store]string{inventory.Redis: o.Redis, inventory.Postgres: o.Postgres}
	var start []inventory.Store
	for _, st := range o.Need {
		if slices.Contains(start, st) || s.urls[st] != "" {
			continue
		}
		if given[st] != "" {
			s.urls[st] = given[st]
			continue
		}
		var err error
		switch st {
		case inventory.Redis:
			_, err = stores.RedisBin()
			if err == nil && o.RedisSentinel {
				_, err = stores.SentinelBin()
			}
		case inventory.Postgres:
			_, err = stores.PostgresBin()
		default:
			err = fmt.Errorf("no way to start a %s store", st)
		}
		if err != nil {
			return nil, err
		}
		start = append(start, st)
	}
	// The book of record commits durably against a process crash (postgres: kill|restart).
	so := stores.Options{Dir: o.Dir, RedisArgs: o.RedisArgs, SyncCommit: true}
	for _, st := range start {
		var err error
		switch st {
		case inventory.Redis:
			if o.RedisSentinel {
				if s.Sentinel, err = stores.StartRedisSentinel(ctx, so); err == nil {
					s.urls[st] = s.Sentinel.URL()
				}
			} else if s.Redis, err = stores.StartRedis(ctx, so); err == nil {
				s.urls[st] = s.Redis.URL()
			}
		case inventory.Postgres:
			if s.Postgres, err = stores.StartPostgres(ctx, so); err == nil {
				s.urls[st] = s.Postgres.URL()
			}
		}
		if err != nil {
			return nil, errors.Join(err, s.Stop())
		}
		if o.Stderr != nil {
			fmt.Fprintf(o.Stderr, "rehearse: started a throwaway %s at %s (stopped at the end)\n", st, s.urls[st])
		}
	}
	return s, nil
}

// URL is the address targets use for store st ("" when the rehearsal has none).
func (s *Stores) URL(st inventory.Store) string { return s.urls[st] }

// Scope is one service's share of the stores: a Redis key prefix of its own and, on a
// PostgreSQL cluster the rehearsal started, a database of its own, so the strategies of a
// shoot-out never see each other's SKUs or orders. Every replica of the service uses the same.
type Scope struct {
	Redis, RedisPrefix, Postgres string
}

// Scope gives the service that rehearses strategy its share of the stores.
func (s *Stores) Scope(ctx context.Context, strategy string) (Scope, error) {
	var tok [4]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return Scope{}, err
	}
	id := hex.EncodeToString(tok[:])
	sc := Scope{}
	for _, st := range inventory.StoresOf(strategy) {
		switch st {
		case inventory.Redis:
			sc.Redis, sc.RedisPrefix = s.urls[st], "flashload:rehearse:"+id+":"
		case inventory.Postgres:
			sc.Postgres = s.urls[st]
			if s.Postgres != nil {
				db := "flashload_" + strings.ReplaceAll(strategy, "-", "_") + "_" + id
				url, err := s.Postgres.CreateDatabase(ctx, db)
				if err != nil {
					return Scope{}, err
				}
				sc.Postgres = url
			}
		}
		if s.urls[st] == "" {
			return Scope{}, fmt.Errorf("strategy %s needs %s, and the rehearsal has none", strategy, st)
		}
	}
	return sc, nil
}

// Stop stops and removes the stores the rehearsal started (given ones are left alone). Safe
// to repeat.
func (s *Stores) Stop() error {
	var err error
	if s.Redis != nil {
		err = errors.Join(err, s.Redis.Stop())
	}
	if s.Sentinel != nil {
		err = errors.Join(err, s.Sentinel.Stop())
	}
	if s.Postgres != nil {
		err = errors.Join(err, s.Postgres.Stop())
	}
	return err
}
