// Command pushscale holds N idle WebSocket (or SSE) subscribers of one SKU's feed against a
// running flashload target on loopback, then reports the memory each idle subscriber costs on
// this generator and on the target, and the fan-out of one stock change to all of them.
//
// Subscribers connect from -sources loopback source addresses (127.0.0.2, 127.0.0.3, ...): one
// source address has about 28,000 ephemeral ports. The file limit is raised to the hard limit
// in-process; when N does not fit under it the command says so and exits 2 before connecting.
//
//	go run ./bench/pushscale -target http://127.0.0.1:8080 -token T -n 100000
//
// Memory per subscriber is (after − before) / N, where before is measured with the SKU
// created and no subscriber, after with all N connected, idle and welcomed: on the generator
// the Go heap and stacks in use after a GC (and the RSS), on the target its RSS and the heap
// and stacks in use that its /metrics report (run it with a low GOGC so little garbage
// remains: scripts/bench-push does). The fan-out: one purchase changes the stock; each
// subscriber's receipt of the change is timed from the message's sent_at_ns (push latency:
// the server's one send stamp to receipt, so it holds the whole fan-out's queueing) and
// from the purchase's answer; the spread is the first to the last receipt.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/internal/feed"
)

type config struct {
	target, token, sku  string
	via                 feed.Via
	n, sources, dialers int
	connectTimeout      time.Duration
	fanoutTimeout       time.Duration
	settle              time.Duration
	jsonOut             bool
}

func main() {
	var c config
	var via string
	flag.StringVar(&c.target, "target", "http://127.0.0.1:8080", "the target's base URL (loopback only)")
	flag.StringVar(&c.token, "token", os.Getenv("FLASHLOAD_ADMIN_TOKEN"), "the target's admin token")
	flag.StringVar(&c.sku, "sku", "crowd", "the SKU to create and watch")
	flag.StringVar(&via, "via", "ws", "ws or sse")
	flag.IntVar(&c.n, "n", 100000, "idle subscribers to hold")
	flag.IntVar(&c.sources, "sources", 0, "loopback source addresses 127.0.0.2... (0: one per 20,000 subscribers)")
	flag.IntVar(&c.dialers, "dialers", 128, "connects in flight at once")
	flag.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Minute, "bound on connecting all N")
	flag.DurationVar(&c.fanoutTimeout, "fanout-timeout", time.Minute, "bound on the change reaching all N")
	flag.DurationVar(&c.settle, "settle", 2*time.Second, "idle time before the memory is read")
	flag.BoolVar(&c.jsonOut, "json", false, "print the result as one JSON object")
	flag.Parse()
	var err error
	if c.via, err = feed.ParseVia(via); err != nil || c.n < 1 || c.dialers < 1 {
		fmt.Fprintln(os.Stderr, "pushscale: want -via ws|sse, -n ≥ 1, -dialers ≥ 1")
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "pushscale:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

// result is what one run measured.
type result struct {
	Subscribers     int     `json:"subscribers"`
	Via             string  `json:"via"`
	Sources         int     `json:"sources"`
	ConnectFailures int64   `json:"connect_failures"`
	ConnectSeconds  float64 `json:"connect_s"`
	GenBytesPerSub  float64 `json:"generator_bytes_per_subscriber"` // Go heap + stacks in use
	GenRSSPerSub    float64 `json:"generator_rss_per_subscriber"`
	GenStackPerSub  float64 `json:"generator_stack_per_subscriber"`
	TgtStackPerSub  float64 `json:"target_stack_per_subscriber"`
	TgtBytesPerSub  float64 `json:"target_bytes_per_subscriber"` // heap + stacks in use
	TgtRSSPerSub    float64 `json:"target_rss_per_subscriber"`
	Received        int     `json:"received"`
	PushP50Ms       float64 `json:"push_p50_ms"`
	PushP90Ms       float64 `json:"push_p90_ms"`
	PushP99Ms       float64 `json:"push_p99_ms"`
	PushMaxMs       float64 `json:"push_max_ms"`
	ChangeP99Ms     float64 `json:"change_p99_ms"` // from the purchase's answer
	SpreadMs        float64 `json:"spread_ms"`
}

func run(c config) error {
	u, err := checkLoopback(c.target)
	if err != nil {
		return usageError{err}
	}
	if err := feed.RaiseFileLimit(c.n + 256); err != nil {
		return usageError{err}
	}
	if c.sources <= 0 {
		c.sources = (c.n + 19999) / 20000
	}
	if err := createSKU(c, u); err != nil {
		return err
	}
	genBefore, tgtBefore := genMemory(), Metrics{}
	if tgtBefore, err = targetMemory(c.target); err != nil {
		return err
	}
	res := result{Subscribers: c.n, Via: string(c.via), Sources: c.sources}
	m := feed.NewMeter()
	subs := newCrowd(c.n)
	start := time.Now()
	if err := subs.connect(c, m); err != nil {
		return err
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	res.ConnectFailures = m.Stats().ConnectFailures
	time.Sleep(c.settle)
	genAfter := genMemory()
	tgtAfter, err := targetMemory(c.target)
	if err != nil {
		return err
	}
	n := float64(c.n)
	res.GenBytesPerSub = float64(genAfter.inuse-genBefore.inuse) / n
	res.GenRSSPerSub = float64(genAfter.rss-genBefore.rss) / n
	res.GenStackPerSub = float64(genAfter.stack-genBefore.stack) / n
	res.TgtStackPerSub = (tgtAfter.StackInuse - tgtBefore.StackInuse) / n
	res.TgtBytesPerSub = (tgtAfter.HeapInuse + tgtAfter.StackInuse - tgtBefore.HeapInuse - tgtBefore.StackInuse) / n
	res.TgtRSSPerSub = (tgtAfter.RSS - tgtBefore.RSS) / n

	// One stock change, to everyone.
	answered, err := purchase(c, u)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(c.fanoutTimeout)
	for subs.changed.Load() < int64(c.n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	res.Received = int(subs.changed.Load())
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	push, change, spread := subs.fanout(answered)
	if len(push) > 0 {
		res.PushP50Ms, res.PushP90Ms, res.PushP99Ms = ms(quantile(push, 0.5)), ms(quantile(push, 0.9)), ms(quantile(push, 0.99))
		res.PushMaxMs, res.ChangeP99Ms, res.SpreadMs = ms(push[len(push)-1]), ms(quantile(change, 0.99)), ms(spread)
	}
	report(c, res)
	if res.Received < c.n {
		return fmt.Errorf("the change reached %d of %d subscribers within %v", res.Received, c.n, c.fanoutTimeout)
	}
	return nil
}

// checkLoopback refuses any target but this machine's loopback.
func checkLoopback(target string) (string, error) {
	host := strings.TrimPrefix(strings.TrimPrefix(target, "http://"), "https://")
	host = strings.SplitN(host, "/", 2)[0]
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return "", fmt.Errorf("-target %q: want http://HOST:PORT", target)
	}
	ip := net.ParseIP(h)
	if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("-target %q: only a loopback target (127.0.0.0/8, ::1) may be loaded", target)
	}
	return strings.TrimRight(target, "/"), nil
}

type mem struct{ inuse, stack, rss int64 }

// genMemory is this process's Go heap and stacks in use after a GC, and its RSS.
func genMemory() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{inuse: int64(ms.HeapInuse + ms.StackInuse), stack: int64(ms.StackInuse), rss: rss()}
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Metrics are the target's memory figures from its /metrics.
type Metrics struct{ RSS, HeapInuse, StackInuse float64 }

func targetMemory(base string) (Metrics, error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return Metrics{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Metrics{}, err
	}
	var m Metrics
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			m.RSS = f
		case "go_memstats_heap_inuse_bytes":
			m.HeapInuse = f
		case "go_memstats_stack_inuse_bytes":
			m.StackInuse = f
		}
	}
	if m.RSS == 0 || m.HeapInuse == 0 {
		return m, fmt.Errorf("%s/metrics has no process_resident_memory_bytes or go_memstats_heap_inuse_bytes", base)
	}
	return m, nil
}

func createSKU(c config, base string) error {
	body := fmt.Sprintf(`{"sku":%q,"stock":1000000000,"price":100}`, c.sku)
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/skus", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("creating the SKU: %d %s", res.StatusCode, b)
	}
	return nil
}

// purchase changes the stock once and returns when its answer came.
func purchase(c config, base string) (time.Time, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/skus/"+c.sku+"/purchase", strings.NewReader(`{"qty":1}`))
	req.Header.Set("X-User-Id", "pushscale")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer res.Body.Close()
	at := time.Now()
	var v struct{ Code string }
	_ = json.NewDecoder(res.Body).Decode(&v)
	if res.StatusCode != http.StatusCreated {
		return at, fmt.Errorf("purchase: %d %s", res.StatusCode, v.Code)
	}
	return at, nil
}

// crowd is N subscribers and what each received.
type crowd struct {
	welcomed, changed atomic.Int64
	at                []atomic.Int64 // receipt of the change, Unix ns
	lat               []int64        // its push latency, ns (written before at)
}

func newCrowd(n int) *crowd { return &crowd{at: make([]atomic.Int64, n), lat: make([]int64, n)} }

// connect dials all subscribers, c.dialers at a time, and waits until each has its first
// message. Each reader runs on a goroutine of its own, started after the dial, so the dial's
// deeper stack is not what an idle subscriber keeps.
func (cr *crowd) connect(c config, m *feed.Meter) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.connectTimeout)
	defer cancel()
	url := feed.URL(c.target, c.sku, c.via)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range c.dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= c.n || ctx.Err() != nil {
					return
				}
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%c.sources))}
				conn, err := feed.Dial(ctx, url, feed.Options{Via: c.via, LocalAddr: src})
				if err != nil {
					m.Failed()
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				m.Connected()
				go cr.read(conn, i, m)
			}
		}()
	}
	wg.Wait()
	for cr.welcomed.Load()+m.Stats().ConnectFailures < int64(c.n) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if f := m.Stats().ConnectFailures; f > 0 {
		return fmt.Errorf("%d of %d subscribers failed to connect, the first: %v", f, c.n, firstErr.Load())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%d of %d subscribers welcomed within %v", cr.welcomed.Load(), c.n, c.connectTimeout)
	}
	return nil
}

func (cr *crowd) read(conn *feed.Conn, i int, m *feed.Meter) {
	defer m.Disconnected()
	defer conn.Close()
	for {
		r, err := conn.Next()
		if err != nil {
			return
		}
		m.Record(&r)
		if r.First {
			cr.welcomed.Add(1)
			continue
		}
		if cr.at[i].Load() == 0 {
			cr.lat[i] = int64(r.Latency)
			cr.at[i].Store(r.At.UnixNano())
			cr.changed.Add(1)
		}
	}
}

// fanout returns the change's push latencies and its delays after the purchase's answer,
// both sorted, and the spread from the first receipt to the last.
func (cr *crowd) fanout(answered time.Time) (push, change []time.Duration, spread time.Duration) {
	var first, last int64
	for i := range cr.at {
		v := cr.at[i].Load()
		if v == 0 {
			continue
		}
		push = append(push, time.Duration(cr.lat[i]))
		change = append(change, time.Duration(v-answered.UnixNano()))
		if first == 0 || v < first {
			first = v
		}
		last = max(last, v)
	}
	slices.Sort(push)
	slices.Sort(change)
	return push, change, time.Duration(last - first)
}

// quantile of sorted values (nearest rank).
func quantile(d []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(d))+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func report(c config, r result) {
	if c.jsonOut {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("subscribers %d (%s, %d source addresses), connected in %.1fs, %d failures\n",
		r.Subscribers, r.Via, r.Sources, r.ConnectSeconds, r.ConnectFailures)
	fmt.Printf("memory per idle subscriber: generator %.1f KB (Go heap+stacks, %.1f KB of it stacks; RSS %.1f KB), "+
		"target %.1f KB (heap+stacks, %.1f KB stacks; RSS %.1f KB)\n",
		r.GenBytesPerSub/1024, r.GenStackPerSub/1024, r.GenRSSPerSub/1024, r.TgtBytesPerSub/1024, r.TgtStackPerSub/1024, r.TgtRSSPerSub/1024)
	fmt.Printf("one change to all: received by %d; push latency p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms; "+
		"p99 after the purchase's answer %.1f ms; spread %.1f ms\n",
		r.Received, r.PushP50Ms, r.PushP90Ms, r.PushP99Ms, r.PushMaxMs, r.ChangeP99Ms, r.SpreadMs)
}
