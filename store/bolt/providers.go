package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/portcullis-id/portcullis/store"
)

func providerKey(kind, name string) []byte {
	return compositeKey(kind, strings.ToLower(name))
}

func validProvider(p store.Provider) (store.Provider, error) {
	if err := checkKeyPart("kind", p.Kind); err != nil {
		return p, err
	}
	if err := checkKeyPart("name", p.Name); err != nil {
		return p, err
	}
	cfg, err := compactJSON("provider config", p.Config, false)
	if err != nil {
		return p, err
	}
	p.Config = cfg
	return p, nil
}

func (t *tx) CreateProvider(ctx context.Context, p store.Provider) (store.Provider, error) {
	what := fmt.Sprintf("create %s %q", p.Kind, p.Name)
	if err := t.begin(ctx); err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	p, err := validProvider(p)
	if err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	b := t.b(bProviders)
	key := providerKey(p.Kind, p.Name)
	if b.Get(key) != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, store.ErrAlreadyExists)
	}
	now := t.clock()
	p.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(b, key, p); err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	return p, nil
}

func (t *tx) GetProvider(ctx context.Context, kind, name string) (store.Provider, error) {
	if err := t.check(ctx); err != nil {
		return store.Provider{}, fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	var p store.Provider
	if err := loadOrNotFound(t.b(bProviders), string(providerKey(kind, name)), &p); err != nil {
		return store.Provider{}, fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	return p, nil
}

func (t *tx) ListProviders(ctx context.Context, kind string) ([]store.Provider, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	out := []store.Provider{}
	var prefix []byte
	if kind != "" {
		prefix = prefixKey(kind)
	}
	c := t.b(bProviders).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var p store.Provider
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, fmt.Errorf("list providers: decode %q: %w", k, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (t *tx) UpdateProvider(ctx context.Context, p store.Provider) (store.Provider, error) {
	what := fmt.Sprintf("update %s %q", p.Kind, p.Name)
	if err := t.begin(ctx); err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	p, err := validProvider(p)
	if err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	b := t.b(bProviders)
	key := providerKey(p.Kind, p.Name)
	var cur store.Provider
	if err := loadOrNotFound(b, string(key), &cur); err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkVersion(p.Version, cur.Version); err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	cur.Config, cur.Source = p.Config, p.Source
	cur.UpdatedAt = t.clock()
	cur.Version++
	if err := putJSON(b, key, cur); err != nil {
		return store.Provider{}, fmt.Errorf("%s: %w", what, err)
	}
	return cur, nil
}

func (t *tx) DeleteProvider(ctx context.Context, kind, name string) error {
	what := fmt.Sprintf("delete %s %q", kind, name)
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b := t.b(bProviders)
	key := providerKey(kind, name)
	if b.Get(key) == nil {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
