package inventory

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
)

// Catalog holds the target's state besides stock and orders: SKU definitions, group-buys and
// unlocked team coupons. Store-backed strategies keep it in their store, so any number of
// replicas share it; in-process strategies keep it in memory.
type Catalog interface {
	// SKUDef returns the Def stored by Configure; ErrUnknownSKU when there is none.
	SKUDef(ctx context.Context, sku string) ([]byte, error)
	// SKUDefs returns every stored Def by SKU name.
	SKUDefs(ctx context.Context) (map[string][]byte, error)
	// CatalogVersion changes whenever a Configure lands; replicas poll it to refresh caches cheaply.
	CatalogVersion(ctx context.Context) (int64, error)
	CreateGroup(ctx context.Context, sku string) (id string, err error)
	// JoinGroup adds user (joining twice is a no-op); when the group reaches couponAt members,
	// every member unlocks the SKU's team coupon. ErrNoGroup for an unknown id, ErrGroupFull
	// when the group already has max members.
	JoinGroup(ctx context.Context, id, user string, max, couponAt int) (members int, err error)
	// Group answers the group's SKU and its members in join order; ErrNoGroup when unknown.
	Group(ctx context.Context, id string) (sku string, members []string, err error)
	HasCoupon(ctx context.Context, sku, user string) (bool, error)
}

// Errors of the Catalog's group-buys.
var (
	ErrNoGroup   = errors.New("no such group")
	ErrGroupFull = errors.New("the group is full")
)

// memCatalog is the Catalog of the in-process strategies: one mutex over maps.
type memCatalog struct {
	mu       sync.Mutex
	version  int64
	defs     map[string][]byte
	seq      int64
	groups   map[string]*memGroup
	unlocked map[string]struct{} // sku NUL user
}

type memGroup struct {
	sku     string
	members []string
}

// configure runs the strategy's stock reset and records the Def under one lock, so concurrent
// Configures of one SKU end with the stock and the Def of the same call.
func (c *memCatalog) configure(sku string, def []byte, reset func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reset()
	if c.defs == nil {
		c.defs = map[string][]byte{}
	}
	c.defs[sku] = slices.Clone(def)
	c.version++
}

func (c *memCatalog) SKUDef(_ context.Context, sku string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.defs[sku]
	if !ok {
		return nil, ErrUnknownSKU
	}
	return d, nil
}

func (c *memCatalog) SKUDefs(context.Context) (map[string][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.defs), nil
}

func (c *memCatalog) CatalogVersion(context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version, nil
}

func (c *memCatalog) CreateGroup(_ context.Context, sku string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups == nil {
		c.groups = map[string]*memGroup{}
		c.unlocked = map[string]struct{}{}
	}
	c.seq++
	id := "g" + strconv.FormatInt(c.seq, 36)
	c.groups[id] = &memGroup{sku: sku}
	return id, nil
}

func (c *memCatalog) JoinGroup(_ context.Context, id, user string, max, couponAt int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[id]
	if g == nil {
		return 0, ErrNoGroup
	}
	if slices.Contains(g.members, user) {
		return len(g.members), nil
	}
	if len(g.members) >= max {
		return len(g.members), ErrGroupFull
	}
	g.members = append(g.members, user)
	if len(g.members) >= couponAt {
		for _, m := range g.members {
			c.unlocked[g.sku+"\x00"+m] = struct{}{}
		}
	}
	return len(g.members), nil
}

func (c *memCatalog) Group(_ context.Context, id string) (string, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[id]
	if g == nil {
		return "", nil, ErrNoGroup
	}
	return g.sku, slices.Clone(g.members), nil
}

func (c *memCatalog) HasCoupon(_ context.Context, sku, user string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.unlocked[sku+"\x00"+user]
	return ok, nil
}
