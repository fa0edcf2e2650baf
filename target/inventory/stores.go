package inventory

import "context"

// Store is a kind of external store a strategy keeps its state in.
type Store string

// The stores strategies use.
const (
	Redis    Store = "redis"
	Postgres Store = "postgres"
)

// Info is what the service and its tools need to know of a strategy: its name, the stores it
// keeps its state in (its book of record first; none for the in-process ones, which cannot be
// shared by replicas), whether it runs order consumers a fault can crash, and its constructor.
type Info struct {
	Name      string
	Stores    []Store
	Consumers bool
	new       func(ctx context.Context, cfg Config) (Strategy, error)
}

// registry lists every strategy, in the order the CLI documents them: the one place a strategy
// is declared.
var registry = []Info{
	{Name: "naive", new: func(context.Context, Config) (Strategy, error) { return newNaive(), nil }},
	{Name: "memory", new: func(context.Context, Config) (Strategy, error) { return newMemory(), nil }},
	{Name: "sharded", new: func(_ context.Context, c Config) (Strategy, error) { return newSharded(c.Shards), nil }},
	{Name: "redis-decr", Stores: []Store{Redis}, new: ctor(newRedis)},
	{Name: "redis-lua", Stores: []Store{Redis}, new: ctor(newRedis)},
	{Name: "redis-sharded", Stores: []Store{Redis}, new: ctor(newRedis)},
	{Name: "redis-lock", Stores: []Store{Redis}, new: ctor(newRedisLock)},
	// Orders are persisted to PostgreSQL, the book of record; Redis gates the stock.
	{Name: "redis-mq", Stores: []Store{Postgres, Redis}, Consumers: true, new: ctor(newRedisMQ)},
	{Name: "pg-row", Stores: []Store{Postgres}, new: ctor(newPostgres)},
	{Name: "pg-occ", Stores: []Store{Postgres}, new: ctor(newPostgres)},
	{Name: "tcc", Stores: []Store{Postgres}, new: ctor(newPostgres)},
}

// ctor adapts a strategy's constructor to the registry's type; a failed one gives no strategy
// (not a typed nil).
func ctor[T Strategy](f func(context.Context, Config) (T, error)) func(context.Context, Config) (Strategy, error) {
	return func(ctx context.Context, c Config) (Strategy, error) {
		st, err := f(ctx, c)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

// Names lists the strategies New knows, in the order the CLI documents them.
var Names = func() []string {
	out := make([]string, len(registry))
	for i, in := range registry {
		out[i] = in.Name
	}
	return out
}()

// Lookup finds a strategy by name.
func Lookup(name string) (Info, bool) {
	for _, in := range registry {
		if in.Name == name {
			return in, true
		}
	}
	return Info{}, false
}

// StoresOf names the stores strategy keeps its state in, its book of record first; nil for the
// in-process strategies (naive, memory, sharded), which cannot be shared by replicas.
func StoresOf(strategy string) []Store {
	in, _ := Lookup(strategy)
	return in.Stores
}

// Shared says whether any number of replicas on the same stores are one service.
func Shared(strategy string) bool { return len(StoresOf(strategy)) > 0 }

// HasConsumers says whether the strategy runs order consumers (a `consumer: kill` fault's prey).
func HasConsumers(strategy string) bool {
	in, _ := Lookup(strategy)
	return in.Consumers
}
