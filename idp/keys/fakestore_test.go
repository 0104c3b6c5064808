package keys

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// memKeys is an in-memory store.SigningKeys with the contract's Version semantics.
type memKeys struct {
	mu        sync.Mutex
	recs      map[string]store.SigningKey
	now       func() time.Time
	failWrite error // returned by every write when set
}

var _ store.SigningKeys = (*memKeys)(nil)

func newMemKeys(now func() time.Time) *memKeys {
	return &memKeys{recs: map[string]store.SigningKey{}, now: now}
}

func cloneKey(k store.SigningKey) store.SigningKey {
	k.Private = bytes.Clone(k.Private)
	k.Public = bytes.Clone(k.Public)
	return k
}

func (s *memKeys) CreateSigningKey(_ context.Context, k store.SigningKey) (store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWrite != nil {
		return store.SigningKey{}, s.failWrite
	}
	if _, ok := s.recs[k.ID]; ok {
		return store.SigningKey{}, fmt.Errorf("create signing key %s: %w", k.ID, store.ErrAlreadyExists)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	k.UpdatedAt = k.CreatedAt
	k.Version = 1
	s.recs[k.ID] = cloneKey(k)
	return cloneKey(k), nil
}

func (s *memKeys) ListSigningKeys(context.Context) ([]store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.SigningKey, 0, len(s.recs))
	for _, k := range s.recs {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *memKeys) UpdateSigningKey(_ context.Context, k store.SigningKey) (store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWrite != nil {
		return store.SigningKey{}, s.failWrite
	}
	old, ok := s.recs[k.ID]
	if !ok {
		return store.SigningKey{}, fmt.Errorf("update signing key %s: %w", k.ID, store.ErrNotFound)
	}
	if old.Version != k.Version {
		return store.SigningKey{}, fmt.Errorf("update signing key %s: %w", k.ID, store.ErrConflict)
	}
	k.CreatedAt = old.CreatedAt
	k.UpdatedAt = s.now()
	k.Version++
	s.recs[k.ID] = cloneKey(k)
	return cloneKey(k), nil
}

func (s *memKeys) DeleteSigningKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWrite != nil {
		return s.failWrite
	}
	if _, ok := s.recs[id]; !ok {
		return fmt.Errorf("delete signing key %s: %w", id, store.ErrNotFound)
	}
	delete(s.recs, id)
	return nil
}

// get returns the stored record (test helper).
func (s *memKeys) get(id string) (store.SigningKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.recs[id]
	return cloneKey(k), ok
}

// put overwrites a record as is, bypassing Version checks, to stage crash states and
// tampering.
func (s *memKeys) put(k store.SigningKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[k.ID] = cloneKey(k)
}

func (s *memKeys) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, id)
}

// byState returns the ids in each state.
func (s *memKeys) byState() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, k := range s.recs {
		out[k.State] = append(out[k.State], k.ID)
	}
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out
}

func (s *memKeys) setFailWrite(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWrite = err
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} }

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
