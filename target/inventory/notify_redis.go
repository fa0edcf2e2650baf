package inventory

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// notifyScript increments a SKU's change number and publishes it in one step, so the order of
// the messages on the channel is the order of the numbers.
var notifyScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], n .. ' ' .. ARGV[2])
return n
`)

// pushChannel is the channel of every SKU's changes (one per key prefix: one service).
func (s *redisStrategy) pushChannel() string { return s.prefix + ":push" }

// pushKey holds a SKU's change number, in the SKU's hash slot.
func (s *redisStrategy) pushKey(sku string) string { return s.skuTag(sku) + "push" }

// Notify runs notifyScript once per SKU. It goes through the plain client, not the purchase
// path's autopipeliner: the target calls it from its own goroutine, coalesced, never inside
// a purchase.
func (s *redisStrategy) Notify(ctx context.Context, skus []string) error {
	for _, k := range skus {
		if err := notifyScript.Run(ctx, s.rdb, []string{s.pushKey(k)}, s.pushChannel(), k).Err(); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

func (s *redisStrategy) Changes(ctx context.Context, sku string) (int64, error) {
	n, err := s.rdb.Get(ctx, s.pushKey(sku)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, unavailable(err)
}

// Listen subscribes to the channel. go-redis resubscribes after a lost connection by itself;
// each (re)subscription arrives as a *redis.Subscription, which is when fn hears ("", 0).
func (s *redisStrategy) Listen(ctx context.Context, fn func(sku string, n int64)) error {
	return retryListen(ctx, func(ctx context.Context) error {
		ps := s.rdb.Subscribe(ctx, s.pushChannel())
		// Receive blocks in a read that ctx does not end: closing the subscription does.
		stop := context.AfterFunc(ctx, func() { ps.Close() })
		defer func() {
			if stop() {
				ps.Close()
			}
		}()
		for {
			msg, err := ps.Receive(ctx)
			if err != nil {
				return err
			}
			switch m := msg.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					fn("", 0)
				}
			case *redis.Message:
				if sku, n, ok := parseNotify(m.Payload); ok {
					fn(sku, n)
				}
			}
		}
	})
}

// redis-mq's stock lives in Redis: its changes travel there too.

func (s *mqStrategy) Notify(ctx context.Context, skus []string) error { return s.r.Notify(ctx, skus) }
func (s *mqStrategy) Changes(ctx context.Context, sku string) (int64, error) {
	return s.r.Changes(ctx, sku)
}
func (s *mqStrategy) Listen(ctx context.Context, fn func(string, int64)) error {
	return s.r.Listen(ctx, fn)
}

var (
	_ Notifier = (*redisStrategy)(nil)
	_ Notifier = (*lockStrategy)(nil)
	_ Notifier = (*mqStrategy)(nil)
	_ Notifier = (*pgStrategy)(nil)
)
