package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

// PutCredential creates or replaces (UserID, Type, ID). An empty ID becomes "password"
// for password credentials and a random id otherwise.
func (t *tx) PutCredential(ctx context.Context, c store.Credential) (store.Credential, error) {
	if err := t.begin(ctx); err != nil {
		return store.Credential{}, fmt.Errorf("put credential: %w", err)
	}
	if c.ID == "" && c.Type == store.CredentialPassword {
		c.ID = store.CredentialPassword
	}
	if err := fillID(&c.ID); err != nil {
		return store.Credential{}, fmt.Errorf("put credential: %w", err)
	}
	what := fmt.Sprintf("put credential %s/%s of user %q", c.Type, c.ID, c.UserID)
	for _, p := range [][2]string{{"user id", c.UserID}, {"type", c.Type}, {"id", c.ID}} {
		if err := checkKeyPart(p[0], p[1]); err != nil {
			return store.Credential{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	if !t.userExists(c.UserID) {
		return store.Credential{}, fmt.Errorf("%s: user: %w", what, store.ErrNotFound)
	}
	creds := t.b(bCredentials)
	key := compositeKey(c.UserID, c.Type, c.ID)
	var old store.Credential
	found, err := getJSON(creds, key, &old)
	if err != nil {
		return store.Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	now := t.clock()
	switch {
	case found && c.Version != 0:
		if err := checkVersion(c.Version, old.Version); err != nil {
			return store.Credential{}, fmt.Errorf("%s: %w", what, err)
		}
		fallthrough
	case found:
		c.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: now, Version: old.Version + 1}
	case c.Version != 0:
		// The caller expects to replace a credential that is no longer there.
		return store.Credential{}, fmt.Errorf("%s: version %d, none stored: %w", what, c.Version, store.ErrConflict)
	default:
		c.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	if err := putJSON(creds, key, c); err != nil {
		return store.Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

func (t *tx) GetCredential(ctx context.Context, userID, typ, id string) (store.Credential, error) {
	what := fmt.Sprintf("get credential %s/%s of user %q", typ, id, userID)
	if err := t.check(ctx); err != nil {
		return store.Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	var c store.Credential
	if err := loadOrNotFound(t.b(bCredentials), string(compositeKey(userID, typ, id)), &c); err != nil {
		return store.Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// ListCredentials returns the user's credentials ordered by type, then id.
func (t *tx) ListCredentials(ctx context.Context, userID string) ([]store.Credential, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list credentials of user %q: %w", userID, err)
	}
	if userID == "" {
		return nil, nil
	}
	creds := t.b(bCredentials)
	var out []store.Credential
	for _, suffix := range scanSuffixes(creds, prefixKey(userID)) {
		var c store.Credential
		if _, err := getJSON(creds, compositeKey(userID, suffix), &c); err != nil {
			return nil, fmt.Errorf("list credentials of user %q: %w", userID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (t *tx) DeleteCredential(ctx context.Context, userID, typ, id string) error {
	what := fmt.Sprintf("delete credential %s/%s of user %q", typ, id, userID)
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	creds := t.b(bCredentials)
	key := compositeKey(userID, typ, id)
	if creds.Get(key) == nil {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err := creds.Delete(key); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
