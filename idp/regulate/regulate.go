package regulate

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Well-known scopes. Any other non-empty string works as well; only ScopeIP is
// treated specially (see Succeed).
const (
	ScopeUser   = "user"
	ScopeIP     = "ip"
	ScopeClient = "client"
)

// DefaultMaxEntries bounds the number of keys a Regulator tracks unless WithMaxEntries
// says otherwise. An entry costs roughly 200 bytes plus 8 bytes per counted failure, so
// the default stays in the tens of megabytes even under a key-exhaustion attack.
const DefaultMaxEntries = 100_000

// maxIDLen bounds how much of a caller-supplied id is kept in memory; longer ids are
// replaced by their SHA-256 so a hostile 1 MB user name cannot multiply the memory cap.
const maxIDLen = 64

// evictScan is how many of the least recently failed entries are inspected when the
// table is full, looking for one that has expired or is not locked.
const evictScan = 64

// ErrThrottled is returned (wrapped in *ThrottledError) by Check while a key is locked.
var ErrThrottled = errors.New("too many failed attempts")

// ThrottledError says which scope is locked and for how long. It matches ErrThrottled
// with errors.Is. It deliberately does not carry the key id: error strings end up in
// places where a user name should not.
type ThrottledError struct {
	Scope      string
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v: %s locked, retry after %s", ErrThrottled, e.Scope, e.RetryAfter)
}

// Unwrap lets errors.Is(err, ErrThrottled) match.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Limits says when a key is locked: MaxFailures failures within Window lock it for
// Lockout. A MaxFailures of zero or less disables regulation for the key (nothing is
// stored for it); callers are expected to supply real limits.
type Limits struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// Key names one thing being regulated. Callers normalise ID (lowercase a user name,
// reduce an IPv6 address to its /64) before building the key.
type Key struct {
	Scope  string
	ID     string
	Limits Limits
}

type entryKey struct {
	scope string
	id    string
}

func makeEntryKey(k Key) entryKey {
	id := k.ID
	if len(id) > maxIDLen {
		// "#" plus 64 hex digits is 65 bytes, longer than any id kept verbatim, so a
		// digest can never collide with a raw id.
		sum := sha256.Sum256([]byte(id))
		id = "#" + hex.EncodeToString(sum[:])
	}
	return entryKey{scope: k.Scope, id: id}
}

type entry struct {
	key         entryKey
	limits      Limits
	failures    []time.Time // at most limits.MaxFailures, oldest first
	lockedUntil time.Time
	elem        *list.Element // position in Regulator.lru
}

// expired reports whether the entry no longer affects any decision at now.
func (e *entry) expired(now time.Time) bool {
	if now.Before(e.lockedUntil) {
		return false
	}
	if n := len(e.failures); n > 0 && now.Sub(e.failures[n-1]) < e.limits.Window {
		return false
	}
	return true
}

func (e *entry) locked(now time.Time) bool { return now.Before(e.lockedUntil) }

// Regulator counts failures per key. It is safe for concurrent use. The zero value is
// not usable; call New.
type Regulator struct {
	now        func() time.Time
	maxEntries int

	mu      sync.Mutex
	entries map[entryKey]*entry
	lru     *list.List // of *entry; front = most recently failed
}

// Option configures a Regulator.
type Option func(*Regulator)

// WithMaxEntries caps the number of tracked keys (minimum 1).
func WithMaxEntries(n int) Option {
	return func(r *Regulator) {
		if n < 1 {
			n = 1
		}
		r.maxEntries = n
	}
}

// New returns a Regulator reading time from now (time.Now when nil).
func New(now func() time.Time, opts ...Option) *Regulator {
	if now == nil {
		now = time.Now
	}
	r := &Regulator{
		now:        now,
		maxEntries: DefaultMaxEntries,
		entries:    make(map[entryKey]*entry),
		lru:        list.New(),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Check returns a *ThrottledError if any of the keys is locked, naming the one that
// stays locked longest. It does not count as an attempt.
func (r *Regulator) Check(keys ...Key) error {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var worst *ThrottledError
	for _, k := range keys {
		e, ok := r.entries[makeEntryKey(k)]
		if !ok || !e.locked(now) {
			continue
		}
		if after := e.lockedUntil.Sub(now); worst == nil || after > worst.RetryAfter {
			worst = &ThrottledError{Scope: k.Scope, RetryAfter: after}
		}
	}
	if worst != nil {
		return worst
	}
	return nil
}

// Fail records one failed attempt against each key. A key whose failures within its
// Window reach MaxFailures is locked for Lockout and its count starts again from zero
// once the lock ends. Failures reported while a key is already locked do not extend
// the lock: callers Check first, so they only arrive from racing requests.
func (r *Regulator) Fail(keys ...Key) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if k.Limits.MaxFailures <= 0 {
			continue
		}
		e := r.lookupOrInsert(makeEntryKey(k), now)
		e.limits = k.Limits
		r.lru.MoveToFront(e.elem)
		if e.locked(now) {
			continue
		}
		// Sliding window: keep only failures younger than Window, and at most the last
		// MaxFailures of them (older ones cannot change the decision).
		kept := e.failures[:0]
		for _, t := range e.failures {
			if now.Sub(t) < k.Limits.Window {
				kept = append(kept, t)
			}
		}
		kept = append(kept, now)
		if over := len(kept) - k.Limits.MaxFailures; over > 0 {
			kept = append(kept[:0], kept[over:]...)
		}
		e.failures = kept
		if len(e.failures) >= k.Limits.MaxFailures {
			e.lockedUntil = now.Add(k.Limits.Lockout)
			e.failures = nil
		}
	}
	r.pruneTail(now)
}

// Succeed clears the failures counted against each non-IP key. IP keys keep counting:
// a sprayer who knows one valid password must not be able to reset the counter of
// the address it sprays from. An active lock is not lifted (the caller Checked before
// verifying, so a locked key cannot reach here except through a race); use Reset for
// an administrative unlock.
func (r *Regulator) Succeed(keys ...Key) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if k.Scope == ScopeIP {
			continue
		}
		e, ok := r.entries[makeEntryKey(k)]
		if !ok {
			continue
		}
		if e.locked(now) {
			e.failures = nil
			continue
		}
		r.remove(e)
	}
}

// Reset forgets everything about the keys, locks included (administrative unlock).
func (r *Regulator) Reset(keys ...Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if e, ok := r.entries[makeEntryKey(k)]; ok {
			r.remove(e)
		}
	}
}

// Len returns the number of keys currently tracked (for metrics and tests).
func (r *Regulator) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// lookupOrInsert returns the entry for k, creating it (and making room) if needed.
// r.mu must be held.
func (r *Regulator) lookupOrInsert(k entryKey, now time.Time) *entry {
	if e, ok := r.entries[k]; ok {
		return e
	}
	if len(r.entries) >= r.maxEntries {
		r.makeRoom(now)
	}
	e := &entry{key: k}
	e.elem = r.lru.PushFront(e)
	r.entries[k] = e
	return e
}

// makeRoom frees at least one slot. It looks at the least recently failed entries and
// drops every expired one among them; failing that, the oldest unlocked one; failing
// that, the oldest. Locks are kept as long as possible because forgetting a lock
// hands an attacker a fresh budget, while forgetting a few counted failures costs
// little. r.mu must be held.
func (r *Regulator) makeRoom(now time.Time) {
	var unlocked *entry
	freed := false
	el := r.lru.Back()
	for i := 0; i < evictScan && el != nil; i++ {
		e := el.Value.(*entry)
		el = el.Prev()
		switch {
		case e.expired(now):
			r.remove(e)
			freed = true
		case unlocked == nil && !e.locked(now):
			unlocked = e
		}
	}
	if freed {
		return
	}
	if unlocked != nil {
		r.remove(unlocked)
		return
	}
	if back := r.lru.Back(); back != nil {
		r.remove(back.Value.(*entry))
	}
}

// pruneTail drops a few expired entries from the least recently failed end, so memory
// shrinks back after an attack without a background goroutine. r.mu must be held.
func (r *Regulator) pruneTail(now time.Time) {
	for i := 0; i < 2; i++ {
		back := r.lru.Back()
		if back == nil {
			return
		}
		e := back.Value.(*entry)
		if !e.expired(now) {
			return
		}
		r.remove(e)
	}
}

func (r *Regulator) remove(e *entry) {
	r.lru.Remove(e.elem)
	delete(r.entries, e.key)
}
