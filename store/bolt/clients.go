package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateClient(ctx context.Context, c store.Client) (store.Client, error) {
	if err := t.begin(ctx); err != nil {
		return store.Client{}, fmt.Errorf("create client: %w", err)
	}
	if err := fillID(&c.ID); err != nil {
		return store.Client{}, fmt.Errorf("create client: %w", err)
	}
	if err := checkKeyPart("id", c.ID); err != nil {
		return store.Client{}, fmt.Errorf("create client %q: %w", c.ID, err)
	}
	clients := t.b(bClients)
	if clients.Get([]byte(c.ID)) != nil {
		return store.Client{}, fmt.Errorf("create client %q: %w", c.ID, store.ErrAlreadyExists)
	}
	now := t.clock()
	c.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(clients, []byte(c.ID), c); err != nil {
		return store.Client{}, fmt.Errorf("create client %q: %w", c.ID, err)
	}
	return c, nil
}

func (t *tx) GetClient(ctx context.Context, id string) (store.Client, error) {
	if err := t.check(ctx); err != nil {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	c, found, err := t.cached().clients.load(t.b(bClients), id)
	if err == nil && !found {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return c, nil
}

// ListClients returns every client, ordered by id.
func (t *tx) ListClients(ctx context.Context) ([]store.Client, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out, err := listJSON[store.Client](t.b(bClients))
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

func (t *tx) UpdateClient(ctx context.Context, c store.Client) (store.Client, error) {
	if err := t.begin(ctx); err != nil {
		return store.Client{}, fmt.Errorf("update client %q: %w", c.ID, err)
	}
	clients := t.b(bClients)
	var old store.Client
	if err := loadOrNotFound(clients, c.ID, &old); err != nil {
		return store.Client{}, fmt.Errorf("update client %q: %w", c.ID, err)
	}
	if err := checkVersion(c.Version, old.Version); err != nil {
		return store.Client{}, fmt.Errorf("update client %q: %w", c.ID, err)
	}
	c.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := putJSON(clients, []byte(c.ID), c); err != nil {
		return store.Client{}, fmt.Errorf("update client %q: %w", c.ID, err)
	}
	return c, nil
}

func (t *tx) DeleteClient(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete client %q: %w", id, err)
	}
	clients := t.b(bClients)
	if id == "" || clients.Get([]byte(id)) == nil {
		return fmt.Errorf("delete client %q: %w", id, store.ErrNotFound)
	}
	if err := clients.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete client %q: %w", id, err)
	}
	return nil
}
