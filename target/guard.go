package target

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// limiter is a token bucket refilled at rate per second holding at most burst tokens (a tenth
// of a second of rate). Core routes take a token while one is left; non-core routes only while
// the bucket is at least half full, so under pressure views are refused first.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, now time.Time) *limiter {
	burst := max(rate/10, 1)
	return &limiter{rate: rate, burst: burst, tokens: burst, last: now}
}

func (l *limiter) allow(now time.Time, core bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := now.Sub(l.last); d > 0 {
		l.tokens = min(l.burst, l.tokens+d.Seconds()*l.rate)
		l.last = now
	}
	if !core && l.tokens < l.burst/2 {
		return false
	}
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// faultState is what POST /admin/faults injected; replaced whole on each POST.
type faultState struct {
	latency    time.Duration
	stallUntil time.Time
	errorRate  float64
	until      time.Time // zero: until the next POST
}

func (f *faultState) active(now time.Time) bool {
	return f.until.IsZero() || now.Before(f.until)
}

// stallPause holds the caller while a stall fault lasts: redis-lock calls it inside its
// critical section, so a stalled service holds its locks past their TTL, as a paused process would.
func (s *Server) stallPause(ctx context.Context) {
	f := s.faults.Load()
	if f == nil {
		return
	}
	if d := time.Until(f.stallUntil); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-s.done:
		}
	}
}

// fail draws whether this request gets an injected 500.
func (f *faultState) fail() bool { return f.errorRate > 0 && rand.Float64() < f.errorRate }

// keyGuard holds the idempotency keys whose purchase is running in this process, so a
// concurrent duplicate gets 409 IN_FLIGHT instead of waiting on the store.
type keyGuard struct {
	shards [16]struct {
		mu sync.Mutex
		m  map[string]struct{}
	}
}

func (g *keyGuard) init() {
	for i := range g.shards {
		g.shards[i].m = map[string]struct{}{}
	}
}

func (g *keyGuard) acquire(k string) bool {
	sh := &g.shards[fnv32(k)%uint32(len(g.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, busy := sh.m[k]; busy {
		return false
	}
	sh.m[k] = struct{}{}
	return true
}

func (g *keyGuard) release(k string) {
	sh := &g.shards[fnv32(k)%uint32(len(g.shards))]
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
