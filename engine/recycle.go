package engine

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/valyala/fasthttp"
)

// Connection recycling (Options.ConnMaxAge, ConnMaxRequests; nginx's keepalive_time and
// keepalive_requests): a keep-alive connection to the target is closed between requests once it
// is that old or has carried that many, and the next request opens a new one. Behind a layer-4
// balancer (a Kubernetes Service: kube-proxy pins each connection to the pod it reached first)
// only new connections reach new replicas, so without recycling the replicas an autoscaler adds
// while the run goes on get no traffic from connections opened before them.
type recycle struct {
	maxAge      time.Duration // 0: no age limit
	maxRequests int           // 0: no count limit
}

// aged says whether a connection of this age must not carry another request.
func (c recycle) aged(age time.Duration) bool { return c.maxAge > 0 && age >= c.maxAge }

// spent says whether a connection that carried n requests and is age old is closed now.
func (c recycle) spent(n int, age time.Duration) bool {
	return c.maxRequests > 0 && n >= c.maxRequests || c.aged(age)
}

// CheckConnOptions checks --conn-max-age, --conn-max-requests and --replica-header ("" is the
// default header) as Run would, so a command refuses them as bad input before any load.
func CheckConnOptions(age time.Duration, requests int, replicaHeader string) error {
	err := checkRecycle(age, requests)
	if replicaHeader != "" {
		if herr := checkHeaderName(replicaHeader); herr != nil {
			err = errors.Join(err, fmt.Errorf("--replica-header %q: %w", replicaHeader, herr))
		}
	}
	return err
}

// checkRecycle refuses negative limits (0 means never).
func checkRecycle(age time.Duration, requests int) error {
	var errs []error
	if age < 0 {
		errs = append(errs, fmt.Errorf("--conn-max-age %s: must be ≥ 0 (0: never)", age))
	}
	if requests < 0 {
		errs = append(errs, fmt.Errorf("--conn-max-requests %d: must be ≥ 0 (0: never)", requests))
	}
	return errors.Join(errs...)
}

// closeEvery marks one request in n with Connection: close on a fasthttp client, whose pool
// does not say which connection a request takes: each connection then carries n requests on
// average (the raw transport, the default for http:// targets, counts per connection exactly).
type closeEvery struct {
	n     int64
	count atomic.Int64
}

func (c *closeEvery) mark(req *fasthttp.Request) {
	if c == nil || c.n <= 0 {
		return
	}
	if c.count.Add(1)%c.n == 0 {
		req.SetConnectionClose()
	}
}

// DefaultReplicaHeader is the answer header the engine reads the replica from unless
// Options.ReplicaHeader names another: the reference target's.
const DefaultReplicaHeader = codes.ReplicaHeader

// maxReplicaIDs bounds the distinct replica names a run keeps; answers naming more count under
// replicaOther (a header that carries a request id, not a replica, cannot grow the summary).
const (
	maxReplicaIDs = 1024
	replicaOther  = "OTHER"
	workerIDs     = 64 // replica names a worker keeps without asking the run
)

// replicaNames interns the replica names of a run: the hot path looks a name up without
// allocating (each worker's own map first, then the run's under a lock) and allocates once
// per new name.
type replicaNames struct {
	mu    sync.RWMutex
	names map[string]string
	over  atomic.Bool // a name beyond maxReplicaIDs came
	seen  atomic.Bool // some answer named a replica
}

// intern is the run's string for the replica name b; local is the asking worker's cache.
func (n *replicaNames) intern(b []byte, local map[string]string) string {
	if id, ok := local[string(b)]; ok {
		return id
	}
	n.mu.RLock()
	id, ok := n.names[string(b)]
	n.mu.RUnlock()
	if !ok {
		n.mu.Lock()
		if id, ok = n.names[string(b)]; !ok {
			if len(n.names) >= maxReplicaIDs {
				id = replicaOther
				n.over.Store(true)
			} else {
				id = string(b)
				if n.names == nil {
					n.names = map[string]string{}
				}
				n.names[id] = id
			}
		}
		n.mu.Unlock()
	}
	if id != replicaOther && len(local) < workerIDs {
		local[id] = id
	}
	if !n.seen.Load() {
		n.seen.Store(true)
	}
	return id
}

// checkHeaderName refuses a header name HTTP does not allow (RFC 9110 token characters).
func checkHeaderName(name string) error {
	if name == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return fmt.Errorf("%q is not allowed in a header name", c)
		}
	}
	return nil
}

// replicaOf is the replica an answer named, interned ("" when it named none).
func (w *worker) replicaOf(v []byte) string {
	r := w.r
	if len(v) == 0 {
		return ""
	}
	if w.replicaIDs == nil {
		w.replicaIDs = map[string]string{}
	}
	return r.replicas.intern(v, w.replicaIDs)
}

// warnReplicas warns, once the load is over, when a replica header the user named was in no
// answer (a silent empty by_replica would read as "no replicas"), and when answers named more
// replicas than a run keeps.
func (r *run) warnReplicas() {
	if r.opts.ReplicaHeader != "" && !r.replicas.seen.Load() {
		r.rec.Warn(fmt.Sprintf("--replica-header %s: no answer carried it, so the run counts no load per replica (requests.by_replica is empty)", r.opts.ReplicaHeader))
	}
	if r.replicas.over.Load() {
		r.rec.Warn(fmt.Sprintf("answers named more than %d replicas in %s; the rest count as %s", maxReplicaIDs, r.replica, replicaOther))
	}
}
