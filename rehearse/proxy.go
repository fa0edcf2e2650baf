package rehearse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

// Proxies are TCP proxies (toxiproxy, as a library in this process) between the target and each
// store, so that the network faults are real TCP effects on the target's connections: latency
// and jitter on every answer, connections reset, a partition that lets nothing through. The
// target is given the proxy's address instead of the store's.
type Proxies struct {
	srv *toxiproxy.ApiServer
	mu  sync.Mutex
	by  map[inventory.Store]*toxiproxy.Proxy
}

// NewProxies makes an empty set of proxies.
func NewProxies() *Proxies {
	nop := zerolog.Nop()
	return &Proxies{srv: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), nop), by: map[inventory.Store]*toxiproxy.Proxy{}}
}

// Route starts (once per store) a proxy in front of the store at storeURL and returns the URL
// a target uses to reach it through the proxy: the same URL with the proxy's host and port.
// Only single-address URLs (redis://, postgres://) can be proxied.
func (p *Proxies) Route(st inventory.Store, storeURL string) (string, error) {
	u, err := url.Parse(storeURL)
	if err != nil {
		return "", err
	}
	if u.Scheme != "redis" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("network faults need a single-address store to proxy, not %s://", u.Scheme)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", fmt.Errorf("store address %q: %w", u.Host, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	px := p.by[st]
	if px == nil {
		px = toxiproxy.NewProxy(p.srv, string(st), "127.0.0.1:0", u.Host)
		if err := px.Start(); err != nil {
			return "", fmt.Errorf("proxy to %s: %w", st, err)
		}
		p.by[st] = px
	} else if px.Upstream != u.Host {
		return "", fmt.Errorf("proxy to %s already goes to %s, not %s", st, px.Upstream, u.Host)
	}
	u.Host = px.Listen
	return u.String(), nil
}

// Has says whether store st has a proxy.
func (p *Proxies) Has(st inventory.Store) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[st] != nil
}

// faultToxic is the toxic's name of a fault on a link: one network fault per link at a time
// (the scenario's validation), so one name.
const faultToxic = "flashload_fault"

// Add puts the network fault n on the link to store st: latency and jitter on the answers
// (downstream), reset (connections reset as data arrives), partition (nothing flows, open
// connections hang, new ones are accepted and hang).
func (p *Proxies) Add(st inventory.Store, n *scenario.NetworkFault) error {
	px, err := p.proxy(st)
	if err != nil {
		return err
	}
	var body string
	switch {
	case n.Partition:
		body = `{"name":"` + faultToxic + `","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`
	case n.Reset:
		body = `{"name":"` + faultToxic + `","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`
	case n.Latency > 0:
		body = fmt.Sprintf(`{"name":%q,"type":"latency","stream":"downstream","attributes":{"latency":%d,"jitter":%d}}`,
			faultToxic, n.Latency.D().Milliseconds(), n.Jitter.D().Milliseconds())
	default:
		return errors.New("a network fault without latency, reset or partition")
	}
	_, err = px.Toxics.AddToxicJson(strings.NewReader(body))
	return err
}

// Remove takes the fault off the link to st. Connections a partition held stay as they are
// (their data was dropped); new ones flow.
func (p *Proxies) Remove(st inventory.Store) error {
	px, err := p.proxy(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return px.Toxics.RemoveToxic(ctx, faultToxic)
}

func (p *Proxies) proxy(st inventory.Store) (*toxiproxy.Proxy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	px := p.by[st]
	if px == nil {
		return nil, fmt.Errorf("no proxy in front of %s", st)
	}
	return px, nil
}

// Close stops every proxy and closes their connections.
func (p *Proxies) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for st, px := range p.by {
		px.Stop()
		delete(p.by, st)
	}
}
