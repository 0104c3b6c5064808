package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/portcullis-id/portcullis/store"
)

// compactJSON validates raw and returns a compact copy: what bbolt stores is what a
// later read returns. An empty raw is allowed only when optional.
func compactJSON(what string, raw json.RawMessage, optional bool) (json.RawMessage, error) {
	if len(raw) == 0 {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: empty %s", errInvalid, what)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("%w: %s is not JSON: %v", errInvalid, what, err)
	}
	return b.Bytes(), nil
}

func (t *tx) CreateManagedPolicy(ctx context.Context, p store.ManagedPolicy) (store.ManagedPolicy, error) {
	if err := t.begin(ctx); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("create managed policy: %w", err)
	}
	if err := checkKeyPart("name", p.Name); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("create managed policy %q: %w", p.Name, err)
	}
	if len(p.Versions) != 1 {
		return store.ManagedPolicy{}, fmt.Errorf("create managed policy %q: %w: %d versions given, want the first one only",
			p.Name, errInvalid, len(p.Versions))
	}
	doc, err := compactJSON("policy document", p.Versions[0].Document, false)
	if err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("create managed policy %q: %w", p.Name, err)
	}
	policies := t.b(bPolicies)
	if policies.Get(nameKey(p.Name)) != nil {
		return store.ManagedPolicy{}, fmt.Errorf("create managed policy %q: %w", p.Name, store.ErrAlreadyExists)
	}
	now := t.clock()
	p.Versions = []store.PolicyVersion{{Version: 1, Document: doc, CreatedAt: now}}
	p.DefaultVersion = 1
	p.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(policies, nameKey(p.Name), p); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("create managed policy %q: %w", p.Name, err)
	}
	return p, nil
}

func (t *tx) GetManagedPolicy(ctx context.Context, name string) (store.ManagedPolicy, error) {
	if err := t.check(ctx); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("get managed policy %q: %w", name, err)
	}
	p, err := t.loadPolicy(name)
	if err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("get managed policy %q: %w", name, err)
	}
	return p, nil
}

func (t *tx) loadPolicy(name string) (store.ManagedPolicy, error) {
	var p store.ManagedPolicy
	if name == "" {
		return p, store.ErrNotFound
	}
	p, found, err := t.cached().policies.load(t.b(bPolicies), string(nameKey(name)))
	if err == nil && !found {
		err = store.ErrNotFound
	}
	return p, err
}

// ListManagedPolicies returns every policy, sorted by name.
func (t *tx) ListManagedPolicies(ctx context.Context) ([]store.ManagedPolicy, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list managed policies: %w", err)
	}
	out, err := listJSON[store.ManagedPolicy](t.b(bPolicies))
	if err != nil {
		return nil, fmt.Errorf("list managed policies: %w", err)
	}
	slices.SortFunc(out, func(x, y store.ManagedPolicy) int { return compareNames(x.Name, y.Name) })
	return out, nil
}

func (t *tx) UpdateManagedPolicy(ctx context.Context, p store.ManagedPolicy) (store.ManagedPolicy, error) {
	if err := t.begin(ctx); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("update managed policy %q: %w", p.Name, err)
	}
	old, err := t.loadPolicy(p.Name)
	if err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("update managed policy %q: %w", p.Name, err)
	}
	if err := checkVersion(p.Version, old.Version); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("update managed policy %q: %w", p.Name, err)
	}
	next := old
	next.Description, next.Source = p.Description, p.Source
	return t.putPolicy(next, "update managed policy")
}

// putPolicy bumps p's Version and writes it.
func (t *tx) putPolicy(p store.ManagedPolicy, op string) (store.ManagedPolicy, error) {
	p.Meta = store.Meta{CreatedAt: p.CreatedAt, UpdatedAt: t.clock(), Version: p.Version + 1}
	if err := putJSON(t.b(bPolicies), nameKey(p.Name), p); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("%s %q: %w", op, p.Name, err)
	}
	return p, nil
}

// loadPolicyFor reads the policy a version method changes and checks ifVersion.
func (t *tx) loadPolicyFor(ctx context.Context, op, name string, ifVersion int64) (store.ManagedPolicy, error) {
	if err := t.begin(ctx); err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	p, err := t.loadPolicy(name)
	if err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	if ifVersion != 0 {
		if err := checkVersion(ifVersion, p.Version); err != nil {
			return store.ManagedPolicy{}, fmt.Errorf("%s %q: %w", op, name, err)
		}
	}
	return p, nil
}

func (t *tx) CreatePolicyVersion(ctx context.Context, name string, ifVersion int64, doc []byte, setDefault bool) (store.ManagedPolicy, error) {
	const op = "create policy version"
	p, err := t.loadPolicyFor(ctx, op, name, ifVersion)
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	compact, err := compactJSON("policy document", doc, false)
	if err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	// Versions are ascending and the one dropped below is the oldest or second oldest,
	// never the newest, so numbers only grow and are never reused for another document.
	next := 1
	if n := len(p.Versions); n > 0 {
		next = p.Versions[n-1].Version + 1
	}
	p.Versions = append(p.Versions, store.PolicyVersion{Version: next, Document: compact, CreatedAt: t.clock()})
	if setDefault {
		p.DefaultVersion = next
	}
	for len(p.Versions) > store.MaxPolicyVersions {
		i := slices.IndexFunc(p.Versions, func(v store.PolicyVersion) bool { return v.Version != p.DefaultVersion })
		p.Versions = slices.Delete(p.Versions, i, i+1)
	}
	return t.putPolicy(p, op)
}

func (t *tx) SetDefaultPolicyVersion(ctx context.Context, name string, ifVersion int64, version int) (store.ManagedPolicy, error) {
	const op = "set default policy version"
	p, err := t.loadPolicyFor(ctx, op, name, ifVersion)
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	if !slices.ContainsFunc(p.Versions, func(v store.PolicyVersion) bool { return v.Version == version }) {
		return store.ManagedPolicy{}, fmt.Errorf("%s %q: version %d: %w", op, name, version, store.ErrNotFound)
	}
	if p.DefaultVersion == version {
		return p, nil
	}
	p.DefaultVersion = version
	return t.putPolicy(p, op)
}

func (t *tx) DeleteManagedPolicy(ctx context.Context, name string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete managed policy %q: %w", name, err)
	}
	p, err := t.loadPolicy(name)
	if err != nil {
		return fmt.Errorf("delete managed policy %q: %w", name, err)
	}
	// Roles are few (hundreds at most), so a scan beats keeping a reverse index in step.
	roles, err := listJSON[store.Role](t.b(bRoles))
	if err != nil {
		return fmt.Errorf("delete managed policy %q: %w", name, err)
	}
	for _, r := range roles {
		if usesPolicy(r, p.Name) {
			return fmt.Errorf("delete managed policy %q: in use by role %q: %w", p.Name, r.Name, store.ErrConflict)
		}
	}
	if err := t.b(bPolicies).Delete(nameKey(p.Name)); err != nil {
		return fmt.Errorf("delete managed policy %q: %w", name, err)
	}
	return nil
}
