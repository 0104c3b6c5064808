package roles

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/portcullis-id/portcullis/store"
)

// Input is what the mapping rules see of an identity at sign-in or on a directory
// change.
type Input struct {
	// Source is where the identity comes from: "local", a connector id or a SCIM client
	// id. Empty means "local".
	Source string
	// Groups are the identity's group names (directory groups or upstream groups).
	Groups []string
	// Claims are upstream claims, each with its values.
	Claims map[string][]string
	// MFA reports whether a second factor was verified (or trusted from upstream).
	MFA bool
	// SourceIP is the client's address; the zero Addr matches no CIDR condition.
	SourceIP netip.Addr
}

// Grant is one role granted by one rule.
type Grant struct {
	Role string `json:"role"`
	Rule string `json:"rule"`
}

// Evaluate returns the roles the rules grant to in. A role granted by several rules is
// listed once per rule, so that an administrator can see every reason. The result is
// sorted by role, then rule, whatever the order of rules.
func Evaluate(rules []store.RoleMapping, in Input) []Grant {
	if in.Source == "" {
		in.Source = store.MappingSourceLocal
	}
	var out []Grant
	for _, r := range rules {
		if !applies(r, in) {
			continue
		}
		for _, role := range r.Roles {
			out = append(out, Grant{Role: role, Rule: r.Name})
		}
	}
	slices.SortFunc(out, func(a, b Grant) int {
		return cmp.Or(strings.Compare(a.Role, b.Role), strings.Compare(a.Rule, b.Rule))
	})
	return slices.Compact(out)
}

// RoleNames returns the distinct roles of grants, sorted.
func RoleNames(grants []Grant) []string {
	out := make([]string, 0, len(grants))
	for _, g := range grants {
		out = append(out, g.Role)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// applies reports whether every condition of r holds for in. Anything a rule cannot be
// sure of fails closed: a rule without a match condition, a CIDR that does not parse
// or an unknown client address grants nothing.
func applies(r store.RoleMapping, in Input) bool {
	if r.Source != store.MappingSourceAny && r.Source != in.Source {
		return false
	}
	m := r.Match
	if m.Group == "" && m.Claim == "" {
		return false
	}
	if m.Group != "" {
		// Group names are case-insensitive in the directory, so the match is too.
		pattern := strings.ToLower(m.Group)
		if !slices.ContainsFunc(in.Groups, func(g string) bool { return Glob(pattern, strings.ToLower(g)) }) {
			return false
		}
	}
	if m.Claim != "" {
		if !slices.ContainsFunc(in.Claims[m.Claim], func(v string) bool { return Glob(m.Value, v) }) {
			return false
		}
	}
	if r.RequireMFA && !in.MFA {
		return false
	}
	if len(r.SourceCIDRs) > 0 {
		ip := in.SourceIP.Unmap()
		if !ip.IsValid() || !slices.ContainsFunc(r.SourceCIDRs, func(c string) bool {
			p, err := netip.ParsePrefix(c)
			return err == nil && p.Contains(ip)
		}) {
			return false
		}
	}
	return true
}
