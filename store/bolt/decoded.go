package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/portcullis-id/portcullis/store"
)

// decodedCache remembers the decoded form of records that hot paths read on every
// request (clients at the token endpoint; API tokens, roles and policies at the decision
// point) next to the exact bytes they were decoded from. Comparing the stored bytes with
// the remembered ones costs a memcmp where decoding JSON costs microseconds. A hit is
// only possible when the bytes are identical, so the cache never serves a stale record:
// any write changes the bytes. Callers get deep copies they may modify.
type decodedCache[T any] struct {
	clone func(T) T
	mu    sync.RWMutex
	m     map[string]cachedRecord[T]
}

type cachedRecord[T any] struct {
	raw []byte
	v   T
}

// maxCachedRecords bounds memory; past it the cache is simply cleared (the cached kinds
// are few, so this is a safety valve, not an eviction policy).
const maxCachedRecords = 4096

func newDecodedCache[T any](clone func(T) T) *decodedCache[T] {
	return &decodedCache[T]{clone: clone}
}

// load reads key from b, decoding only when the bytes differ from the cached ones.
// found is false when the key is absent.
func (c *decodedCache[T]) load(b *bbolt.Bucket, key string) (v T, found bool, err error) {
	raw := b.Get([]byte(key))
	if raw == nil {
		return v, false, nil
	}
	if c != nil {
		c.mu.RLock()
		e, ok := c.m[key]
		c.mu.RUnlock()
		if ok && bytes.Equal(e.raw, raw) {
			return c.clone(e.v), true, nil
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, true, fmt.Errorf("decode %q: %w", key, err)
	}
	if c != nil {
		e := cachedRecord[T]{raw: bytes.Clone(raw), v: c.clone(v)}
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCachedRecords {
			c.m = make(map[string]cachedRecord[T])
		}
		c.m[key] = e
		c.mu.Unlock()
	}
	return v, true, nil
}

// caches groups the decoded caches of one Store.
type caches struct {
	clients   *decodedCache[store.Client]
	roles     *decodedCache[store.Role]
	policies  *decodedCache[store.ManagedPolicy]
	apiTokens *decodedCache[store.APIToken]
}

func newCaches() *caches {
	return &caches{
		clients:   newDecodedCache(cloneClient),
		roles:     newDecodedCache(cloneRole),
		policies:  newDecodedCache(clonePolicy),
		apiTokens: newDecodedCache(cloneAPIToken),
	}
}

func cloneClient(c store.Client) store.Client {
	c.Secrets = slices.Clone(c.Secrets)
	for i := range c.Secrets {
		c.Secrets[i].Digest = bytes.Clone(c.Secrets[i].Digest)
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

func cloneRole(r store.Role) store.Role {
	r.TrustPolicy = bytes.Clone(r.TrustPolicy)
	r.ManagedPolicies = slices.Clone(r.ManagedPolicies)
	if r.InlinePolicies != nil {
		m := maps.Clone(r.InlinePolicies)
		for k, v := range m {
			m[k] = bytes.Clone(v)
		}
		r.InlinePolicies = m
	}
	return r
}

func clonePolicy(p store.ManagedPolicy) store.ManagedPolicy {
	p.Versions = slices.Clone(p.Versions)
	for i := range p.Versions {
		p.Versions[i].Document = bytes.Clone(p.Versions[i].Document)
	}
	return p
}

func cloneAPIToken(t store.APIToken) store.APIToken {
	t.Digest = bytes.Clone(t.Digest)
	t.Roles = slices.Clone(t.Roles)
	return t
}
