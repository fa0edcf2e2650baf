package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/flashload/flashload/scenario"
)

// Admin applies the faults a target's admin API offers (POST /admin/faults): a stall of the
// whole service (target: stall) and a crash of redis-mq's order consumers (consumer: kill), on
// one replica (Replica) or every one of URLs. It is what `run` can do to a target it does not
// own; the rehearsal uses it for the same two kinds.
type Admin struct {
	URLs   []string // the replicas' base URLs, in replica order
	Token  string
	Client *http.Client // nil: a client with a 10s timeout
}

// Supported says whether the admin API can apply f, and why not.
func (a *Admin) Supported(f *scenario.Fault) error {
	switch f.Kind() {
	case "target:stall", "consumer:kill":
		if f.Replica != nil && *f.Replica >= len(a.URLs) {
			return fmt.Errorf("no replica %d: the target has %d URL(s)", *f.Replica, len(a.URLs))
		}
		return nil
	}
	return fmt.Errorf("%s: %w against a target flashload does not own; its admin API (POST /admin/faults) offers "+
		"target: stall and consumer: kill; flashload rehearse applies every kind (it owns the stores, replicas and proxies)", f.Kind(), ErrUnsupported)
}

// Start posts the fault to its replicas.
func (a *Admin) Start(ctx context.Context, f *scenario.Fault) error {
	if err := a.Supported(f); err != nil {
		return err
	}
	body := map[string]any{}
	switch f.Kind() {
	case "target:stall":
		body["stall"] = f.For.D().String()
		body["for"] = f.For.D().String()
	case "consumer:kill":
		body["consumers"] = "kill"
	}
	return a.post(ctx, f, body)
}

// End clears the fault: consumers start again; a stall has ended by itself.
func (a *Admin) End(ctx context.Context, f *scenario.Fault) error {
	if f.Kind() == "target:stall" {
		return nil
	}
	return a.post(ctx, f, map[string]any{})
}

func (a *Admin) post(ctx context.Context, f *scenario.Fault, body map[string]any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	urls := a.URLs
	if f.Replica != nil {
		urls = a.URLs[*f.Replica : *f.Replica+1]
	}
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	var errs []string
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(u, "/")+"/admin/faults", bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Sprintf("%s: POST /admin/faults: %d %s", u, resp.StatusCode, bytes.TrimSpace(msg)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
