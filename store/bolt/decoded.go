package bolt

import (
	"bytes"
	"slices"
	"sync"

	"github.com/portcullis-id/portcullis/store"
)

// clientCache remembers the decoded form of client records next to the exact bytes they
// were decoded from. Every token request reads its client several times; comparing the
// stored bytes with the remembered ones costs a memcmp where decoding JSON costs
// microseconds. A hit is only possible when the bytes are identical, so the cache can
// never serve a stale client: any write changes the bytes (the Version moves).
type clientCache struct {
	mu sync.RWMutex
	m  map[string]cachedClient
}

type cachedClient struct {
	raw []byte
	c   store.Client
}

// maxCachedClients bounds memory; past it the cache is simply cleared (clients are few,
// so this is a safety valve, not an eviction policy).
const maxCachedClients = 4096

func (cc *clientCache) get(id string, raw []byte) (store.Client, bool) {
	if cc == nil {
		return store.Client{}, false
	}
	cc.mu.RLock()
	e, ok := cc.m[id]
	cc.mu.RUnlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return store.Client{}, false
	}
	return cloneClient(e.c), true
}

func (cc *clientCache) put(id string, raw []byte, c store.Client) {
	if cc == nil {
		return
	}
	e := cachedClient{raw: bytes.Clone(raw), c: cloneClient(c)}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= maxCachedClients {
		cc.m = make(map[string]cachedClient)
	}
	cc.m[id] = e
	cc.mu.Unlock()
}

// cloneClient deep-copies c so callers may modify what they get.
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
