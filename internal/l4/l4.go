// Package l4 is a layer-4 front for a local fleet: one loopback address that gives each new TCP
// connection to a ready backend, round robin, and splices its bytes to that backend for the
// connection's whole life, as kube-proxy does for a Kubernetes Service (it balances
// connections, not requests). It never reads HTTP: a keep-alive connection stays on the
// backend it reached first, so backends made ready later get only connections opened after
// they joined. A backend taken out of the ready set gets no new connections; the ones it has
// stay until one side closes them, as with a terminating pod, which closes its own.
//
// Bytes are copied with io.Copy between *net.TCPConn, which Linux does with splice(2), in the
// kernel.
package l4

import (
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

// DialTimeout bounds the connection to a backend; a backend that does not accept in time gets
// the client's connection closed, as a Service's unreachable pod would.
const DialTimeout = 2 * time.Second

// Front is a listening layer-4 front. Its methods are safe for concurrent use.
type Front struct {
	ln net.Listener

	mu       sync.Mutex
	backends []string // ready backends (host:port), in the order they were given
	next     int      // the backend the next connection gets, round robin
	open     map[*pair]struct{}
	opened   map[string]int64 // connections given to each backend, ever
	closed   bool
	wg       sync.WaitGroup
}

// pair is a client connection and the backend connection it was given.
type pair struct {
	backend        string
	client, server net.Conn
}

// Listen starts a front on addr (127.0.0.1:0 picks a free port) with no ready backend:
// connections are closed at once until SetBackends gives some.
func Listen(addr string) (*Front, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &Front{ln: ln, open: map[*pair]struct{}{}, opened: map[string]int64{}}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

// Addr is the front's address (host:port).
func (f *Front) Addr() string { return f.ln.Addr().String() }

// SetBackends makes addrs the ready backends: new connections go to them, round robin, from the
// one after the last given. Connections already open stay where they are.
func (f *Front) SetBackends(addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var last string
	if len(f.backends) > 0 {
		last = f.backends[(f.next+len(f.backends)-1)%len(f.backends)]
	}
	f.backends = slices.Clone(addrs)
	f.next = 0
	if i := slices.Index(f.backends, last); i >= 0 {
		f.next = (i + 1) % len(f.backends)
	}
}

// Backends is the ready backends.
func (f *Front) Backends() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.backends)
}

// Open is the connections open now, per backend.
func (f *Front) Open() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]int{}
	for p := range f.open {
		m[p.backend]++
	}
	return m
}

// Opened is the connections given to each backend since the front started.
func (f *Front) Opened() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int64, len(f.opened))
	for k, v := range f.opened {
		m[k] = v
	}
	return m
}

// Close stops accepting and closes every connection, then waits for the copies to end.
func (f *Front) Close() error {
	f.mu.Lock()
	f.closed = true
	for p := range f.open {
		p.client.Close()
		p.server.Close()
	}
	f.mu.Unlock()
	err := f.ln.Close()
	f.wg.Wait()
	return err
}

func (f *Front) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient accept error (out of descriptors): the next may do
		}
		backend, ok := f.pick()
		if !ok {
			c.Close()
			continue
		}
		f.wg.Add(1)
		go f.serve(c, backend)
	}
}

// pick is the backend a new connection goes to.
func (f *Front) pick() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.backends) == 0 || f.closed {
		return "", false
	}
	b := f.backends[f.next%len(f.backends)]
	f.next = (f.next + 1) % len(f.backends)
	f.opened[b]++
	return b, true
}

// serve dials the backend and splices both ways until both directions end: an end of stream on
// one side is passed on as a half-close (FIN), an error closes both.
func (f *Front) serve(client net.Conn, backend string) {
	defer f.wg.Done()
	server, err := net.DialTimeout("tcp", backend, DialTimeout)
	if err != nil {
		client.Close()
		return
	}
	p := &pair{backend: backend, client: client, server: server}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	f.open[p] = struct{}{}
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { splice(server, client); done <- struct{}{} }()
	splice(client, server)
	<-done
	client.Close()
	server.Close()
	f.mu.Lock()
	delete(f.open, p)
	f.mu.Unlock()
}

// splice copies src to dst until src ends, then closes dst's writing side; on an error it
// closes both, which ends the other direction too.
func splice(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}
