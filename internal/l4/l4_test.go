package l4

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend is a loopback TCP server that answers every line with its name; closeAll closes its
// open connections, as a terminating pod does.
type backend struct {
	name  string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := io.WriteString(c, b.name+"\n"); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); b.closeAll() })
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

func (b *backend) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

// client is one connection through the front.
type client struct {
	c  net.Conn
	rd *bufio.Reader
}

func dial(t *testing.T, f *Front) *client {
	t.Helper()
	c, err := net.Dial("tcp", f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{c: c, rd: bufio.NewReader(c)}
}

// ask sends a line and returns the name of the backend that answered ("" and the error when
// the connection ended).
func (c *client) ask() (string, error) {
	if _, err := io.WriteString(c.c, "who\n"); err != nil {
		return "", err
	}
	line, err := c.rd.ReadString('\n')
	return strings.TrimSpace(line), err
}

func mustAsk(t *testing.T, c *client) string {
	t.Helper()
	name, err := c.ask()
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestRoundRobinPinned: new connections go to the ready backends in turn, and every exchange on
// a connection reaches the backend it was given first: the front balances connections, never
// requests.
func TestRoundRobinPinned(t *testing.T) {
	bs := []*backend{startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")}
	f, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetBackends(bs[0].addr(), bs[1].addr(), bs[2].addr())
	got := map[string]int{}
	for i := range 9 {
		c := dial(t, f)
		first := mustAsk(t, c)
		if want := bs[i%3].name; first != want {
			t.Errorf("connection %d went to %s, want %s (round robin)", i, first, want)
		}
		got[first]++
		for range 5 {
			if n := mustAsk(t, c); n != first {
				t.Fatalf("connection %d moved from %s to %s", i, first, n)
			}
		}
	}
	if got["a"] != 3 || got["b"] != 3 || got["c"] != 3 {
		t.Errorf("connections per backend %v, want 3 each", got)
	}
	if op := f.Open(); op[bs[0].addr()] != 3 {
		t.Errorf("open connections %v, want 3 on a", op)
	}
}

// TestScaleUpLeavesOldConnections: a backend made ready later gets only the connections opened
// after it joined: the old ones stay where they were (the idle-new-pod trap).
func TestScaleUpLeavesOldConnections(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	f, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetBackends(a.addr())
	old := []*client{dial(t, f), dial(t, f)}
	for _, c := range old {
		mustAsk(t, c)
	}
	f.SetBackends(a.addr(), b.addr())
	for _, c := range old {
		if n := mustAsk(t, c); n != "a" {
			t.Errorf("an old connection moved to %s", n)
		}
	}
	seen := map[string]int{}
	for range 4 {
		seen[mustAsk(t, dial(t, f))]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Errorf("new connections %v, want 2 and 2", seen)
	}
}

// TestScaleDown: a backend taken out of the ready set gets no new connections; its open ones
// keep working until it closes them (a terminating pod's drain), which the client sees as the
// end of its connection; once the client closes too, the front holds nothing of it.
func TestScaleDown(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	f, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetBackends(a.addr(), b.addr())
	ca, cb := dial(t, f), dial(t, f)
	if mustAsk(t, ca) != "a" || mustAsk(t, cb) != "b" {
		t.Fatal("the first two connections did not go to a and b")
	}
	f.SetBackends(a.addr())
	if n := mustAsk(t, cb); n != "b" {
		t.Fatalf("b's connection answered by %s before b closed it", n)
	}
	for range 3 {
		if n := mustAsk(t, dial(t, f)); n != "a" {
			t.Errorf("a new connection went to %s, which left", n)
		}
	}
	b.closeAll()
	if _, err := cb.ask(); err == nil {
		t.Fatal("the connection b closed still answers")
	} else if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("the client saw %v, want the end of its connection", err)
	}
	cb.c.Close() // as an HTTP client does with a connection the server ended
	deadline := time.Now().Add(5 * time.Second)
	for f.Open()[b.addr()] > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := f.Open()[b.addr()]; n != 0 {
		t.Errorf("%d connections to b still open after it closed them", n)
	}
}

// TestNoBackend: with no ready backend a connection is closed at once; Close ends every open
// connection.
func TestNoBackend(t *testing.T) {
	f, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, f).ask(); err == nil {
		t.Fatal("a connection without backends was answered")
	}
	a := startBackend(t, "a")
	f.SetBackends(a.addr())
	c := dial(t, f)
	mustAsk(t, c)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ask(); err == nil {
		t.Fatal("a connection survived Close")
	}
	if f.Opened()[a.addr()] != 1 {
		t.Errorf("opened %v, want one connection to a", f.Opened())
	}
}
