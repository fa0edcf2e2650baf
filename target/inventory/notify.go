package inventory

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Notifier is implemented by the strategies whose state replicas share (Redis, PostgreSQL): a
// change of a SKU made on any replica reaches every replica's push feeds through the store
// (Redis pub/sub, PostgreSQL LISTEN/NOTIFY). The in-process strategies do not implement it:
// their one process sees its own changes.
//
// Every SKU has a change number in the store: Notify increments it and publishes the new
// value, so every replica numbers the same change alike (the feeds' sequence numbers are
// built on it) and a replica that starts listening late reads where the count stands.
type Notifier interface {
	// Notify publishes a change of each SKU (one increment of its change number each).
	Notify(ctx context.Context, skus []string) error
	// Changes reads a SKU's change number (0 before the first Notify).
	Changes(ctx context.Context, sku string) (int64, error)
	// Listen calls fn for every change any replica publishes, until ctx ends (then it returns
	// nil). fn("", 0) says the subscription was (re)established: changes published while it
	// was down are lost, so the caller reads the change numbers again. Listen reconnects after
	// a store outage by itself, waiting up to ListenBackoff between tries.
	Listen(ctx context.Context, fn func(sku string, n int64)) error
}

// ListenBackoff is the longest wait between Listen's tries to reconnect.
const ListenBackoff = time.Second

// notifyPayload is a notification's text, "N SKU" (SKU names hold no space).
func notifyPayload(n int64, sku string) string { return strconv.FormatInt(n, 10) + " " + sku }

// parseNotify reads notifyPayload's text; ok is false for anything else.
func parseNotify(p string) (sku string, n int64, ok bool) {
	num, name, found := strings.Cut(p, " ")
	if !found || name == "" {
		return "", 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return name, n, true
}

// retryListen runs one subscription after another until ctx ends, backing off between
// failures (doubling from 50 ms to ListenBackoff; a subscription that lasted resets it).
func retryListen(ctx context.Context, once func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		start := time.Now()
		err := once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || time.Since(start) > ListenBackoff {
			wait = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, ListenBackoff)
	}
}
