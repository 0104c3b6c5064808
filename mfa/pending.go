package mfa

import (
	"container/list"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrPendingFull is returned by Pending.Put when max unexpired values are held.
var ErrPendingFull = errors.New("too many pending second-factor operations")

// pendingIDBytes is the entropy of a pending id: 128 bits, so ids can neither be
// guessed nor collide (the id is the only thing standing between a client and the
// value).
const pendingIDBytes = 16

// Pending holds short-lived, single-use values (a TOTP secret awaiting its first code,
// a WebAuthn challenge) under random ids. It is safe for concurrent use.
//
// Pending is in memory and per process: a value put on one instance cannot be taken
// on another, and a restart forgets every value. That is acceptable while Portcullis
// runs as one process; a multi-instance deployment moves these values to the store.
//
// Memory is bounded: at most max values are held. When the table is full, expired
// values are dropped first; if none has expired Put fails with ErrPendingFull rather
// than evicting a live value, so that a flood of new operations cannot silently cancel
// the ones honest users are in the middle of.
type Pending[T any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	items map[string]*list.Element // of *pendingItem[T]
	order *list.List               // oldest first; ttl is fixed, so also by expiry
}

type pendingItem[T any] struct {
	id      string
	value   T
	expires time.Time
}

// NewPending returns a Pending whose values live for ttl, holding at most max of them
// (at least 1), reading time from now (time.Now when nil).
func NewPending[T any](ttl time.Duration, max int, now func() time.Time) *Pending[T] {
	if max < 1 {
		max = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Pending[T]{
		ttl:   ttl,
		max:   max,
		now:   now,
		items: make(map[string]*list.Element),
		order: list.New(),
	}
}

// Put stores v and returns its id: 128 random bits, base64url without padding.
func (p *Pending[T]) Put(v T) (string, error) {
	var b [pendingIDBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pending: read random id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(now)
	if len(p.items) >= p.max {
		return "", fmt.Errorf("pending: %d values held: %w", len(p.items), ErrPendingFull)
	}
	if _, taken := p.items[id]; taken {
		// 2^-128 per pair: only a broken random source gets here.
		return "", fmt.Errorf("pending: random id repeated")
	}
	p.items[id] = p.order.PushBack(&pendingItem[T]{id: id, value: v, expires: now.Add(p.ttl)})
	return id, nil
}

// Take removes and returns the value stored under id. It reports false when id is
// unknown, already taken or expired.
func (p *Pending[T]) Take(id string) (T, bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	el, ok := p.items[id]
	if !ok {
		return zero, false
	}
	it := el.Value.(*pendingItem[T])
	p.remove(el)
	if !now.Before(it.expires) {
		return zero, false
	}
	return it.value, true
}

// Peek returns the value stored under id without removing it, so a caller can check
// it (does it belong to this user? does the code match?) before committing to Take.
// Callers that act on the value must still Take it and act only if Take succeeds:
// that is what makes the value single-use under concurrent requests.
func (p *Pending[T]) Peek(id string) (T, bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	el, ok := p.items[id]
	if !ok {
		return zero, false
	}
	it := el.Value.(*pendingItem[T])
	if !now.Before(it.expires) {
		p.remove(el)
		return zero, false
	}
	return it.value, true
}

// Len returns the number of values held, expired ones not yet swept included.
func (p *Pending[T]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// sweep drops expired values from the front of the queue. p.mu must be held.
func (p *Pending[T]) sweep(now time.Time) {
	for el := p.order.Front(); el != nil; el = p.order.Front() {
		if now.Before(el.Value.(*pendingItem[T]).expires) {
			return
		}
		p.remove(el)
	}
}

// remove drops one value. p.mu must be held.
func (p *Pending[T]) remove(el *list.Element) {
	delete(p.items, el.Value.(*pendingItem[T]).id)
	p.order.Remove(el)
}
