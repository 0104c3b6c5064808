package mfa_test

import (
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/mfa"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestPendingTakeIsSingleUse(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := mfa.NewPending[string](time.Minute, 10, c.Now)
	id, err := p.Put("secret")
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if v, ok := p.Peek(id); !ok || v != "secret" {
		t.Fatalf("Peek = %q, %v", v, ok)
	}
	if v, ok := p.Take(id); !ok || v != "secret" {
		t.Fatalf("Take = %q, %v; want secret, true", v, ok)
	}
	if v, ok := p.Take(id); ok || v != "" {
		t.Fatalf("second Take = %q, %v; want zero, false", v, ok)
	}
	if _, ok := p.Peek(id); ok {
		t.Fatalf("Peek after Take found the value")
	}
	if _, ok := p.Take("unknown"); ok {
		t.Fatalf("Take of an unknown id succeeded")
	}
	if p.Len() != 0 {
		t.Fatalf("Len = %d after Take, want 0", p.Len())
	}
}

func TestPendingIDsAreRandom128BitBase64URL(t *testing.T) {
	t.Parallel()
	p := mfa.NewPending[int](time.Minute, 100, nil)
	seen := map[string]bool{}
	for i := range 50 {
		id, err := p.Put(i)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 16 {
			t.Fatalf("id %q: %d bytes, %v; want 16 bytes of unpadded base64url", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("id %q issued twice", id)
		}
		seen[id] = true
	}
}

func TestPendingExpires(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := mfa.NewPending[string](time.Minute, 10, c.Now)
	ids := make([]string, 4)
	for i := range ids {
		ids[i], _ = p.Put("v")
	}
	c.Advance(time.Minute - time.Nanosecond)
	if _, ok := p.Peek(ids[0]); !ok {
		t.Fatalf("Peek just before the ttl failed")
	}
	if _, ok := p.Take(ids[1]); !ok {
		t.Fatalf("Take just before the ttl failed")
	}
	c.Advance(time.Nanosecond)
	if _, ok := p.Peek(ids[2]); ok {
		t.Fatalf("Peek at the ttl found the value")
	}
	if _, ok := p.Take(ids[3]); ok {
		t.Fatalf("Take at the ttl found the value")
	}
}

func TestPendingIsBounded(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := mfa.NewPending[int](time.Minute, 2, c.Now)
	for i := range 2 {
		if _, err := p.Put(i); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	if _, err := p.Put(2); !errors.Is(err, mfa.ErrPendingFull) {
		t.Fatalf("Put past max: err = %v, want ErrPendingFull", err)
	}
	// Live values are never evicted to make room; expired ones are.
	c.Advance(time.Minute)
	id, err := p.Put(3)
	if err != nil {
		t.Fatalf("Put after the others expired: %v", err)
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (expired values swept)", p.Len())
	}
	if v, ok := p.Take(id); !ok || v != 3 {
		t.Fatalf("Take = %d, %v", v, ok)
	}
}

func TestPendingConcurrentTakeHasOneWinner(t *testing.T) {
	t.Parallel()
	p := mfa.NewPending[int](time.Minute, 1000, nil)
	const racers = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for round := range 20 {
		id, err := p.Put(round)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		for range racers {
			wg.Go(func() {
				if _, ok := p.Take(id); ok {
					wins.Add(1)
				}
				// Concurrent puts exercise the table while others take.
				if other, err := p.Put(-1); err == nil {
					p.Take(other)
				}
			})
		}
		wg.Wait()
		if n := wins.Swap(0); n != 1 {
			t.Fatalf("round %d: %d takers won, want 1", round, n)
		}
	}
}
