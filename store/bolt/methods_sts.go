package bolt

import (
	"context"

	"github.com/portcullis-id/portcullis/store"
)

// The Store's role-session methods. Every issued credential writes one record, so
// CreateRoleSession is batched like the other token writes; ErrAlreadyExists is raised
// before anything is written and does not fail the batch.

func (s *Store) CreateRoleSession(ctx context.Context, rs store.RoleSession) error {
	_, err := batchValue(ctx, s, "create role session", func(t *tx) (struct{}, error) {
		return struct{}{}, t.CreateRoleSession(ctx, rs)
	}, store.ErrAlreadyExists)
	return err
}

func (s *Store) GetRoleSession(ctx context.Context, id string) (store.RoleSession, error) {
	return viewValue(ctx, s, "get role session", func(t *tx) (store.RoleSession, error) { return t.GetRoleSession(ctx, id) })
}

func (s *Store) RevokeRoleSession(ctx context.Context, id string) error {
	return s.update(ctx, "revoke role session", func(t *tx) error { return t.RevokeRoleSession(ctx, id) })
}

func (s *Store) ListRoleSessions(ctx context.Context, roleID string) ([]store.RoleSession, error) {
	return viewValue(ctx, s, "list role sessions", func(t *tx) ([]store.RoleSession, error) {
		return t.ListRoleSessions(ctx, roleID)
	})
}

func (s *Store) FindRoleSessions(ctx context.Context, f store.RoleSessionFilter) ([]store.RoleSession, error) {
	return viewValue(ctx, s, "find role sessions", func(t *tx) ([]store.RoleSession, error) {
		return t.FindRoleSessions(ctx, f)
	})
}
