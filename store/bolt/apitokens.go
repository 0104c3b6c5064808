package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateAPIToken(ctx context.Context, a store.APIToken) (store.APIToken, error) {
	if err := t.begin(ctx); err != nil {
		return store.APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	if err := fillID(&a.ID); err != nil {
		return store.APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	if err := checkKeyPart("id", a.ID); err != nil {
		return store.APIToken{}, fmt.Errorf("create api token %q: %w", a.ID, err)
	}
	if len(a.Digest) == 0 {
		return store.APIToken{}, fmt.Errorf("create api token %q: %w: empty digest", a.ID, errInvalid)
	}
	tokens, byDigest := t.b(bAPITokens), t.b(bAPITokenByDigest)
	if tokens.Get([]byte(a.ID)) != nil {
		return store.APIToken{}, fmt.Errorf("create api token %q: %w", a.ID, store.ErrAlreadyExists)
	}
	if byDigest.Get(a.Digest) != nil {
		return store.APIToken{}, fmt.Errorf("create api token %q: digest: %w", a.ID, store.ErrAlreadyExists)
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = t.clock()
	}
	if err := putJSON(tokens, []byte(a.ID), a); err != nil {
		return store.APIToken{}, fmt.Errorf("create api token %q: %w", a.ID, err)
	}
	// Put keeps a reference to its arguments until commit: hand it a private copy.
	if err := byDigest.Put(append([]byte(nil), a.Digest...), []byte(a.ID)); err != nil {
		return store.APIToken{}, fmt.Errorf("create api token %q: index digest: %w", a.ID, err)
	}
	return a, nil
}

// GetAPITokenByDigest returns the token as stored, revoked or expired alike; the
// caller judges it.
func (t *tx) GetAPITokenByDigest(ctx context.Context, digest []byte) (store.APIToken, error) {
	if err := t.check(ctx); err != nil {
		return store.APIToken{}, fmt.Errorf("get api token by digest: %w", err)
	}
	if len(digest) == 0 {
		return store.APIToken{}, fmt.Errorf("get api token by digest: %w", store.ErrNotFound)
	}
	id := t.b(bAPITokenByDigest).Get(digest)
	if id == nil {
		return store.APIToken{}, fmt.Errorf("get api token by digest: %w", store.ErrNotFound)
	}
	a, found, err := t.cached().apiTokens.load(t.b(bAPITokens), string(id))
	if err == nil && !found {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, fmt.Errorf("get api token %q by digest: %w", id, err)
	}
	return a, nil
}

// ListAPITokens returns every token, ordered by id.
func (t *tx) ListAPITokens(ctx context.Context) ([]store.APIToken, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	out, err := listJSON[store.APIToken](t.b(bAPITokens))
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

func (t *tx) RevokeAPIToken(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("revoke api token %q: %w", id, err)
	}
	tokens := t.b(bAPITokens)
	var a store.APIToken
	if err := loadOrNotFound(tokens, id, &a); err != nil {
		return fmt.Errorf("revoke api token %q: %w", id, err)
	}
	if a.Revoked {
		return nil
	}
	a.Revoked = true
	if err := putJSON(tokens, []byte(id), a); err != nil {
		return fmt.Errorf("revoke api token %q: %w", id, err)
	}
	return nil
}
