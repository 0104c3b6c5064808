package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/portcullis-id/portcullis/store"
)

// PolicyValidator checks policy documents against the IAM grammar (idp/policy). A
// refusal's message names the statement path ("Statement[0].Principal: ..."); an
// errors.Join of several is reported as several problems.
type PolicyValidator interface {
	ValidateIdentity(doc []byte) error
	ValidateTrust(doc []byte) error
}

// Limits on roles and rules.
const (
	MaxDescriptionLen    = 1000
	MaxManagedPerRole    = 20
	MaxInlinePerRole     = 20
	MaxMappingNameLen    = 128
	MaxMappingPatternLen = 256
)

// FieldError is one problem with one field, named by its JSON key path
// ("max_session_duration", "inline_policies.deploy").
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// FieldPath names the field (the interface idp/declare and the admin API look for).
func (e *FieldError) FieldPath() string { return e.Path }

type problems []error

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) check(path string, err error) {
	if err != nil {
		p.add(path, "%v", err)
	}
}

// document runs validate on doc and records each refusal under path.
func (p *problems) document(path string, doc []byte, validate func([]byte) error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		p.add(path, "must be a JSON policy document: %v", err)
		return
	}
	if _, ok := v.(map[string]any); !ok {
		p.add(path, "must be a JSON object")
		return
	}
	if validate == nil {
		return
	}
	for _, err := range leaves(validate(doc)) {
		p.add(path, "%v", err)
	}
}

// leaves flattens an errors.Join tree.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// WithDefaults fills what a new role may leave out: Path "/", MaxSessionDuration one
// hour, and ARN from account, Path and Name. For an existing role pass the account of
// its current ARN, so that a rename keeps the account.
func WithDefaults(r store.Role, account string) store.Role {
	if r.Path == "" {
		r.Path = "/"
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = store.DefaultRoleSessionDuration
	}
	if account == "" {
		account = DefaultAccount
	}
	r.ARN = FormatARN(account, r.Path, r.Name)
	return r
}

// AccountOf returns the account of a role ARN, or DefaultAccount when it does not parse.
func AccountOf(arn string) string {
	if a, err := ParseARN(arn); err == nil {
		return a.Account
	}
	return DefaultAccount
}

// ValidateRole checks r and returns every problem at once (errors.Join of
// *FieldError). pv checks the trust and inline policy documents; when nil only their
// JSON shape is checked.
func ValidateRole(r store.Role, pv PolicyValidator) error {
	var p problems
	p.check("name", CheckRoleName(r.Name))
	p.check("path", CheckPath(r.Path))
	if a, err := ParseARN(r.ARN); err != nil {
		p.add("arn", "%v", err)
	} else if a.Path != r.Path || a.Name != r.Name {
		p.add("arn", "%q does not end in the role's path and name %q", r.ARN, r.Path+r.Name)
	}
	if len(r.Description) > MaxDescriptionLen || strings.IndexFunc(r.Description, unicode.IsControl) >= 0 {
		p.add("description", "must be at most %d printable characters", MaxDescriptionLen)
	}
	if d := r.MaxSessionDuration; d < store.MinRoleSessionDuration || d > store.MaxRoleSessionDuration || d%time.Second != 0 {
		p.add("max_session_duration", "must be between 15m and 12h in whole seconds")
	}
	var trust, identity func([]byte) error
	if pv != nil {
		trust, identity = pv.ValidateTrust, pv.ValidateIdentity
	}
	if len(r.TrustPolicy) == 0 {
		p.add("trust_policy", "is required: it says who may assume the role")
	} else {
		p.document("trust_policy", r.TrustPolicy, trust)
	}
	if len(r.ManagedPolicies) > MaxManagedPerRole {
		p.add("managed_policies", "at most %d policies may be attached", MaxManagedPerRole)
	}
	seen := map[string]bool{}
	for i, name := range r.ManagedPolicies {
		path := fmt.Sprintf("managed_policies[%d]", i)
		if err := CheckPolicyName(name); err != nil {
			p.add(path, "%v", err)
		} else if seen[strings.ToLower(name)] {
			p.add(path, "%q is attached twice", name)
		}
		seen[strings.ToLower(name)] = true
	}
	if len(r.InlinePolicies) > MaxInlinePerRole {
		p.add("inline_policies", "at most %d inline policies", MaxInlinePerRole)
	}
	for _, name := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
		path := "inline_policies." + name
		if err := CheckPolicyName(name); err != nil {
			p.add(path, "name %v", err)
			continue
		}
		p.document(path, r.InlinePolicies[name], identity)
	}
	if r.PermissionBoundary != "" {
		p.check("permission_boundary", CheckPolicyName(r.PermissionBoundary))
	}
	return errors.Join(p...)
}

// ValidatePolicy checks a managed policy's name, description and one document.
func ValidatePolicy(name, description string, doc []byte, pv PolicyValidator) error {
	var p problems
	p.check("name", CheckPolicyName(name))
	if len(description) > MaxDescriptionLen || strings.IndexFunc(description, unicode.IsControl) >= 0 {
		p.add("description", "must be at most %d printable characters", MaxDescriptionLen)
	}
	var identity func([]byte) error
	if pv != nil {
		identity = pv.ValidateIdentity
	}
	if len(doc) == 0 {
		p.add("document", "is required")
	} else {
		p.document("document", doc, identity)
	}
	return errors.Join(p...)
}

// checkWord accepts 1..max bytes without white space or control characters.
func checkWord(s string, max int) error {
	if s == "" || len(s) > max || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("must be 1 to %d characters without white space", max)
	}
	return nil
}

// ValidateMapping checks a role mapping rule and returns every problem at once.
func ValidateMapping(m store.RoleMapping) error {
	var p problems
	p.check("name", checkWord(m.Name, MaxMappingNameLen))
	p.check("source", checkWord(m.Source, MaxMappingNameLen))
	switch {
	case m.Match.Group == "" && m.Match.Claim == "":
		p.add("match", "needs a group or a claim: a rule that matches everyone must say so with group \"*\" or a claim glob")
	case m.Match.Claim == "" && m.Match.Value != "":
		p.add("match.claim", "is required with match.value")
	case m.Match.Claim != "" && m.Match.Value == "":
		p.add("match.value", "is required with match.claim (use \"*\" for any value)")
	}
	if m.Match.Group != "" {
		p.check("match.group", checkPattern(m.Match.Group))
	}
	if m.Match.Claim != "" {
		p.check("match.claim", checkWord(m.Match.Claim, MaxMappingNameLen))
	}
	if m.Match.Value != "" {
		p.check("match.value", checkPattern(m.Match.Value))
	}
	for i, c := range m.SourceCIDRs {
		path := fmt.Sprintf("source_cidrs[%d]", i)
		pr, err := netip.ParsePrefix(c)
		switch {
		case err != nil:
			p.add(path, "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32")
		case pr.Masked() != pr:
			p.add(path, "must be a network address: %s", pr.Masked())
		}
	}
	if len(m.Roles) == 0 {
		p.add("roles", "must name at least one role")
	}
	seen := map[string]bool{}
	for i, role := range m.Roles {
		path := fmt.Sprintf("roles[%d]", i)
		if err := CheckRoleName(role); err != nil {
			p.add(path, "%v", err)
		} else if seen[strings.ToLower(role)] {
			p.add(path, "duplicate role %q", role)
		}
		seen[strings.ToLower(role)] = true
	}
	return errors.Join(p...)
}

func checkPattern(s string) error {
	if len(s) > MaxMappingPatternLen || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("must be at most %d printable characters", MaxMappingPatternLen)
	}
	return nil
}
