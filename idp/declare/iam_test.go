package declare

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// fakePolicies refuses trust documents without a Principal and identity documents
// with one, naming the statement like idp/policy.
type fakePolicies struct{}

func (fakePolicies) ValidateIdentity(doc []byte) error {
	if strings.Contains(string(doc), `"Principal"`) {
		return errors.New("Statement[0].Principal: not allowed in an identity policy")
	}
	return nil
}

func (fakePolicies) ValidateTrust(doc []byte) error {
	if !strings.Contains(string(doc), `"Principal"`) {
		return errors.New("Statement[0].Principal: required in a trust policy")
	}
	return nil
}

func newIAMReconciler(t *testing.T) (*Reconciler, store.Store) {
	t.Helper()
	r, st, _ := newTestReconciler(t)
	return r.WithPolicies(fakePolicies{}, "123456789012"), st
}

func TestApplyIAMCreatesThenLeavesAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st := newIAMReconciler(t)
	docs := mustParse(t, mustRead(t, "testdata/iam.yaml"))
	res, err := r.Apply(ctx, docs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "create policy ReadOnly", "create policy Boundary", "create role deploy", "create role_mapping eng-deployers")

	role, err := st.GetRoleByName(ctx, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if role.ARN != "arn:portcullis:iam::123456789012:role/ci/deploy" || role.Source != SourceDeclarative ||
		role.MaxSessionDuration != 2*time.Hour || role.PermissionBoundary != "Boundary" ||
		!strings.Contains(string(role.TrustPolicy), `"Federated":"token.actions.githubusercontent.com"`) ||
		!strings.Contains(string(role.InlinePolicies["extra"]), "s3:PutObject") {
		t.Fatalf("role = %+v", role)
	}
	m, err := st.GetRoleMappingByName(ctx, "eng-deployers")
	if err != nil {
		t.Fatal(err)
	}
	if m.ManagedBy != SourceDeclarative || m.Source != "local" || m.Match.Group != "eng-*" || !m.RequireMFA {
		t.Fatalf("mapping = %+v", m)
	}

	// YAML documents and JSON strings compare by content: nothing to do the second time.
	res, err = r.Apply(ctx, mustParse(t, mustRead(t, "testdata/iam.yaml")), Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() {
		t.Fatalf("second apply changed things:\n%s", res.Table())
	}
}

func TestApplyPolicyChangeIsANewVersionAndRevertRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st := newIAMReconciler(t)
	v1 := mustRead(t, "testdata/iam.yaml")
	if _, err := r.Apply(ctx, mustParse(t, v1), Options{}); err != nil {
		t.Fatal(err)
	}
	v2 := strings.Replace(v1, `Action: ["s3:Get*", "s3:List*"]`, `Action: ["s3:Get*"]`, 1)
	res, err := r.Apply(ctx, mustParse(t, v2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "update policy ReadOnly (document)", "unchanged policy Boundary", "unchanged role deploy", "unchanged role_mapping eng-deployers")
	p, _ := st.GetManagedPolicy(ctx, "ReadOnly")
	if p.DefaultVersion != 2 || len(p.Versions) != 2 {
		t.Fatalf("after change: %+v", p)
	}
	// Reverting the file makes the kept version 1 the default again.
	res, err = r.Apply(ctx, mustParse(t, v1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ = st.GetManagedPolicy(ctx, "ReadOnly")
	if p.DefaultVersion != 1 || len(p.Versions) != 2 || !res.Changed() {
		t.Fatalf("after revert: %+v", p)
	}
}

func TestApplyIAMPrunesOnlyDeclarative(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st := newIAMReconciler(t)
	if _, err := r.Apply(ctx, mustParse(t, mustRead(t, "testdata/iam.yaml")), Options{}); err != nil {
		t.Fatal(err)
	}
	// An administrator's own role and rule are never pruned.
	if _, err := st.CreateRole(ctx, store.Role{Name: "manual", ARN: "arn:portcullis:iam::123456789012:role/manual"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRoleMapping(ctx, store.RoleMapping{Name: "manual", Source: "local", Roles: []string{"manual"}}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Apply(ctx, mustParse(t, "policies:\n  - name: Boundary\n    document: '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}'\n"), Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "unchanged policy Boundary", "delete role_mapping eng-deployers", "delete role deploy", "delete policy ReadOnly")
	if _, err := st.GetRoleByName(ctx, "manual"); err != nil {
		t.Errorf("manual role pruned: %v", err)
	}
	if _, err := st.GetRoleMappingByName(ctx, "manual"); err != nil {
		t.Errorf("manual mapping pruned: %v", err)
	}
}

func TestApplyIAMErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	r, st := newIAMReconciler(t)
	for _, tc := range []struct {
		name, src, want string
	}{
		{"session too short", "roles:\n  - name: r\n    trust_policy: {Principal: x}\n    max_session_duration: 1m\n",
			"test.yaml:4: roles[0].max_session_duration: must be between 15m and 12h"},
		{"trust refused", "roles:\n  - name: r\n    trust_policy: {Statement: []}\n",
			"test.yaml:3: roles[0].trust_policy: Statement[0].Principal: required in a trust policy"},
		{"unknown policy", "roles:\n  - name: r\n    trust_policy: {Principal: x}\n    managed_policies: [Nope]\n",
			"test.yaml:4: roles[0].managed_policies[0]: no managed policy named \"Nope\""},
		{"unknown role", "role_mappings:\n  - name: m\n    source: local\n    match: {group: g}\n    roles: [ghost]\n",
			"test.yaml:5: role_mappings[0].roles[0]: no role named \"ghost\""},
		{"mapping without match", "role_mappings:\n  - name: m\n    source: local\n    roles: [r]\n",
			"role_mappings[0].match: needs a group or a claim"},
		{"duplicate policy", "policies:\n  - name: P\n    document: {}\n  - name: p\n    document: {}\n",
			"test.yaml:4: policies[1].name: duplicate policy name"},
		{"policy as a list", "policies:\n  - name: P\n    document: [1]\n",
			"policies[0].document: must be a policy document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			docs, err := Parse([]byte(tc.src), "test.yaml")
			if err == nil {
				_, err = r.Apply(context.Background(), docs, Options{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if rs, _ := st.ListRoles(context.Background()); len(rs) != 0 {
		t.Errorf("failed applies left roles: %+v", rs)
	}
}
