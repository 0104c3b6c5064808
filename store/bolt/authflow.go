package bolt

import (
	"context"
	"fmt"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateAuthRequest(ctx context.Context, r store.AuthRequest) (store.AuthRequest, error) {
	if err := t.begin(ctx); err != nil {
		return store.AuthRequest{}, fmt.Errorf("create auth request: %w", err)
	}
	if err := fillID(&r.ID); err != nil {
		return store.AuthRequest{}, fmt.Errorf("create auth request: %w", err)
	}
	if err := checkKeyPart("id", r.ID); err != nil {
		return store.AuthRequest{}, fmt.Errorf("create auth request %q: %w", r.ID, err)
	}
	if r.ExpiresAt.IsZero() {
		return store.AuthRequest{}, fmt.Errorf("create auth request %q: %w: no expiry", r.ID, errInvalid)
	}
	reqs := t.b(bAuthRequests)
	if reqs.Get([]byte(r.ID)) != nil {
		return store.AuthRequest{}, fmt.Errorf("create auth request %q: %w", r.ID, store.ErrAlreadyExists)
	}
	now := t.clock()
	r.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(reqs, []byte(r.ID), r); err != nil {
		return store.AuthRequest{}, fmt.Errorf("create auth request %q: %w", r.ID, err)
	}
	return r, nil
}

// loadLiveAuthRequest treats an expired request as absent: it is only waiting for the
// sweeper.
func (t *tx) loadLiveAuthRequest(id string) (store.AuthRequest, error) {
	var r store.AuthRequest
	if err := loadOrNotFound(t.b(bAuthRequests), id, &r); err != nil {
		return store.AuthRequest{}, err
	}
	if expired(r.ExpiresAt, t.clock()) {
		return store.AuthRequest{}, fmt.Errorf("expired at %s: %w", r.ExpiresAt.Format(time.RFC3339), store.ErrNotFound)
	}
	return r, nil
}

func (t *tx) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	if err := t.check(ctx); err != nil {
		return store.AuthRequest{}, fmt.Errorf("get auth request %q: %w", id, err)
	}
	r, err := t.loadLiveAuthRequest(id)
	if err != nil {
		return store.AuthRequest{}, fmt.Errorf("get auth request %q: %w", id, err)
	}
	return r, nil
}

func (t *tx) UpdateAuthRequest(ctx context.Context, r store.AuthRequest) (store.AuthRequest, error) {
	if err := t.begin(ctx); err != nil {
		return store.AuthRequest{}, fmt.Errorf("update auth request %q: %w", r.ID, err)
	}
	old, err := t.loadLiveAuthRequest(r.ID)
	if err != nil {
		return store.AuthRequest{}, fmt.Errorf("update auth request %q: %w", r.ID, err)
	}
	if err := checkVersion(r.Version, old.Version); err != nil {
		return store.AuthRequest{}, fmt.Errorf("update auth request %q: %w", r.ID, err)
	}
	if r.ExpiresAt.IsZero() {
		return store.AuthRequest{}, fmt.Errorf("update auth request %q: %w: no expiry", r.ID, errInvalid)
	}
	r.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := putJSON(t.b(bAuthRequests), []byte(r.ID), r); err != nil {
		return store.AuthRequest{}, fmt.Errorf("update auth request %q: %w", r.ID, err)
	}
	return r, nil
}

func (t *tx) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete auth request %q: %w", id, err)
	}
	reqs := t.b(bAuthRequests)
	if id == "" || reqs.Get([]byte(id)) == nil {
		return fmt.Errorf("delete auth request %q: %w", id, store.ErrNotFound)
	}
	if err := reqs.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete auth request %q: %w", id, err)
	}
	return nil
}

// SaveAuthCode stores c. The code of a deleted auth request stays (and stays indexed)
// until it expires, so a request can never get a second code.
func (t *tx) SaveAuthCode(ctx context.Context, c store.AuthCode) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("save auth code: %w", err)
	}
	if err := checkKeyPart("digest", c.Digest); err != nil {
		return fmt.Errorf("save auth code: %w", err)
	}
	if err := checkKeyPart("auth request id", c.AuthRequestID); err != nil {
		return fmt.Errorf("save auth code: %w", err)
	}
	if c.ExpiresAt.IsZero() {
		return fmt.Errorf("save auth code for request %q: %w: no expiry", c.AuthRequestID, errInvalid)
	}
	codes, byReq := t.b(bAuthCodes), t.b(bCodesByRequest)
	if codes.Get([]byte(c.Digest)) != nil {
		return fmt.Errorf("save auth code for request %q: digest: %w", c.AuthRequestID, store.ErrAlreadyExists)
	}
	if byReq.Get([]byte(c.AuthRequestID)) != nil {
		return fmt.Errorf("save auth code for request %q: request has a code: %w", c.AuthRequestID, store.ErrAlreadyExists)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = t.clock()
	}
	if err := putJSON(codes, []byte(c.Digest), c); err != nil {
		return fmt.Errorf("save auth code for request %q: %w", c.AuthRequestID, err)
	}
	if err := byReq.Put([]byte(c.AuthRequestID), []byte(c.Digest)); err != nil {
		return fmt.Errorf("save auth code for request %q: index: %w", c.AuthRequestID, err)
	}
	return nil
}

// ConsumeAuthCode marks the code used. A used code is reported before an expired one:
// its replay must reach the caller with the record, whatever the time.
func (t *tx) ConsumeAuthCode(ctx context.Context, digest string, now time.Time) (store.AuthCode, error) {
	if err := t.begin(ctx); err != nil {
		return store.AuthCode{}, fmt.Errorf("consume auth code: %w", err)
	}
	codes := t.b(bAuthCodes)
	var c store.AuthCode
	if err := loadOrNotFound(codes, digest, &c); err != nil {
		return store.AuthCode{}, fmt.Errorf("consume auth code: %w", err)
	}
	if c.Used {
		return c, fmt.Errorf("consume auth code of request %q: %w", c.AuthRequestID, store.ErrAlreadyUsed)
	}
	if expired(c.ExpiresAt, now) {
		return store.AuthCode{}, fmt.Errorf("consume auth code of request %q: %w", c.AuthRequestID, store.ErrExpired)
	}
	c.Used, c.UsedAt = true, now.UTC().Round(0)
	if err := putJSON(codes, []byte(digest), c); err != nil {
		return store.AuthCode{}, fmt.Errorf("consume auth code of request %q: %w", c.AuthRequestID, err)
	}
	return c, nil
}
