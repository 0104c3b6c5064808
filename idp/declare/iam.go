package declare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-id/portcullis/idp/roles"
	"github.com/portcullis-id/portcullis/store"
)

// PolicyValidator checks IAM policy documents (idp/policy); a refusal's message names
// the statement path.
type PolicyValidator interface {
	ValidateIdentity(doc []byte) error
	ValidateTrust(doc []byte) error
}

// WithPolicies sets the validator for role and policy documents and the account of
// new role ARNs (empty: roles.DefaultAccount). Without a validator only the JSON shape
// of documents is checked. It returns r for chaining at wiring time.
func (r *Reconciler) WithPolicies(pv PolicyValidator, account string) *Reconciler {
	r.pv, r.account = pv, account
	return r
}

// Policy declares a managed policy, looked up by Name (case-insensitive). A changed
// document becomes a new default version; a document equal to a kept version makes
// that version the default again, so reverting the file rolls the policy back.
type Policy struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Document    PolicyJSON `yaml:"document"`
}

// Role declares a role, looked up by Name (case-insensitive).
type Role struct {
	Name               string                `yaml:"name"`
	Path               string                `yaml:"path"`
	Description        string                `yaml:"description"`
	TrustPolicy        PolicyJSON            `yaml:"trust_policy"`
	ManagedPolicies    []string              `yaml:"managed_policies"`
	InlinePolicies     map[string]PolicyJSON `yaml:"inline_policies"`
	PermissionBoundary string                `yaml:"permission_boundary"`
	// MaxSessionDuration defaults to one hour.
	MaxSessionDuration Duration `yaml:"max_session_duration"`
	RequireMFA         bool     `yaml:"require_mfa"`
}

// RoleMapping declares a rule granting roles, looked up by Name (case-insensitive).
type RoleMapping struct {
	Name        string       `yaml:"name"`
	Source      string       `yaml:"source"`
	Match       MappingMatch `yaml:"match"`
	RequireMFA  bool         `yaml:"require_mfa"`
	SourceCIDRs []string     `yaml:"source_cidrs"`
	Roles       []string     `yaml:"roles"`
}

// MappingMatch is store.MappingMatch with YAML keys.
type MappingMatch struct {
	Group string `yaml:"group"`
	Claim string `yaml:"claim"`
	Value string `yaml:"value"`
}

// PolicyJSON is a policy document written either as YAML (a mapping) or as a string
// holding JSON. Either way it is kept as JSON.
type PolicyJSON json.RawMessage

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *PolicyJSON) UnmarshalYAML(n *yaml.Node) error {
	fail := func(msg string) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		if !json.Valid([]byte(n.Value)) {
			return fail("a policy given as a string must hold JSON")
		}
		*p = PolicyJSON(n.Value)
		return nil
	case n.Kind == yaml.MappingNode:
		var v map[string]any
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fail(fmt.Sprintf("policy cannot be written as JSON: %v", err))
		}
		*p = b
		return nil
	}
	return fail("must be a policy document: a mapping, or a string holding JSON")
}

// canonical returns doc with sorted keys and no insignificant white space, so that
// documents written in YAML and in JSON compare equal; "" when doc is not JSON.
func canonical(doc []byte) string {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func sameDoc(a, b []byte) bool {
	ca := canonical(a)
	return ca != "" && ca == canonical(b)
}

// storeRole is the role as the store will hold it (ARN from account, path and name).
func (r Role) storeRole(account string) store.Role {
	out := store.Role{
		Name:               r.Name,
		Path:               r.Path,
		Description:        r.Description,
		TrustPolicy:        json.RawMessage(r.TrustPolicy),
		ManagedPolicies:    slices.Clone(r.ManagedPolicies),
		PermissionBoundary: r.PermissionBoundary,
		MaxSessionDuration: time.Duration(r.MaxSessionDuration),
		RequireMFA:         r.RequireMFA,
	}
	if len(r.InlinePolicies) > 0 {
		out.InlinePolicies = make(map[string]json.RawMessage, len(r.InlinePolicies))
		for k, v := range r.InlinePolicies {
			out.InlinePolicies[k] = json.RawMessage(v)
		}
	}
	return roles.WithDefaults(out, account)
}

func (m RoleMapping) storeMapping() store.RoleMapping {
	return store.RoleMapping{
		Name:        m.Name,
		Source:      m.Source,
		Match:       store.MappingMatch(m.Match),
		RequireMFA:  m.RequireMFA,
		SourceCIDRs: slices.Clone(m.SourceCIDRs),
		Roles:       slices.Clone(m.Roles),
	}
}

// fieldErrs places a validator's field errors under the key path p of d.
func fieldErrs(d *Document, p string, err error) []error {
	var errs []error
	for _, fe := range FieldErrors(err) {
		path := p
		if fe.Path != "" {
			path = p + "." + fe.Path
		}
		errs = append(errs, d.errAt(path, "%s", fe.Msg))
	}
	return errs
}

// validateIAM checks the policies, roles and role mappings of every document.
func validateIAM(docs []Document, pv PolicyValidator, account string) []error {
	var errs []error
	policies, roleNames, mappings := map[string]string{}, map[string]string{}, map[string]string{}
	for di := range docs {
		d := &docs[di]
		for i, p := range d.Policies {
			path := fmt.Sprintf("policies[%d]", i)
			errs = append(errs, fieldErrs(d, path, roles.ValidatePolicy(p.Name, p.Description, p.Document, pv))...)
			if p.Name != "" {
				errs = appendDup(errs, d, policies, strings.ToLower(p.Name), path+".name", "policy name", p.Name)
			}
		}
		for i, r := range d.Roles {
			path := fmt.Sprintf("roles[%d]", i)
			errs = append(errs, fieldErrs(d, path, roles.ValidateRole(r.storeRole(account), pv))...)
			if r.Name != "" {
				errs = appendDup(errs, d, roleNames, strings.ToLower(r.Name), path+".name", "role name", r.Name)
			}
		}
		for i, m := range d.RoleMappings {
			path := fmt.Sprintf("role_mappings[%d]", i)
			errs = append(errs, fieldErrs(d, path, roles.ValidateMapping(m.storeMapping()))...)
			if m.Name != "" {
				errs = appendDup(errs, d, mappings, strings.ToLower(m.Name), path+".name", "role mapping name", m.Name)
			}
		}
	}
	return errs
}

func (a *applier) policy(ctx context.Context, d *Document, i int, p Policy) error {
	path := fmt.Sprintf("policies[%d]", i)
	cur, err := a.tx.GetManagedPolicy(ctx, p.Name)
	if errors.Is(err, store.ErrNotFound) {
		_, err := a.tx.CreateManagedPolicy(ctx, store.ManagedPolicy{
			Name: p.Name, Description: p.Description, Source: SourceDeclarative,
			Versions: []store.PolicyVersion{{Document: json.RawMessage(p.Document)}},
		})
		if err != nil {
			return locate(d, path, fmt.Errorf("create policy %q: %w", p.Name, err))
		}
		a.add(KindPolicy, p.Name, ActionCreate, nil)
		return nil
	}
	if err != nil {
		return locate(d, path, fmt.Errorf("look up policy %q: %w", p.Name, err))
	}
	var ch diff
	if cur.Description != p.Description {
		next := cur
		next.Description = p.Description
		if cur, err = a.tx.UpdateManagedPolicy(ctx, next); err != nil {
			return locate(d, path, fmt.Errorf("update policy %q: %w", p.Name, err))
		}
		ch = append(ch, "description")
	}
	if def, _ := cur.Default(); !sameDoc(def.Document, p.Document) {
		kept := slices.IndexFunc(cur.Versions, func(v store.PolicyVersion) bool { return sameDoc(v.Document, p.Document) })
		if kept >= 0 {
			_, err = a.tx.SetDefaultPolicyVersion(ctx, cur.Name, 0, cur.Versions[kept].Version)
		} else {
			_, err = a.tx.CreatePolicyVersion(ctx, cur.Name, 0, p.Document, true)
		}
		if err != nil {
			return locate(d, path, fmt.Errorf("new default document for policy %q: %w", p.Name, err))
		}
		ch = append(ch, "document")
	}
	if len(ch) == 0 {
		a.add(KindPolicy, p.Name, ActionUnchanged, nil)
	} else {
		a.add(KindPolicy, p.Name, ActionUpdate, ch)
	}
	return nil
}

// checkPolicyRefs reports, at their key paths, attached policies that exist neither in
// the store nor in the documents (those were applied before roles).
func (a *applier) checkPolicyRefs(ctx context.Context, d *Document, path string, r Role) error {
	refs := map[string]string{}
	for j, name := range r.ManagedPolicies {
		refs[fmt.Sprintf("%s.managed_policies[%d]", path, j)] = name
	}
	if r.PermissionBoundary != "" {
		refs[path+".permission_boundary"] = r.PermissionBoundary
	}
	for _, at := range slices.Sorted(maps.Keys(refs)) {
		_, err := a.tx.GetManagedPolicy(ctx, refs[at])
		if errors.Is(err, store.ErrNotFound) {
			return d.errAt(at, "no managed policy named %q in the store or the documents", refs[at])
		}
		if err != nil {
			return locate(d, at, err)
		}
	}
	return nil
}

func (a *applier) role(ctx context.Context, d *Document, i int, r Role) error {
	path := fmt.Sprintf("roles[%d]", i)
	if err := a.checkPolicyRefs(ctx, d, path, r); err != nil {
		return err
	}
	cur, err := a.tx.GetRoleByName(ctx, r.Name)
	if errors.Is(err, store.ErrNotFound) {
		want := r.storeRole(a.r.account)
		want.Source = SourceDeclarative
		if _, err := a.tx.CreateRole(ctx, want); err != nil {
			return locate(d, path, fmt.Errorf("create role %q: %w", r.Name, err))
		}
		a.add(KindRole, r.Name, ActionCreate, nil)
		return nil
	}
	if err != nil {
		return locate(d, path, fmt.Errorf("look up role %q: %w", r.Name, err))
	}
	// The account of an existing role stays what it is.
	want := r.storeRole(roles.AccountOf(cur.ARN))
	var ch diff
	next := cur
	setField(&ch, "name", &next.Name, want.Name)
	setField(&ch, "path", &next.Path, want.Path)
	setField(&ch, "arn", &next.ARN, want.ARN)
	setField(&ch, "description", &next.Description, want.Description)
	if !sameDoc(cur.TrustPolicy, want.TrustPolicy) {
		next.TrustPolicy, ch = want.TrustPolicy, append(ch, "trust_policy")
	}
	setList(&ch, "managed_policies", &next.ManagedPolicies, want.ManagedPolicies)
	if !maps.EqualFunc(cur.InlinePolicies, want.InlinePolicies, func(x, y json.RawMessage) bool { return sameDoc(x, y) }) {
		next.InlinePolicies, ch = want.InlinePolicies, append(ch, "inline_policies")
	}
	setField(&ch, "permission_boundary", &next.PermissionBoundary, want.PermissionBoundary)
	setField(&ch, "max_session_duration", &next.MaxSessionDuration, want.MaxSessionDuration)
	setField(&ch, "require_mfa", &next.RequireMFA, want.RequireMFA)
	if len(ch) == 0 {
		a.add(KindRole, r.Name, ActionUnchanged, nil)
		return nil
	}
	if _, err := a.tx.UpdateRole(ctx, next); err != nil {
		return locate(d, path, fmt.Errorf("update role %q: %w", r.Name, err))
	}
	a.add(KindRole, r.Name, ActionUpdate, ch)
	return nil
}

func (a *applier) roleMapping(ctx context.Context, d *Document, i int, m RoleMapping) error {
	path := fmt.Sprintf("role_mappings[%d]", i)
	// A misspelt role would make the rule silently grant nothing.
	for j, name := range m.Roles {
		_, err := a.tx.GetRoleByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return d.errAt(fmt.Sprintf("%s.roles[%d]", path, j), "no role named %q in the store or the documents", name)
		}
		if err != nil {
			return locate(d, path, err)
		}
	}
	want := m.storeMapping()
	cur, err := a.tx.GetRoleMappingByName(ctx, m.Name)
	if errors.Is(err, store.ErrNotFound) {
		want.ManagedBy = SourceDeclarative
		if _, err := a.tx.CreateRoleMapping(ctx, want); err != nil {
			return locate(d, path, fmt.Errorf("create role mapping %q: %w", m.Name, err))
		}
		a.add(KindRoleMapping, m.Name, ActionCreate, nil)
		return nil
	}
	if err != nil {
		return locate(d, path, fmt.Errorf("look up role mapping %q: %w", m.Name, err))
	}
	var ch diff
	next := cur
	setField(&ch, "name", &next.Name, want.Name)
	setField(&ch, "source", &next.Source, want.Source)
	setField(&ch, "match", &next.Match, want.Match)
	setField(&ch, "require_mfa", &next.RequireMFA, want.RequireMFA)
	setList(&ch, "source_cidrs", &next.SourceCIDRs, want.SourceCIDRs)
	setList(&ch, "roles", &next.Roles, want.Roles)
	if len(ch) == 0 {
		a.add(KindRoleMapping, m.Name, ActionUnchanged, nil)
		return nil
	}
	if _, err := a.tx.UpdateRoleMapping(ctx, next); err != nil {
		return locate(d, path, fmt.Errorf("update role mapping %q: %w", m.Name, err))
	}
	a.add(KindRoleMapping, m.Name, ActionUpdate, ch)
	return nil
}

// pruneIAM deletes declarative role mappings, roles and policies that no document
// names, in that order so that nothing left refers to what goes. A declarative policy
// still attached to a role an administrator made fails the whole apply.
func (a *applier) pruneIAM(ctx context.Context, kept map[string]map[string]bool) error {
	ms, err := a.tx.ListRoleMappings(ctx)
	if err != nil {
		return fmt.Errorf("prune: list role mappings: %w", err)
	}
	for _, m := range ms {
		if m.ManagedBy != SourceDeclarative || kept[KindRoleMapping][strings.ToLower(m.Name)] {
			continue
		}
		if err := a.tx.DeleteRoleMapping(ctx, m.ID); err != nil {
			return fmt.Errorf("prune: delete role mapping %q: %w", m.Name, err)
		}
		a.add(KindRoleMapping, m.Name, ActionDelete, nil)
	}
	rs, err := a.tx.ListRoles(ctx)
	if err != nil {
		return fmt.Errorf("prune: list roles: %w", err)
	}
	for _, r := range rs {
		if r.Source != SourceDeclarative || kept[KindRole][strings.ToLower(r.Name)] {
			continue
		}
		if err := a.tx.DeleteRole(ctx, r.ID); err != nil {
			return fmt.Errorf("prune: delete role %q: %w", r.Name, err)
		}
		a.add(KindRole, r.Name, ActionDelete, nil)
	}
	ps, err := a.tx.ListManagedPolicies(ctx)
	if err != nil {
		return fmt.Errorf("prune: list policies: %w", err)
	}
	for _, p := range ps {
		if p.Source != SourceDeclarative || kept[KindPolicy][strings.ToLower(p.Name)] {
			continue
		}
		if err := a.tx.DeleteManagedPolicy(ctx, p.Name); err != nil {
			return fmt.Errorf("prune: delete policy %q: %w", p.Name, err)
		}
		a.add(KindPolicy, p.Name, ActionDelete, nil)
	}
	return nil
}

// applyIAM reconciles policies, then roles (which attach policies), then role
// mappings (which name roles), and returns the lower-cased names it saw per kind.
func (a *applier) applyIAM(ctx context.Context, docs []Document) (map[string]map[string]bool, error) {
	kept := map[string]map[string]bool{KindPolicy: {}, KindRole: {}, KindRoleMapping: {}}
	for di := range docs {
		for i, p := range docs[di].Policies {
			kept[KindPolicy][strings.ToLower(p.Name)] = true
			if err := a.policy(ctx, &docs[di], i, p); err != nil {
				return nil, err
			}
		}
	}
	for di := range docs {
		for i, r := range docs[di].Roles {
			kept[KindRole][strings.ToLower(r.Name)] = true
			if err := a.role(ctx, &docs[di], i, r); err != nil {
				return nil, err
			}
		}
	}
	for di := range docs {
		for i, m := range docs[di].RoleMappings {
			kept[KindRoleMapping][strings.ToLower(m.Name)] = true
			if err := a.roleMapping(ctx, &docs[di], i, m); err != nil {
				return nil, err
			}
		}
	}
	return kept, nil
}
