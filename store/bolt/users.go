package bolt

import (
	"context"
	"fmt"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if err := t.begin(ctx); err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := fillID(&u.ID); err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := validUser(u); err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", u.ID, err)
	}
	users, names := t.b(bUsers), t.b(bUsersByName)
	if users.Get([]byte(u.ID)) != nil {
		return store.User{}, fmt.Errorf("create user: id %q: %w", u.ID, store.ErrAlreadyExists)
	}
	if names.Get(nameKey(u.UserName)) != nil {
		return store.User{}, fmt.Errorf("create user: userName %q: %w", u.UserName, store.ErrAlreadyExists)
	}
	now := t.clock()
	u.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(users, []byte(u.ID), u); err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", u.ID, err)
	}
	if err := names.Put(nameKey(u.UserName), []byte(u.ID)); err != nil {
		return store.User{}, fmt.Errorf("create user %q: index name: %w", u.ID, err)
	}
	return u, nil
}

func validUser(u store.User) error {
	if err := checkKeyPart("id", u.ID); err != nil {
		return err
	}
	if u.UserName == "" {
		return fmt.Errorf("%w: empty userName", errInvalid)
	}
	return nil
}

func (t *tx) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := t.check(ctx); err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	u, err := t.loadUser(id)
	if err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

func (t *tx) loadUser(id string) (store.User, error) {
	var u store.User
	err := loadOrNotFound(t.b(bUsers), id, &u)
	return u, err
}

func (t *tx) userExists(id string) bool {
	return id != "" && t.b(bUsers).Get([]byte(id)) != nil
}

func (t *tx) GetUserByName(ctx context.Context, userName string) (store.User, error) {
	if err := t.check(ctx); err != nil {
		return store.User{}, fmt.Errorf("get user by name %q: %w", userName, err)
	}
	id := t.b(bUsersByName).Get(nameKey(userName))
	if id == nil || userName == "" {
		return store.User{}, fmt.Errorf("get user by name %q: %w", userName, store.ErrNotFound)
	}
	u, err := t.loadUser(string(id))
	if err != nil {
		return store.User{}, fmt.Errorf("get user by name %q: %w", userName, err)
	}
	return u, nil
}

// ListUsers returns every user, ordered by id.
func (t *tx) ListUsers(ctx context.Context) ([]store.User, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := listJSON[store.User](t.b(bUsers))
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

func (t *tx) UpdateUser(ctx context.Context, u store.User) (store.User, error) {
	if err := t.begin(ctx); err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", u.ID, err)
	}
	if err := validUser(u); err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", u.ID, err)
	}
	old, err := t.loadUser(u.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", u.ID, err)
	}
	if err := checkVersion(u.Version, old.Version); err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", u.ID, err)
	}
	names := t.b(bUsersByName)
	oldKey, newKey := nameKey(old.UserName), nameKey(u.UserName)
	if string(oldKey) != string(newKey) {
		if names.Get(newKey) != nil {
			return store.User{}, fmt.Errorf("update user %q: userName %q: %w", u.ID, u.UserName, store.ErrAlreadyExists)
		}
		if err := names.Delete(oldKey); err != nil {
			return store.User{}, fmt.Errorf("update user %q: unindex old name: %w", u.ID, err)
		}
		if err := names.Put(newKey, []byte(u.ID)); err != nil {
			return store.User{}, fmt.Errorf("update user %q: index name: %w", u.ID, err)
		}
	}
	u.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := putJSON(t.b(bUsers), []byte(u.ID), u); err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", u.ID, err)
	}
	return u, nil
}

// DeleteUser removes the user with, in the same transaction, their credentials and
// group memberships; their sessions and refresh tokens are revoked (and later swept
// by DeleteExpired), so a token issued before the deletion stops working at once.
func (t *tx) DeleteUser(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	u, err := t.loadUser(id)
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	creds := t.b(bCredentials)
	for _, suffix := range scanSuffixes(creds, prefixKey(id)) {
		if err := creds.Delete(compositeKey(id, suffix)); err != nil {
			return fmt.Errorf("delete user %q: delete credential: %w", id, err)
		}
	}
	for _, groupID := range scanSuffixes(t.b(bMemberships), prefixKey(id)) {
		if _, err := t.removeMember(groupID, id); err != nil {
			return fmt.Errorf("delete user %q: leave group %q: %w", id, groupID, err)
		}
	}
	if err := t.revokeUserSessions(id); err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	if _, err := t.revokeUserRefreshTokens(id); err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	if err := t.b(bUsersByName).Delete(nameKey(u.UserName)); err != nil {
		return fmt.Errorf("delete user %q: unindex name: %w", id, err)
	}
	if err := t.b(bUsers).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}
