package bolt

import (
	"context"

	"github.com/portcullis-id/portcullis/store"
)

// The Store's role, managed-policy and role-mapping methods: each opens one
// transaction and delegates to tx. These are administrative writes, never hot, so
// none of them is batched.

func (s *Store) CreateRole(ctx context.Context, r store.Role) (store.Role, error) {
	return updateValue(ctx, s, "create role", func(t *tx) (store.Role, error) { return t.CreateRole(ctx, r) })
}

func (s *Store) GetRole(ctx context.Context, id string) (store.Role, error) {
	return viewValue(ctx, s, "get role", func(t *tx) (store.Role, error) { return t.GetRole(ctx, id) })
}

func (s *Store) GetRoleByName(ctx context.Context, name string) (store.Role, error) {
	return viewValue(ctx, s, "get role by name", func(t *tx) (store.Role, error) { return t.GetRoleByName(ctx, name) })
}

func (s *Store) GetRoleByARN(ctx context.Context, arn string) (store.Role, error) {
	return viewValue(ctx, s, "get role by arn", func(t *tx) (store.Role, error) { return t.GetRoleByARN(ctx, arn) })
}

func (s *Store) ListRoles(ctx context.Context) ([]store.Role, error) {
	return viewValue(ctx, s, "list roles", func(t *tx) ([]store.Role, error) { return t.ListRoles(ctx) })
}

func (s *Store) UpdateRole(ctx context.Context, r store.Role) (store.Role, error) {
	return updateValue(ctx, s, "update role", func(t *tx) (store.Role, error) { return t.UpdateRole(ctx, r) })
}

func (s *Store) DeleteRole(ctx context.Context, id string) error {
	return s.update(ctx, "delete role", func(t *tx) error { return t.DeleteRole(ctx, id) })
}

func (s *Store) CreateManagedPolicy(ctx context.Context, p store.ManagedPolicy) (store.ManagedPolicy, error) {
	return updateValue(ctx, s, "create managed policy", func(t *tx) (store.ManagedPolicy, error) {
		return t.CreateManagedPolicy(ctx, p)
	})
}

func (s *Store) GetManagedPolicy(ctx context.Context, name string) (store.ManagedPolicy, error) {
	return viewValue(ctx, s, "get managed policy", func(t *tx) (store.ManagedPolicy, error) {
		return t.GetManagedPolicy(ctx, name)
	})
}

func (s *Store) ListManagedPolicies(ctx context.Context) ([]store.ManagedPolicy, error) {
	return viewValue(ctx, s, "list managed policies", func(t *tx) ([]store.ManagedPolicy, error) {
		return t.ListManagedPolicies(ctx)
	})
}

func (s *Store) UpdateManagedPolicy(ctx context.Context, p store.ManagedPolicy) (store.ManagedPolicy, error) {
	return updateValue(ctx, s, "update managed policy", func(t *tx) (store.ManagedPolicy, error) {
		return t.UpdateManagedPolicy(ctx, p)
	})
}

func (s *Store) CreatePolicyVersion(ctx context.Context, name string, ifVersion int64, doc []byte, setDefault bool) (store.ManagedPolicy, error) {
	return updateValue(ctx, s, "create policy version", func(t *tx) (store.ManagedPolicy, error) {
		return t.CreatePolicyVersion(ctx, name, ifVersion, doc, setDefault)
	})
}

func (s *Store) SetDefaultPolicyVersion(ctx context.Context, name string, ifVersion int64, version int) (store.ManagedPolicy, error) {
	return updateValue(ctx, s, "set default policy version", func(t *tx) (store.ManagedPolicy, error) {
		return t.SetDefaultPolicyVersion(ctx, name, ifVersion, version)
	})
}

func (s *Store) DeleteManagedPolicy(ctx context.Context, name string) error {
	return s.update(ctx, "delete managed policy", func(t *tx) error { return t.DeleteManagedPolicy(ctx, name) })
}

func (s *Store) CreateRoleMapping(ctx context.Context, m store.RoleMapping) (store.RoleMapping, error) {
	return updateValue(ctx, s, "create role mapping", func(t *tx) (store.RoleMapping, error) {
		return t.CreateRoleMapping(ctx, m)
	})
}

func (s *Store) GetRoleMapping(ctx context.Context, id string) (store.RoleMapping, error) {
	return viewValue(ctx, s, "get role mapping", func(t *tx) (store.RoleMapping, error) { return t.GetRoleMapping(ctx, id) })
}

func (s *Store) GetRoleMappingByName(ctx context.Context, name string) (store.RoleMapping, error) {
	return viewValue(ctx, s, "get role mapping by name", func(t *tx) (store.RoleMapping, error) {
		return t.GetRoleMappingByName(ctx, name)
	})
}

func (s *Store) ListRoleMappings(ctx context.Context) ([]store.RoleMapping, error) {
	return viewValue(ctx, s, "list role mappings", func(t *tx) ([]store.RoleMapping, error) { return t.ListRoleMappings(ctx) })
}

func (s *Store) UpdateRoleMapping(ctx context.Context, m store.RoleMapping) (store.RoleMapping, error) {
	return updateValue(ctx, s, "update role mapping", func(t *tx) (store.RoleMapping, error) {
		return t.UpdateRoleMapping(ctx, m)
	})
}

func (s *Store) DeleteRoleMapping(ctx context.Context, id string) error {
	return s.update(ctx, "delete role mapping", func(t *tx) error { return t.DeleteRoleMapping(ctx, id) })
}

func (s *Store) CreateProvider(ctx context.Context, p store.Provider) (store.Provider, error) {
	return updateValue(ctx, s, "create provider", func(t *tx) (store.Provider, error) { return t.CreateProvider(ctx, p) })
}

func (s *Store) GetProvider(ctx context.Context, kind, name string) (store.Provider, error) {
	return viewValue(ctx, s, "get provider", func(t *tx) (store.Provider, error) { return t.GetProvider(ctx, kind, name) })
}

func (s *Store) ListProviders(ctx context.Context, kind string) ([]store.Provider, error) {
	return viewValue(ctx, s, "list providers", func(t *tx) ([]store.Provider, error) { return t.ListProviders(ctx, kind) })
}

func (s *Store) UpdateProvider(ctx context.Context, p store.Provider) (store.Provider, error) {
	return updateValue(ctx, s, "update provider", func(t *tx) (store.Provider, error) { return t.UpdateProvider(ctx, p) })
}

func (s *Store) DeleteProvider(ctx context.Context, kind, name string) error {
	return s.update(ctx, "delete provider", func(t *tx) error { return t.DeleteProvider(ctx, kind, name) })
}
