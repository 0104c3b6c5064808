package bolt

import (
	"context"
	"fmt"
	"slices"

	"github.com/portcullis-id/portcullis/store"
)

func validMapping(m store.RoleMapping) error {
	if err := checkKeyPart("id", m.ID); err != nil {
		return err
	}
	if m.Name == "" {
		return fmt.Errorf("%w: empty role mapping name", errInvalid)
	}
	return nil
}

func (t *tx) CreateRoleMapping(ctx context.Context, m store.RoleMapping) (store.RoleMapping, error) {
	if err := t.begin(ctx); err != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping: %w", err)
	}
	if err := fillID(&m.ID); err != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping: %w", err)
	}
	if err := validMapping(m); err != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping %q: %w", m.Name, err)
	}
	maps, names := t.b(bMappings), t.b(bMappingsByName)
	if maps.Get([]byte(m.ID)) != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping: id %q: %w", m.ID, store.ErrAlreadyExists)
	}
	if names.Get(nameKey(m.Name)) != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping: name %q: %w", m.Name, store.ErrAlreadyExists)
	}
	m.SourceCIDRs, m.Roles = slices.Clone(m.SourceCIDRs), slices.Clone(m.Roles)
	now := t.clock()
	m.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(maps, []byte(m.ID), m); err != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping %q: %w", m.Name, err)
	}
	if err := names.Put(nameKey(m.Name), []byte(m.ID)); err != nil {
		return store.RoleMapping{}, fmt.Errorf("create role mapping %q: index name: %w", m.Name, err)
	}
	return m, nil
}

func (t *tx) loadMapping(id string) (store.RoleMapping, error) {
	var m store.RoleMapping
	err := loadOrNotFound(t.b(bMappings), id, &m)
	return m, err
}

func (t *tx) GetRoleMapping(ctx context.Context, id string) (store.RoleMapping, error) {
	if err := t.check(ctx); err != nil {
		return store.RoleMapping{}, fmt.Errorf("get role mapping %q: %w", id, err)
	}
	m, err := t.loadMapping(id)
	if err != nil {
		return store.RoleMapping{}, fmt.Errorf("get role mapping %q: %w", id, err)
	}
	return m, nil
}

func (t *tx) GetRoleMappingByName(ctx context.Context, name string) (store.RoleMapping, error) {
	if err := t.check(ctx); err != nil {
		return store.RoleMapping{}, fmt.Errorf("get role mapping by name %q: %w", name, err)
	}
	id := t.b(bMappingsByName).Get(nameKey(name))
	if id == nil || name == "" {
		return store.RoleMapping{}, fmt.Errorf("get role mapping by name %q: %w", name, store.ErrNotFound)
	}
	m, err := t.loadMapping(string(id))
	if err != nil {
		return store.RoleMapping{}, fmt.Errorf("get role mapping by name %q: %w", name, err)
	}
	return m, nil
}

// ListRoleMappings returns every rule, sorted by name.
func (t *tx) ListRoleMappings(ctx context.Context) ([]store.RoleMapping, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list role mappings: %w", err)
	}
	out, err := listJSON[store.RoleMapping](t.b(bMappings))
	if err != nil {
		return nil, fmt.Errorf("list role mappings: %w", err)
	}
	slices.SortFunc(out, func(x, y store.RoleMapping) int { return compareNames(x.Name, y.Name) })
	return out, nil
}

func (t *tx) UpdateRoleMapping(ctx context.Context, m store.RoleMapping) (store.RoleMapping, error) {
	if err := t.begin(ctx); err != nil {
		return store.RoleMapping{}, fmt.Errorf("update role mapping %q: %w", m.ID, err)
	}
	if err := validMapping(m); err != nil {
		return store.RoleMapping{}, fmt.Errorf("update role mapping %q: %w", m.ID, err)
	}
	old, err := t.loadMapping(m.ID)
	if err != nil {
		return store.RoleMapping{}, fmt.Errorf("update role mapping %q: %w", m.ID, err)
	}
	if err := checkVersion(m.Version, old.Version); err != nil {
		return store.RoleMapping{}, fmt.Errorf("update role mapping %q: %w", m.ID, err)
	}
	if err := reindex(t.b(bMappingsByName), nameKey(old.Name), nameKey(m.Name), m.ID); err != nil {
		return store.RoleMapping{}, fmt.Errorf("update role mapping %q: name %q: %w", m.ID, m.Name, err)
	}
	m.SourceCIDRs, m.Roles = slices.Clone(m.SourceCIDRs), slices.Clone(m.Roles)
	m.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := putJSON(t.b(bMappings), []byte(m.ID), m); err != nil {
		return store.RoleMapping{}, fmt.Errorf("update role mapping %q: %w", m.ID, err)
	}
	return m, nil
}

func (t *tx) DeleteRoleMapping(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete role mapping %q: %w", id, err)
	}
	m, err := t.loadMapping(id)
	if err != nil {
		return fmt.Errorf("delete role mapping %q: %w", id, err)
	}
	if err := t.b(bMappingsByName).Delete(nameKey(m.Name)); err != nil {
		return fmt.Errorf("delete role mapping %q: unindex name: %w", id, err)
	}
	if err := t.b(bMappings).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete role mapping %q: %w", id, err)
	}
	return nil
}
