package inventory

// Store is a kind of external store a strategy keeps its state in.
type Store string

// The stores strategies use.
const (
	Redis    Store = "redis"
	Postgres Store = "postgres"
)

// stores lists each store-backed strategy's stores, its book of record first. Strategies not
// listed keep everything in the process (one replica).
var stores = map[string][]Store{
	"redis-decr":    {Redis},
	"redis-lua":     {Redis},
	"redis-sharded": {Redis},
	"redis-lock":    {Redis},
	"redis-mq":      {Postgres, Redis}, // orders are persisted to PostgreSQL; Redis gates the stock
	"pg-row":        {Postgres},
	"pg-occ":        {Postgres},
	"tcc":           {Postgres},
}

// StoresOf names the stores strategy keeps its state in, its book of record first; nil for the
// in-process strategies (naive, memory, sharded), which cannot be shared by replicas.
func StoresOf(strategy string) []Store { return stores[strategy] }

// Shared says whether any number of replicas on the same stores are one service.
func Shared(strategy string) bool { return len(stores[strategy]) > 0 }
