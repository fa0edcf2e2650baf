// Package coord runs many load generators as one run, with Redis as the coordinator (every
// rehearsal already has one): generators register under a run id, start together at one shared
// instant, publish every closed window (result.Sealed: encoded HDR histograms and counters) to a
// Redis Stream, heartbeat, and publish their final segment run at the end; flashload watch merges
// the windows live (result.Live), evaluates the gates across all generators, sends aborts, marks
// silent generators lost and writes the merged run directory.
//
// The layout under flashload:run:ID: (every key expires a day after its last write):
//
//	reg    hash    segment index → Registration (JSON)
//	start  string  the shared start instant, Unix milliseconds (SET NX by the last to register)
//	hb     hash    segment index → Heartbeat (JSON), rewritten every Heartbeat interval
//	data   stream  entries {seg, kind: window|final, body: JSON of result.Sealed or Final}
//	ctl    stream  entries {kind: abort, body: JSON of Abort}
//
// Only the flashload processes of one run write these keys; the protocol is Redis's own
// (hashes, SET NX, XADD, XREAD BLOCK) through go-redis.
package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// TTL is how long a run's keys live after their last write.
const TTL = 24 * time.Hour

// Defaults of the timing knobs.
const (
	DefaultHeartbeat  = 500 * time.Millisecond
	DefaultLostAfter  = 3 * time.Second         // six heartbeats missed
	DefaultStartDelay = 1500 * time.Millisecond // from the last registration to the shared start
	pollEvery         = 50 * time.Millisecond
)

// Stream entry kinds.
const (
	KindWindow = "window"
	KindFinal  = "final"
	KindAbort  = "abort"
)

// Registration is what a generator registers under the run id.
type Registration struct {
	Segment    string    `json:"segment"` // I/N
	I          int       `json:"i"`
	N          int       `json:"n"`
	Name       string    `json:"name"` // the scenario's
	Gates      []string  `json:"gates,omitempty"`
	AbortGates []string  `json:"abort_gates,omitempty"`
	Host       string    `json:"host,omitempty"`
	PID        int       `json:"pid,omitempty"`
	At         time.Time `json:"at"`
}

// Heartbeat is a generator's periodic sign of life.
type Heartbeat struct {
	Seq   int64   `json:"seq"`   // counts up: the watcher compares it, not clocks
	CPU   float64 `json:"cpu"`   // process CPU over the last interval, in cores
	State string  `json:"state"` // waiting, running, draining
}

// Final is a generator's last entry: its run directory's summary.json and histograms.hlog as
// written (so the watcher's merge is flashload merge of the segments' directories), or why it
// has none.
type Final struct {
	State      string `json:"state"` // done, aborted, failed
	Summary    []byte `json:"summary,omitempty"`
	Histograms []byte `json:"histograms,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Abort stops every generator of the run: a failed abort gate, or q in watch.
type Abort struct {
	By    string    `json:"by"`             // "watch", or the segment of the generator that saw the gate fail
	Gate  string    `json:"gate,omitempty"` // the abort gate's expression; "" for q
	Value string    `json:"value,omitempty"`
	At    time.Time `json:"at"`
}

// Reason is what the summary's aborted field and the exit message say.
func (a Abort) Reason() string {
	if a.Gate != "" {
		return a.Gate
	}
	return a.By
}

func (a Abort) String() string {
	if a.Gate != "" {
		return fmt.Sprintf("abort gate %q failed (%s, seen by %s)", a.Gate, a.Value, a.By)
	}
	return "stopped by " + a.By
}

type keys struct{ reg, start, hb, data, ctl string }

func keysOf(runID string) keys {
	p := "flashload:run:" + runID + ":"
	return keys{reg: p + "reg", start: p + "start", hb: p + "hb", data: p + "data", ctl: p + "ctl"}
}

// connect opens a client on a redis:// URL and checks it answers.
func connect(ctx context.Context, url, runID string) (*redis.Client, error) {
	if runID == "" || strings.ContainsAny(runID, " \t\n{}") {
		return nil, fmt.Errorf("--run-id %q: a run id is one word", runID)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--coordinate %q: %w", url, err)
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("coordinator %s: %w", opts.Addr, err)
	}
	return c, nil
}

func add(ctx context.Context, c *redis.Client, stream, seg, kind string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"seg", seg, "kind", kind, "body", b}})
		p.Expire(ctx, stream, TTL)
		return nil
	})
	return err
}

// entry is one decoded stream entry.
type entry struct {
	stream, id, seg, kind string
	body                  []byte
}

func entries(streams []redis.XStream) []entry {
	var out []entry
	for _, s := range streams {
		for _, m := range s.Messages {
			e := entry{stream: s.Stream, id: m.ID}
			e.seg, _ = m.Values["seg"].(string)
			e.kind, _ = m.Values["kind"].(string)
			b, _ := m.Values["body"].(string)
			e.body = []byte(b)
			out = append(out, e)
		}
	}
	return out
}

// read blocks up to block for entries after the given ids (one per stream). No entries is not an error.
func read(ctx context.Context, c *redis.Client, block time.Duration, streamsAndIDs ...string) ([]entry, error) {
	res, err := c.XRead(ctx, &redis.XReadArgs{Streams: streamsAndIDs, Block: block, Count: 1000}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return entries(res), nil
}

// registrations reads the run's registrations by segment index.
func registrations(ctx context.Context, c *redis.Client, k keys) (map[int]Registration, error) {
	m, err := c.HGetAll(ctx, k.reg).Result()
	if err != nil {
		return nil, err
	}
	out := map[int]Registration{}
	for _, v := range m {
		var r Registration
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("registration %q: %w", v, err)
		}
		out[r.I] = r
	}
	return out, nil
}
