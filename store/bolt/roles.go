package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateRole(ctx context.Context, r store.Role) (store.Role, error) {
	if err := t.begin(ctx); err != nil {
		return store.Role{}, fmt.Errorf("create role: %w", err)
	}
	if err := fillID(&r.ID); err != nil {
		return store.Role{}, fmt.Errorf("create role: %w", err)
	}
	r, err := t.prepareRole(r)
	if err != nil {
		return store.Role{}, fmt.Errorf("create role %q: %w", r.Name, err)
	}
	roles, names, arns := t.b(bRoles), t.b(bRolesByName), t.b(bRolesByARN)
	switch {
	case roles.Get([]byte(r.ID)) != nil:
		return store.Role{}, fmt.Errorf("create role: id %q: %w", r.ID, store.ErrAlreadyExists)
	case names.Get(nameKey(r.Name)) != nil:
		return store.Role{}, fmt.Errorf("create role: name %q: %w", r.Name, store.ErrAlreadyExists)
	case arns.Get([]byte(r.ARN)) != nil:
		return store.Role{}, fmt.Errorf("create role: arn %q: %w", r.ARN, store.ErrAlreadyExists)
	}
	now := t.clock()
	r.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(roles, []byte(r.ID), r); err != nil {
		return store.Role{}, fmt.Errorf("create role %q: %w", r.Name, err)
	}
	if err := names.Put(nameKey(r.Name), []byte(r.ID)); err != nil {
		return store.Role{}, fmt.Errorf("create role %q: index name: %w", r.Name, err)
	}
	if err := arns.Put([]byte(r.ARN), []byte(r.ID)); err != nil {
		return store.Role{}, fmt.Errorf("create role %q: index arn: %w", r.Name, err)
	}
	return r, nil
}

// prepareRole checks the keys and references of r and returns it with its policy
// documents compacted (what a later read decodes) and its slices and maps copied, so
// the caller's values are never aliased by what the store returns.
func (t *tx) prepareRole(r store.Role) (store.Role, error) {
	if err := checkKeyPart("id", r.ID); err != nil {
		return r, err
	}
	if r.Name == "" {
		return r, fmt.Errorf("%w: empty role name", errInvalid)
	}
	if r.ARN == "" {
		return r, fmt.Errorf("%w: empty role arn", errInvalid)
	}
	var err error
	if r.TrustPolicy, err = compactJSON("trust policy", r.TrustPolicy, true); err != nil {
		return r, err
	}
	if r.InlinePolicies != nil {
		in := r.InlinePolicies
		r.InlinePolicies = make(map[string]json.RawMessage, len(in))
		for _, name := range slices.Sorted(maps.Keys(in)) {
			if name == "" {
				return r, fmt.Errorf("%w: inline policy without a name", errInvalid)
			}
			doc, err := compactJSON("inline policy "+name, in[name], false)
			if err != nil {
				return r, err
			}
			r.InlinePolicies[name] = doc
		}
	}
	r.ManagedPolicies = slices.Clone(r.ManagedPolicies)
	policies := t.b(bPolicies)
	for _, name := range r.ManagedPolicies {
		if name == "" || policies.Get(nameKey(name)) == nil {
			return r, fmt.Errorf("managed policy %q: %w", name, store.ErrNotFound)
		}
	}
	if b := r.PermissionBoundary; b != "" && policies.Get(nameKey(b)) == nil {
		return r, fmt.Errorf("permission boundary %q: %w", b, store.ErrNotFound)
	}
	return r, nil
}

// usesPolicy reports whether r attaches the policy name or has it as boundary.
func usesPolicy(r store.Role, name string) bool {
	if strings.EqualFold(r.PermissionBoundary, name) {
		return true
	}
	return slices.ContainsFunc(r.ManagedPolicies, func(p string) bool { return strings.EqualFold(p, name) })
}

func (t *tx) GetRole(ctx context.Context, id string) (store.Role, error) {
	if err := t.check(ctx); err != nil {
		return store.Role{}, fmt.Errorf("get role %q: %w", id, err)
	}
	r, err := t.loadRole(id)
	if err != nil {
		return store.Role{}, fmt.Errorf("get role %q: %w", id, err)
	}
	return r, nil
}

func (t *tx) loadRole(id string) (store.Role, error) {
	r, found, err := t.cached().roles.load(t.b(bRoles), id)
	if err == nil && !found {
		err = store.ErrNotFound
	}
	return r, err
}

func (t *tx) GetRoleByName(ctx context.Context, name string) (store.Role, error) {
	if err := t.check(ctx); err != nil {
		return store.Role{}, fmt.Errorf("get role by name %q: %w", name, err)
	}
	id := t.b(bRolesByName).Get(nameKey(name))
	if id == nil || name == "" {
		return store.Role{}, fmt.Errorf("get role by name %q: %w", name, store.ErrNotFound)
	}
	r, err := t.loadRole(string(id))
	if err != nil {
		return store.Role{}, fmt.Errorf("get role by name %q: %w", name, err)
	}
	return r, nil
}

func (t *tx) GetRoleByARN(ctx context.Context, arn string) (store.Role, error) {
	if err := t.check(ctx); err != nil {
		return store.Role{}, fmt.Errorf("get role by arn %q: %w", arn, err)
	}
	id := t.b(bRolesByARN).Get([]byte(arn))
	if id == nil || arn == "" {
		return store.Role{}, fmt.Errorf("get role by arn %q: %w", arn, store.ErrNotFound)
	}
	r, err := t.loadRole(string(id))
	if err != nil {
		return store.Role{}, fmt.Errorf("get role by arn %q: %w", arn, err)
	}
	return r, nil
}

// ListRoles returns every role, sorted by name.
func (t *tx) ListRoles(ctx context.Context) ([]store.Role, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	out, err := listJSON[store.Role](t.b(bRoles))
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	slices.SortFunc(out, func(x, y store.Role) int { return compareNames(x.Name, y.Name) })
	return out, nil
}

// compareNames orders case-insensitively, then by spelling so the order is total.
func compareNames(x, y string) int {
	if c := strings.Compare(strings.ToLower(x), strings.ToLower(y)); c != 0 {
		return c
	}
	return strings.Compare(x, y)
}

func (t *tx) UpdateRole(ctx context.Context, r store.Role) (store.Role, error) {
	if err := t.begin(ctx); err != nil {
		return store.Role{}, fmt.Errorf("update role %q: %w", r.ID, err)
	}
	r, err := t.prepareRole(r)
	if err != nil {
		return store.Role{}, fmt.Errorf("update role %q: %w", r.ID, err)
	}
	old, err := t.loadRole(r.ID)
	if err != nil {
		return store.Role{}, fmt.Errorf("update role %q: %w", r.ID, err)
	}
	if err := checkVersion(r.Version, old.Version); err != nil {
		return store.Role{}, fmt.Errorf("update role %q: %w", r.ID, err)
	}
	// Both unique keys are checked before either index is written, so a refused update
	// leaves nothing half done even inside Atomic.
	arns := t.b(bRolesByARN)
	if old.ARN != r.ARN && arns.Get([]byte(r.ARN)) != nil {
		return store.Role{}, fmt.Errorf("update role %q: arn %q: %w", r.ID, r.ARN, store.ErrAlreadyExists)
	}
	if err := reindex(t.b(bRolesByName), nameKey(old.Name), nameKey(r.Name), r.ID); err != nil {
		return store.Role{}, fmt.Errorf("update role %q: name %q: %w", r.ID, r.Name, err)
	}
	if err := reindex(arns, []byte(old.ARN), []byte(r.ARN), r.ID); err != nil {
		return store.Role{}, fmt.Errorf("update role %q: arn %q: %w", r.ID, r.ARN, err)
	}
	r.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := putJSON(t.b(bRoles), []byte(r.ID), r); err != nil {
		return store.Role{}, fmt.Errorf("update role %q: %w", r.ID, err)
	}
	return r, nil
}

func (t *tx) DeleteRole(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete role %q: %w", id, err)
	}
	r, err := t.loadRole(id)
	if err != nil {
		return fmt.Errorf("delete role %q: %w", id, err)
	}
	if err := t.b(bRolesByName).Delete(nameKey(r.Name)); err != nil {
		return fmt.Errorf("delete role %q: unindex name: %w", id, err)
	}
	if err := t.b(bRolesByARN).Delete([]byte(r.ARN)); err != nil {
		return fmt.Errorf("delete role %q: unindex arn: %w", id, err)
	}
	if err := t.b(bRoles).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete role %q: %w", id, err)
	}
	return nil
}

// reindex moves a unique index entry from oldKey to newKey for id; a newKey held by
// another record is store.ErrAlreadyExists. Nothing is written when the keys agree.
func reindex(idx *bbolt.Bucket, oldKey, newKey []byte, id string) error {
	if bytes.Equal(oldKey, newKey) {
		return nil
	}
	if idx.Get(newKey) != nil {
		return store.ErrAlreadyExists
	}
	if err := idx.Delete(oldKey); err != nil {
		return fmt.Errorf("unindex: %w", err)
	}
	if err := idx.Put(newKey, []byte(id)); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}
