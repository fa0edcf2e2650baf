package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/flashload/flashload/target/inventory"
)

// The SKU catalogue lives in the strategy (inventory.Catalog): each SKU's Def is its SKUConfig
// with absolute times and the instant it was created. A server keeps the decoded rules in a
// copy-on-write map, refreshed when the catalog's version changes (polled every CatalogPoll)
// and on a miss (read-your-writes across replicas: a SKU created on another replica a moment
// ago is read from the store before any answer says it is unknown).

// CatalogPoll is how often a server checks the catalog's version for SKUs configured elsewhere.
const CatalogPoll = 100 * time.Millisecond

// skuDef is the stored definition of a SKU.
type skuDef struct {
	SKUConfig
	Created time.Time `json:"created"`
}

// MarshalJSON writes a Duration as "1h0m0s", which UnmarshalJSON reads back.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// encodeDef turns validated rules into their Def: the config with its offsets resolved.
func encodeDef(c SKUConfig, k *sku) ([]byte, error) {
	c.StartsAt, c.EndsAt = k.startsStr, k.endsStr
	return json.Marshal(skuDef{SKUConfig: c, Created: k.created})
}

// decodeDef rebuilds a SKU's rules from its Def.
func decodeDef(def []byte) (*sku, error) {
	var d skuDef
	if err := json.Unmarshal(def, &d); err != nil {
		return nil, err
	}
	k, err := d.build(d.Created)
	if err != nil {
		return nil, err
	}
	k.def = def
	return k, nil
}

// lookup finds a SKU's rules: from the cache, else from the store. A nil SKU with a nil
// error means unknown; an error is the store's (503).
func (s *Server) lookup(name []byte) (*sku, error) {
	if k := s.sku(name); k != nil {
		return k, nil
	}
	if len(name) == 0 || len(name) > 64 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	def, err := s.inv.SKUDef(ctx, string(name))
	if errors.Is(err, inventory.ErrUnknownSKU) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k, err := decodeDef(def)
	if err != nil {
		return nil, err
	}
	return s.putSKU(k), nil
}

// syncCatalog reloads every Def when the catalog's version moved since the last load.
func (s *Server) syncCatalog(ctx context.Context) error {
	v, err := s.inv.CatalogVersion(ctx)
	if err != nil {
		return err
	}
	if v == s.catVer.Load() {
		return nil
	}
	defs, err := s.inv.SKUDefs(ctx)
	if err != nil {
		return err
	}
	s.skuMu.Lock()
	defer s.skuMu.Unlock()
	n := make(map[string]*sku, len(defs))
	var moved []string // SKUs whose rules changed: their feeds' phase timers follow
	old := s.skus.Load()
	for name, def := range defs {
		if old != nil {
			if k := (*old)[name]; k != nil && bytes.Equal(k.def, def) {
				n[name] = k // unchanged: keep its view cache
				continue
			}
		}
		k, err := decodeDef(def)
		if err != nil {
			continue // a Def this version cannot read; the SKU stays unknown here
		}
		n[name] = k
		moved = append(moved, name)
	}
	s.skus.Store(&n)
	s.catVer.Store(v)
	if len(moved) > 0 {
		s.push.refreshed(moved)
	}
	return nil
}

// pollCatalog keeps the cache in step with SKUs configured on other replicas.
func (s *Server) pollCatalog() {
	defer s.reaper.Done()
	t := time.NewTicker(CatalogPoll)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, time.Second)
			_ = s.syncCatalog(ctx) // a store outage: keep the rules known so far
			cancel()
		}
	}
}
