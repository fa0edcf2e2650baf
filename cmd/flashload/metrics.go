package main

import (
	"fmt"
	"io"

	"github.com/flashload/flashload/report/metrics"
)

// listenMetrics starts --metrics-addr's server when addr is set (nil, nil otherwise) and says
// where on stderr; a bad address is a usage error, before any load. The caller closes it.
func listenMetrics(addr string, stderr io.Writer) (*metrics.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ms, err := metrics.Listen(addr)
	if err != nil {
		return nil, usageErr(err)
	}
	fmt.Fprintf(stderr, "metrics: http://%s/metrics\n", ms.Addr())
	return ms, nil
}
