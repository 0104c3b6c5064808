package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
)

// Store is the part of the store the PDP reads.
type Store interface {
	// GetRoleByName looks a role up by name, case-insensitively.
	GetRoleByName(ctx context.Context, name string) (store.Role, error)
	GetRoleByARN(ctx context.Context, arn string) (store.Role, error)
	// GetManagedPolicy looks a managed policy up by name, case-insensitively.
	GetManagedPolicy(ctx context.Context, name string) (store.ManagedPolicy, error)
}

var _ Store = store.Store(nil)

// ErrUnknownRole marks a request naming a role that does not exist. Errors carrying it
// also wrap store.ErrNotFound.
var ErrUnknownRole = errors.New("unknown role")

// PDP is the policy decision point. It is safe for concurrent use.
type PDP struct {
	st Store
	ev *policy.Evaluator
	// sess is set by NewWithSessions; nil disables CheckSession.
	sess *sessionDeps
}

// New returns a PDP reading roles and policies from st and compiling them through ev's
// cache. A nil ev gets a private evaluator with the default cache size; pass the one the
// STS uses so that both share compiled policies.
func New(st Store, ev *policy.Evaluator) *PDP {
	if st == nil {
		panic("authz.New: a store is required")
	}
	if ev == nil {
		ev = policy.NewEvaluator(policy.Options{})
	}
	return &PDP{st: st, ev: ev}
}

// PolicySet returns the permission policies in force for role: the default version of
// each attached managed policy, then the inline policies in name order, and the
// permissions boundary. Every policy must load and compile; one that does not is an
// error (a missing managed policy wraps store.ErrNotFound), because evaluating the
// rest would answer for a policy set the role does not have.
//
// The role and its managed policies are read separately, not in one transaction; a
// concurrent change is seen either before or after, policy by policy.
func (p *PDP) PolicySet(ctx context.Context, role store.Role) (policy.PolicySet, error) {
	var set policy.PolicySet
	set.Identity = make([]*policy.Compiled, 0, len(role.ManagedPolicies)+len(role.InlinePolicies))
	for _, name := range role.ManagedPolicies {
		c, err := p.managed(ctx, name, policy.Identity)
		if err != nil {
			return policy.PolicySet{}, fmt.Errorf("role %s: managed policy %q: %w", role.Name, name, err)
		}
		set.Identity = append(set.Identity, c)
	}
	// Sorted, not map order: the first allowing statement reported in a decision must
	// not change from one request to the next.
	for _, name := range slices.Sorted(maps.Keys(role.InlinePolicies)) {
		doc := role.InlinePolicies[name]
		key := "role/" + role.ID + "/inline/" + name
		c, err := p.ev.CompileJSON(key, cacheVersion(strconv.FormatInt(role.Version, 10), policy.Identity, doc), policy.Identity, doc)
		if err != nil {
			return policy.PolicySet{}, fmt.Errorf("role %s: inline policy %q: %w", role.Name, name, err)
		}
		set.Identity = append(set.Identity, c)
	}
	if role.PermissionBoundary != "" {
		c, err := p.managed(ctx, role.PermissionBoundary, policy.Boundary)
		if err != nil {
			return policy.PolicySet{}, fmt.Errorf("role %s: permissions boundary %q: %w", role.Name, role.PermissionBoundary, err)
		}
		set.Boundary = c
	}
	return set, nil
}

// managed loads and compiles the default version of a managed policy as kind.
func (p *PDP) managed(ctx context.Context, name string, kind policy.Kind) (*policy.Compiled, error) {
	mp, err := p.st.GetManagedPolicy(ctx, name)
	if err != nil {
		return nil, err
	}
	v, ok := mp.Default()
	if !ok {
		return nil, fmt.Errorf("default version %d is not among the kept versions", mp.DefaultVersion)
	}
	c, err := p.ev.CompileJSON(mp.Name, cacheVersion(strconv.Itoa(v.Version), kind, v.Document), kind, v.Document)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", v.Version, err)
	}
	return c, nil
}

// cacheVersion is the version label a stored policy is cached under. The stored
// version number alone is not enough:
//   - the same managed policy may be attached as an identity policy and as a boundary,
//     and the evaluator caches one kind per (name, version);
//   - a managed policy deleted and created again starts over at version 1, and a role
//     re-created under the same id at Version 1, with different documents; serving the
//     old compiled form would grant what the new document no longer grants.
//
// The digest of the document settles both, and costs far less than the store reads that
// precede it. The version number stays in front so that Compiled.Version reads well.
func cacheVersion(version string, kind policy.Kind, doc []byte) string {
	sum := sha256.Sum256(doc)
	return version + "/" + kind.String() + "/" + hex.EncodeToString(sum[:16])
}

// role resolves a role by ARN (when ref starts with "arn:") or by name.
func (p *PDP) role(ctx context.Context, ref string) (store.Role, error) {
	get := p.st.GetRoleByName
	if strings.HasPrefix(ref, "arn:") {
		get = p.st.GetRoleByARN
	}
	r, err := get(ctx, ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Role{}, fmt.Errorf("%w %q: %w", ErrUnknownRole, ref, err)
	case err != nil:
		return store.Role{}, fmt.Errorf("look up role %q: %w", ref, err)
	}
	return r, nil
}
