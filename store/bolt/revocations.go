package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

// Revoke records r. Revoking a key again keeps the later Until, so a shorter second
// revocation cannot shorten the first.
func (t *tx) Revoke(ctx context.Context, r store.Revocation) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("revoke %q: %w", r.Key, err)
	}
	if r.Key == "" {
		return fmt.Errorf("revoke: %w: empty key", errInvalid)
	}
	if r.Until.IsZero() {
		// Without an end the record could never be swept.
		return fmt.Errorf("revoke %q: %w: no until", r.Key, errInvalid)
	}
	revs := t.b(bRevocations)
	var old store.Revocation
	found, err := getJSON(revs, []byte(r.Key), &old)
	if err != nil {
		return fmt.Errorf("revoke %q: %w", r.Key, err)
	}
	if found && old.Until.After(r.Until) {
		return nil
	}
	r.Until = r.Until.UTC().Round(0)
	if err := putJSON(revs, []byte(r.Key), r); err != nil {
		return fmt.Errorf("revoke %q: %w", r.Key, err)
	}
	return nil
}

// IsRevoked reports whether key has a revocation that has not yet run out; a lapsed
// one counts as absent even before the sweeper removes it.
func (t *tx) IsRevoked(ctx context.Context, key string) (bool, error) {
	if err := t.check(ctx); err != nil {
		return false, fmt.Errorf("is revoked %q: %w", key, err)
	}
	var r store.Revocation
	found, err := getJSON(t.b(bRevocations), []byte(key), &r)
	if err != nil {
		return false, fmt.Errorf("is revoked %q: %w", key, err)
	}
	return found && !expired(r.Until, t.clock()), nil
}
