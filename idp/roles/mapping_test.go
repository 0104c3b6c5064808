package roles

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything", true},
		{"eng", "eng", true},
		{"eng", "engineering", false},
		{"eng-*", "eng-", true},
		{"eng-*", "eng-platform", true},
		{"eng-*", "sales-eng", false},
		{"*-admins", "platform-admins", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "äbc", false},
		{"?", "ä", true}, // one character, not one byte
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/web:ref:refs/heads/main", true},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/web:ref:refs/heads/dev", false},
		{"**a", "bbba", true},
		{"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	} {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	rules := []store.RoleMapping{
		{Name: "z-all-local", Source: "local", Match: store.MappingMatch{Group: "*"}, Roles: []string{"viewer"}},
		{Name: "eng", Source: "*", Match: store.MappingMatch{Group: "Eng-*"}, Roles: []string{"developer", "viewer"}},
		{Name: "gh-main", Source: "github", Match: store.MappingMatch{Claim: "sub", Value: "repo:acme/*:ref:refs/heads/main"}, Roles: []string{"deploy"}},
		{Name: "admins-mfa", Source: "local", Match: store.MappingMatch{Group: "admins"}, RequireMFA: true, Roles: []string{"admin"}},
		{Name: "office", Source: "local", Match: store.MappingMatch{Group: "ops"}, SourceCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}, Roles: []string{"operator"}},
		{Name: "both", Source: "okta", Match: store.MappingMatch{Group: "sre", Claim: "dept", Value: "infra"}, Roles: []string{"oncall"}},
		{Name: "no-condition", Source: "*", Roles: []string{"everything"}},
		{Name: "bad-cidr", Source: "local", Match: store.MappingMatch{Group: "ops"}, SourceCIDRs: []string{"not-a-cidr"}, Roles: []string{"broken"}},
	}
	for _, tc := range []struct {
		name string
		in   Input
		want []Grant
	}{
		{"nothing matches", Input{Source: "local"}, nil},
		{"empty source is local; group glob ignores case; a role from two rules lists both",
			Input{Groups: []string{"eng-platform"}},
			[]Grant{{"developer", "eng"}, {"viewer", "eng"}, {"viewer", "z-all-local"}}},
		{"source must match", Input{Source: "okta", Groups: []string{"admins"}}, nil},
		{"mfa required and missing", Input{Source: "local", Groups: []string{"admins"}},
			[]Grant{{"viewer", "z-all-local"}}},
		{"mfa required and present", Input{Source: "local", Groups: []string{"admins"}, MFA: true},
			[]Grant{{"admin", "admins-mfa"}, {"viewer", "z-all-local"}}},
		{"claim glob", Input{Source: "github", Claims: map[string][]string{"sub": {"repo:acme/web:ref:refs/heads/main"}}},
			[]Grant{{"deploy", "gh-main"}}},
		{"claim glob miss", Input{Source: "github", Claims: map[string][]string{"sub": {"repo:evil/web:ref:refs/heads/main"}}}, nil},
		{"claim values are case-sensitive", Input{Source: "github", Claims: map[string][]string{"sub": {"REPO:acme/web:ref:refs/heads/main"}}}, nil},
		{"cidr inside (v4)", Input{Source: "local", Groups: []string{"ops"}, SourceIP: netip.MustParseAddr("10.1.2.3")},
			[]Grant{{"operator", "office"}, {"viewer", "z-all-local"}}},
		{"cidr inside (v4-mapped v6)", Input{Source: "local", Groups: []string{"ops"}, SourceIP: netip.MustParseAddr("::ffff:10.1.2.3")},
			[]Grant{{"operator", "office"}, {"viewer", "z-all-local"}}},
		{"cidr inside (v6)", Input{Source: "local", Groups: []string{"ops"}, SourceIP: netip.MustParseAddr("2001:db8::1")},
			[]Grant{{"operator", "office"}, {"viewer", "z-all-local"}}},
		{"cidr outside", Input{Source: "local", Groups: []string{"ops"}, SourceIP: netip.MustParseAddr("192.0.2.1")},
			[]Grant{{"viewer", "z-all-local"}}},
		{"cidr with unknown address", Input{Source: "local", Groups: []string{"ops"}},
			[]Grant{{"viewer", "z-all-local"}}},
		{"group and claim both needed: only group", Input{Source: "okta", Groups: []string{"sre"}}, nil},
		{"group and claim both needed: both", Input{Source: "okta", Groups: []string{"SRE"}, Claims: map[string][]string{"dept": {"sales", "infra"}}},
			[]Grant{{"oncall", "both"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Evaluate(rules, tc.in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Evaluate = %v, want %v", got, tc.want)
			}
			// The order of the rules does not change the answer.
			rev := slices.Clone(rules)
			slices.Reverse(rev)
			if again := Evaluate(rev, tc.in); !slices.Equal(again, got) {
				t.Errorf("reversed rules: %v, want %v", again, got)
			}
		})
	}
}

func TestEvaluateListsARuleOnceEvenIfItNamesARoleTwice(t *testing.T) {
	t.Parallel()
	rules := []store.RoleMapping{{Name: "r", Source: "*", Match: store.MappingMatch{Group: "g"}, Roles: []string{"a", "a"}}}
	if got := Evaluate(rules, Input{Groups: []string{"g"}}); !slices.Equal(got, []Grant{{"a", "r"}}) {
		t.Errorf("Evaluate = %v", got)
	}
	if got := RoleNames([]Grant{{"b", "1"}, {"a", "2"}, {"b", "3"}}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("RoleNames = %v", got)
	}
}
