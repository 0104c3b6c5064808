package webidentity

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// replayCache remembers accepted (issuer, jti) pairs until the token could
// no longer be accepted anyway (exp plus skew), as RFC 7519 §4.1.7 suggests
// for one-time use. It is bounded; when full of live entries it refuses new
// tokens instead of forgetting old ones, because an entry dropped early is a
// replay window an attacker with a stolen token could use.
type replayCache struct {
	max int

	mu     sync.Mutex
	seen   map[string]time.Time
	expiry expiryHeap
}

func newReplayCache(maxEntries int) *replayCache {
	return &replayCache{max: maxEntries, seen: make(map[string]time.Time)}
}

// remember records key until `until`. It fails with ErrReplay when key is
// already recorded, or when the cache is full of unexpired entries.
func (c *replayCache) remember(key string, until, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge(now)
	if _, ok := c.seen[key]; ok {
		return fmt.Errorf("%w: jti already used", ErrReplay)
	}
	if len(c.seen) >= c.max {
		return fmt.Errorf("%w: replay cache full (%d live entries), cannot record jti", ErrReplay, len(c.seen))
	}
	c.seen[key] = until
	heap.Push(&c.expiry, replayEntry{key: key, until: until})
	return nil
}

// purge drops entries whose tokens have expired.
func (c *replayCache) purge(now time.Time) {
	for c.expiry.Len() > 0 && !c.expiry[0].until.After(now) {
		e := heap.Pop(&c.expiry).(replayEntry)
		delete(c.seen, e.key)
	}
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type replayEntry struct {
	key   string
	until time.Time
}

// expiryHeap is a min-heap of entries by expiry, so purging costs only the
// entries that actually expired.
type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
