package main

import (
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/spf13/cobra"
)

// connFlags are the connection flags of run and rehearse: recycling (nginx's keepalive_time and
// keepalive_requests) and the header that names the replica that answered.
type connFlags struct {
	MaxAge        time.Duration
	MaxRequests   int
	ReplicaHeader string // run only: rehearse's replicas are the reference target's
}

func (c *connFlags) register(cmd *cobra.Command) { registerRecycle(cmd, &c.MaxAge, &c.MaxRequests) }

// registerRecycle adds --conn-max-age and --conn-max-requests (run and rehearse).
func registerRecycle(cmd *cobra.Command, age *time.Duration, requests *int) {
	f := cmd.Flags()
	f.DurationVar(age, "conn-max-age", 0, "close a connection to the target between requests once it is this old; the next request opens a new one, which a Kubernetes Service may send to another pod (0: never)")
	f.IntVar(requests, "conn-max-requests", 0, "close a connection to the target after this many requests; the next opens a new one (0: never)")
}

// check refuses negative ages and counts and a header name HTTP does not allow.
func (c *connFlags) check() error {
	return engine.CheckConnOptions(c.MaxAge, c.MaxRequests, c.ReplicaHeader)
}
