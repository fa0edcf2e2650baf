// Command bareloop is the ceiling scripts/bench-engine compares the engine against: C goroutines
// each sending GET URL back to back through one fasthttp.HostClient (C connections, pipelining
// off), for D, with nothing else per request (no recording, no parsing). It prints
// "requests N seconds S rps R".
//
//	go run ./bench/bareloop -c 64 -d 5s http://127.0.0.1:8080/v1/skus/bench
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	conns := flag.Int("c", 64, "connections (and goroutines)")
	dur := flag.Duration("d", 5*time.Second, "duration")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bareloop [-c N] [-d D] URL")
		os.Exit(2)
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil || u.Host == "" {
		fmt.Fprintln(os.Stderr, "bareloop: bad URL", flag.Arg(0))
		os.Exit(2)
	}
	hc := &fasthttp.HostClient{Addr: u.Host, MaxConns: *conns, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, NoDefaultUserAgentHeader: true, MaxIdemponentCallAttempts: 1}
	var n, errs atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req fasthttp.Request
			var resp fasthttp.Response
			req.SetRequestURI(flag.Arg(0))
			var k, e int64
			for !stop.Load() {
				if err := hc.Do(&req, &resp); err != nil {
					e++
				} else {
					k++
				}
			}
			n.Add(k)
			errs.Add(e)
		}()
	}
	time.Sleep(*dur)
	stop.Store(true)
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("requests %d errors %d seconds %.3f rps %.1f\n", n.Load(), errs.Load(), secs, float64(n.Load())/secs)
}
