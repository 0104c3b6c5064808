package policy

import (
	"container/list"
	"fmt"
)

// lru is a bounded least-recently-used map from (name, version) to a compiled policy.
// Versions of a stored policy are immutable, so an entry never needs invalidating; the
// bound only stops a stream of distinct policies from growing memory without limit.
type lru struct {
	max   int
	order *list.List // front = most recently used; values are *lruEntry
	items map[cacheKey]*list.Element
}

type cacheKey struct{ name, version string }

type lruEntry struct {
	key cacheKey
	val *Compiled
}

func newLRU(max int) *lru {
	if max <= 0 {
		max = DefaultCacheSize
	}
	return &lru{max: max, order: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *lru) get(k cacheKey) (*Compiled, bool) {
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).val, true
}

func (c *lru) put(k cacheKey, v *Compiled) {
	if el, ok := c.items[k]; ok {
		el.Value.(*lruEntry).val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{key: k, val: v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int { return c.order.Len() }

// cached returns the cache, creating it on first use so the zero Evaluator works.
// e.mu must be held.
func (e *Evaluator) cached() *lru {
	if e.cache == nil {
		e.cache = newLRU(e.size)
	}
	return e.cache
}

// Compile returns the compiled form of policy (name, version), compiling d only when
// the pair is not cached. The same (name, version) must always denote the same document.
func (e *Evaluator) Compile(name, version string, d *Document) (*Compiled, error) {
	k := cacheKey{name, version}
	e.mu.Lock()
	c, ok := e.cached().get(k)
	e.mu.Unlock()
	if ok {
		return c, nil
	}
	// Compile outside the lock; two goroutines racing on the same key do the work twice
	// and store equivalent results, which is cheaper than serialising every miss.
	c, err := Compile(name, version, d)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cached().put(k, c)
	e.mu.Unlock()
	return c, nil
}

// CompileJSON is Compile for policy text: on a cache hit it skips parsing as well.
func (e *Evaluator) CompileJSON(name, version string, kind Kind, data []byte) (*Compiled, error) {
	k := cacheKey{name, version}
	e.mu.Lock()
	c, ok := e.cached().get(k)
	e.mu.Unlock()
	if ok {
		if c.kind != kind {
			return nil, fmt.Errorf("policy %q version %q: cached as %v, wanted %v: %w", name, version, c.kind, kind, ErrWrongKind)
		}
		return c, nil
	}
	d, err := Parse(data, kind)
	if err != nil {
		return nil, fmt.Errorf("policy %q: %w", name, err)
	}
	return e.Compile(name, version, d)
}

// CacheLen reports how many compiled policies are cached.
func (e *Evaluator) CacheLen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cached().len()
}
