package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// fakeValidator refuses documents containing "BAD" with a statement path, the way
// idp/policy does, and joins two refusals for "TWICE".
type fakeValidator struct{}

func (fakeValidator) check(kind string, doc []byte) error {
	switch {
	case strings.Contains(string(doc), "TWICE"):
		return errors.Join(errors.New("Statement[0].Effect: must be Allow or Deny"), errors.New("Statement[1].Action: required"))
	case strings.Contains(string(doc), "BAD"):
		return fmt.Errorf("Statement[0].Principal: not allowed in %s policies", kind)
	}
	return nil
}

func (v fakeValidator) ValidateIdentity(doc []byte) error { return v.check("identity", doc) }
func (v fakeValidator) ValidateTrust(doc []byte) error    { return v.check("trust", doc) }

const okDoc = `{"Version":"2012-10-17","Statement":[]}`

func validRole() store.Role {
	return WithDefaults(store.Role{
		Name:            "deploy",
		Path:            "/ci/",
		TrustPolicy:     json.RawMessage(okDoc),
		ManagedPolicies: []string{"ReadOnly"},
		InlinePolicies:  map[string]json.RawMessage{"extra": json.RawMessage(okDoc)},
	}, "")
}

// fields returns the paths of the FieldErrors in err, in order.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	for _, e := range leaves(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		out = append(out, fe.Path)
	}
	return out
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	r := WithDefaults(store.Role{Name: "x"}, "")
	if r.Path != "/" || r.MaxSessionDuration != time.Hour || r.ARN != "arn:portcullis:iam::000000000000:role/x" {
		t.Errorf("WithDefaults = %+v", r)
	}
	r = WithDefaults(store.Role{Name: "x", Path: "/a/", MaxSessionDuration: 2 * time.Hour}, "123456789012")
	if r.MaxSessionDuration != 2*time.Hour || r.ARN != "arn:portcullis:iam::123456789012:role/a/x" {
		t.Errorf("WithDefaults kept = %+v", r)
	}
	if AccountOf(r.ARN) != "123456789012" || AccountOf("junk") != DefaultAccount {
		t.Error("AccountOf")
	}
}

func TestValidateRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*store.Role)
		want   []string // field paths, in order
		msg    string   // part of the joined message
	}{
		{"valid", func(*store.Role) {}, nil, ""},
		{"short session", func(r *store.Role) { r.MaxSessionDuration = 14 * time.Minute }, []string{"max_session_duration"}, "max_session_duration: must be between 15m and 12h"},
		{"long session", func(r *store.Role) { r.MaxSessionDuration = 12*time.Hour + time.Second }, []string{"max_session_duration"}, ""},
		{"bounds are inclusive", func(r *store.Role) { r.MaxSessionDuration = 12 * time.Hour }, nil, ""},
		{"fractional seconds", func(r *store.Role) { r.MaxSessionDuration = time.Hour + time.Millisecond }, []string{"max_session_duration"}, ""},
		{"trust refused by the validator", func(r *store.Role) { r.TrustPolicy = json.RawMessage(`{"BAD":1}`) },
			[]string{"trust_policy"}, "trust_policy: Statement[0].Principal: not allowed in trust policies"},
		{"two trust problems", func(r *store.Role) { r.TrustPolicy = json.RawMessage(`{"TWICE":1}`) },
			[]string{"trust_policy", "trust_policy"}, "trust_policy: Statement[1].Action: required"},
		{"trust missing", func(r *store.Role) { r.TrustPolicy = nil }, []string{"trust_policy"}, "is required"},
		{"trust not an object", func(r *store.Role) { r.TrustPolicy = json.RawMessage(`[1]`) }, []string{"trust_policy"}, "JSON object"},
		{"trust not JSON", func(r *store.Role) { r.TrustPolicy = json.RawMessage(`{`) }, []string{"trust_policy"}, "JSON policy document"},
		{"inline refused as identity policy", func(r *store.Role) { r.InlinePolicies["extra"] = json.RawMessage(`{"BAD":1}`) },
			[]string{"inline_policies.extra"}, "not allowed in identity policies"},
		{"inline bad name", func(r *store.Role) { r.InlinePolicies["no spaces"] = json.RawMessage(okDoc) }, []string{"inline_policies.no spaces"}, ""},
		{"name and arn", func(r *store.Role) { r.Name = "bad name" }, []string{"name", "arn"}, ""},
		{"arn out of step", func(r *store.Role) { r.ARN = FormatARN(DefaultAccount, "/", "other") }, []string{"arn"}, "does not end in"},
		{"path", func(r *store.Role) { r.Path = "ci"; r.ARN = FormatARN(DefaultAccount, "/ci/", r.Name) }, []string{"path", "arn"}, ""},
		{"description", func(r *store.Role) { r.Description = "a\nb" }, []string{"description"}, ""},
		{"duplicate policy ignoring case", func(r *store.Role) { r.ManagedPolicies = append(r.ManagedPolicies, "readonly") }, []string{"managed_policies[1]"}, "attached twice"},
		{"bad boundary", func(r *store.Role) { r.PermissionBoundary = "a b" }, []string{"permission_boundary"}, ""},
		{"many problems at once", func(r *store.Role) {
			r.MaxSessionDuration = time.Minute
			r.TrustPolicy = json.RawMessage(`{"BAD":1}`)
			r.ManagedPolicies = []string{""}
		}, []string{"max_session_duration", "trust_policy", "managed_policies[0]"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := validRole()
			r.InlinePolicies = map[string]json.RawMessage{"extra": json.RawMessage(okDoc)}
			tc.change(&r)
			err := ValidateRole(r, fakeValidator{})
			if got := fields(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("fields = %v, want %v (err %v)", got, tc.want, err)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestValidateRoleWithoutValidatorChecksJSONOnly(t *testing.T) {
	t.Parallel()
	r := validRole()
	r.TrustPolicy = json.RawMessage(`{"BAD":1}`)
	if err := ValidateRole(r, nil); err != nil {
		t.Errorf("ValidateRole without validator = %v", err)
	}
	r.TrustPolicy = json.RawMessage(`"x"`)
	if got := fields(t, ValidateRole(r, nil)); !slices.Equal(got, []string{"trust_policy"}) {
		t.Errorf("fields = %v", got)
	}
}

func TestValidatePolicy(t *testing.T) {
	t.Parallel()
	if err := ValidatePolicy("ReadOnly", "reads", []byte(okDoc), fakeValidator{}); err != nil {
		t.Fatalf("valid policy: %v", err)
	}
	got := fields(t, ValidatePolicy("bad name", "x\x00", []byte(`{"BAD":1}`), fakeValidator{}))
	if !slices.Equal(got, []string{"name", "description", "document"}) {
		t.Errorf("fields = %v", got)
	}
	if got := fields(t, ValidatePolicy("p", "", nil, nil)); !slices.Equal(got, []string{"document"}) {
		t.Errorf("fields = %v", got)
	}
}

func TestValidateMapping(t *testing.T) {
	t.Parallel()
	valid := store.RoleMapping{Name: "eng", Source: "local", Match: store.MappingMatch{Group: "eng-*"}, SourceCIDRs: []string{"10.0.0.0/8"}, Roles: []string{"dev"}}
	for _, tc := range []struct {
		name   string
		change func(*store.RoleMapping)
		want   []string
	}{
		{"valid", func(*store.RoleMapping) {}, nil},
		{"claim rule", func(m *store.RoleMapping) { m.Match = store.MappingMatch{Claim: "sub", Value: "*"} }, nil},
		{"no condition", func(m *store.RoleMapping) { m.Match = store.MappingMatch{} }, []string{"match"}},
		{"claim without value", func(m *store.RoleMapping) { m.Match = store.MappingMatch{Claim: "sub"} }, []string{"match.value"}},
		{"value without claim", func(m *store.RoleMapping) { m.Match.Value = "x" }, []string{"match.claim"}},
		{"name and source", func(m *store.RoleMapping) { m.Name, m.Source = "", "a b" }, []string{"name", "source"}},
		{"cidrs", func(m *store.RoleMapping) { m.SourceCIDRs = []string{"10.0.0.1/8", "nope", "::/0"} }, []string{"source_cidrs[0]", "source_cidrs[1]"}},
		{"roles", func(m *store.RoleMapping) { m.Roles = []string{"Dev", "dev", "a:b"} }, []string{"roles[1]", "roles[2]"}},
		{"no roles", func(m *store.RoleMapping) { m.Roles = nil }, []string{"roles"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := valid
			m.SourceCIDRs, m.Roles = slices.Clone(valid.SourceCIDRs), slices.Clone(valid.Roles)
			tc.change(&m)
			if got := fields(t, ValidateMapping(m)); !slices.Equal(got, tc.want) {
				t.Errorf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}
