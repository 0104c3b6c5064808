package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	if err := t.begin(ctx); err != nil {
		return store.SigningKey{}, fmt.Errorf("create signing key: %w", err)
	}
	if err := fillID(&k.ID); err != nil {
		return store.SigningKey{}, fmt.Errorf("create signing key: %w", err)
	}
	if err := checkKeyPart("kid", k.ID); err != nil {
		return store.SigningKey{}, fmt.Errorf("create signing key %q: %w", k.ID, err)
	}
	keys := t.b(bSigningKeys)
	if keys.Get([]byte(k.ID)) != nil {
		return store.SigningKey{}, fmt.Errorf("create signing key %q: %w", k.ID, store.ErrAlreadyExists)
	}
	now := t.clock()
	k.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(keys, []byte(k.ID), k); err != nil {
		return store.SigningKey{}, fmt.Errorf("create signing key %q: %w", k.ID, err)
	}
	return k, nil
}

// ListSigningKeys returns every key, ordered by kid.
func (t *tx) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	out, err := listJSON[store.SigningKey](t.b(bSigningKeys))
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return out, nil
}

func (t *tx) UpdateSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	if err := t.begin(ctx); err != nil {
		return store.SigningKey{}, fmt.Errorf("update signing key %q: %w", k.ID, err)
	}
	keys := t.b(bSigningKeys)
	var old store.SigningKey
	if err := loadOrNotFound(keys, k.ID, &old); err != nil {
		return store.SigningKey{}, fmt.Errorf("update signing key %q: %w", k.ID, err)
	}
	if err := checkVersion(k.Version, old.Version); err != nil {
		return store.SigningKey{}, fmt.Errorf("update signing key %q: %w", k.ID, err)
	}
	k.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := putJSON(keys, []byte(k.ID), k); err != nil {
		return store.SigningKey{}, fmt.Errorf("update signing key %q: %w", k.ID, err)
	}
	return k, nil
}

func (t *tx) DeleteSigningKey(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete signing key %q: %w", id, err)
	}
	keys := t.b(bSigningKeys)
	if id == "" || keys.Get([]byte(id)) == nil {
		return fmt.Errorf("delete signing key %q: %w", id, store.ErrNotFound)
	}
	if err := keys.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete signing key %q: %w", id, err)
	}
	return nil
}
