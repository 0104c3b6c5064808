package storetest

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

func roleTests() []test {
	return []test{
		{"CRUD", testRoleCRUD},
		{"DuplicateIDNameOrARNIsAlreadyExists", testRoleUniqueness},
		{"StaleVersionIsConflict", testRoleStaleVersion},
		{"UnknownPolicyIsNotFound", testRoleUnknownPolicy},
	}
}

func managedPolicyTests() []test {
	return []test{
		{"CRUD", testPolicyCRUD},
		{"KeepsFiveVersionsAndTheDefault", testPolicyVersionLimit},
		{"SetDefaultRollsBack", testPolicyRollback},
		{"StaleVersionIsConflict", testPolicyStaleVersion},
		{"DeleteRefusedWhileInUse", testPolicyDeleteInUse},
	}
}

func roleMappingTests() []test {
	return []test{
		{"CRUD", testMappingCRUD},
		{"DuplicateNameIsAlreadyExists", testMappingUniqueness},
		{"AtomicFailureLeavesNothing", testIAMAtomicRollback},
	}
}

const (
	trustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"gh"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	readDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`
)

// policyDoc is a distinct document per n.
func policyDoc(n int) []byte {
	return fmt.Appendf(nil, `{"Version":"2012-10-17","Statement":[{"Sid":"S%d","Effect":"Allow","Action":"a:b","Resource":"*"}]}`, n)
}

func testARN(name string) string {
	return "arn:portcullis:iam::000000000000:role/" + name
}

func mkPolicy(t *testing.T, s store.Store, name string) store.ManagedPolicy {
	t.Helper()
	return ok[store.ManagedPolicy](t, "create policy "+name)(s.CreateManagedPolicy(t.Context(), store.ManagedPolicy{
		Name: name, Versions: []store.PolicyVersion{{Document: json.RawMessage(readDoc)}},
	}))
}

func mkRole(t *testing.T, s store.Store, name string, policies ...string) store.Role {
	t.Helper()
	return ok[store.Role](t, "create role "+name)(s.CreateRole(t.Context(), store.Role{
		Name: name, ARN: testARN(name), Path: "/", TrustPolicy: json.RawMessage(trustDoc), ManagedPolicies: policies,
	}))
}

func testRoleCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkPolicy(t, s, "ReadOnly")
	mkPolicy(t, s, "Boundary")
	in := store.Role{
		Name:               "Deploy",
		ARN:                "arn:portcullis:iam::000000000000:role/ci/Deploy",
		Path:               "/ci/",
		Description:        "deploys from CI",
		TrustPolicy:        json.RawMessage("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}"),
		ManagedPolicies:    []string{"ReadOnly"},
		InlinePolicies:     map[string]json.RawMessage{"inline": json.RawMessage(readDoc)},
		PermissionBoundary: "boundary", // policy names compare case-insensitively
		MaxSessionDuration: 2 * time.Hour,
		RequireMFA:         true,
		Source:             "declarative",
	}
	r := ok[store.Role](t, "create")(s.CreateRole(ctx, in))
	if r.ID == "" || r.Version != 1 || r.CreatedAt.IsZero() {
		t.Fatalf("create = %+v, want an ID, Version 1 and timestamps", r)
	}
	// Documents are kept compacted, so what create returns is what a read decodes.
	if string(r.TrustPolicy) != `{"Version":"2012-10-17","Statement":[]}` {
		t.Errorf("trust policy = %s, want it compacted", r.TrustPolicy)
	}
	for what, get := range map[string]func() (store.Role, error){
		"by id":   func() (store.Role, error) { return s.GetRole(ctx, r.ID) },
		"by name": func() (store.Role, error) { return s.GetRoleByName(ctx, "DEPLOY") },
		"by arn":  func() (store.Role, error) { return s.GetRoleByARN(ctx, in.ARN) },
	} {
		got := ok[store.Role](t, "get "+what)(get())
		if got.ID != r.ID || got.Name != "Deploy" || got.Path != "/ci/" || got.Description != in.Description ||
			string(got.TrustPolicy) != string(r.TrustPolicy) || !slices.Equal(got.ManagedPolicies, in.ManagedPolicies) ||
			string(got.InlinePolicies["inline"]) != readDoc || got.PermissionBoundary != "boundary" ||
			got.MaxSessionDuration != 2*time.Hour || !got.RequireMFA || got.Source != "declarative" || got.Version != 1 {
			t.Errorf("get %s = %+v, want the created role", what, got)
		}
	}
	_, err := s.GetRoleByARN(ctx, strings.ToLower(in.ARN))
	wantErr(t, "ARNs compare exactly", err, store.ErrNotFound)
	mkRole(t, s, "alpha")
	names := func() []string {
		var out []string
		for _, r := range ok[[]store.Role](t, "list")(s.ListRoles(ctx)) {
			out = append(out, r.Name)
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"alpha", "Deploy"}) {
		t.Errorf("list = %v, want sorted by name", got)
	}

	r.Name, r.ARN, r.ManagedPolicies = "Release", testARN("Release"), nil
	upd := ok[store.Role](t, "rename")(s.UpdateRole(ctx, r))
	if upd.Version != 2 || !upd.UpdatedAt.After(r.UpdatedAt) {
		t.Errorf("update: Version %d UpdatedAt %s, want 2 and later than %s", upd.Version, upd.UpdatedAt, r.UpdatedAt)
	}
	_, err = s.GetRoleByName(ctx, "Deploy")
	wantErr(t, "old name after rename", err, store.ErrNotFound)
	_, err = s.GetRoleByARN(ctx, in.ARN)
	wantErr(t, "old arn after rename", err, store.ErrNotFound)
	if got := ok[store.Role](t, "get by new arn")(s.GetRoleByARN(ctx, testARN("Release"))); got.ID != r.ID || len(got.ManagedPolicies) != 0 {
		t.Errorf("get by new arn = %+v", got)
	}
	mkRole(t, s, "Deploy") // the old name and ARN are free again

	noErr(t, "delete", s.DeleteRole(ctx, r.ID))
	_, err = s.GetRole(ctx, r.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	_, err = s.GetRoleByName(ctx, "Release")
	wantErr(t, "get deleted by name", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteRole(ctx, r.ID), store.ErrNotFound)
	_, err = s.UpdateRole(ctx, upd)
	wantErr(t, "update deleted", err, store.ErrNotFound)
	if got := names(); !slices.Equal(got, []string{"alpha", "Deploy"}) {
		t.Errorf("list after delete = %v", got)
	}
}

func testRoleUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := ok[store.Role](t, "create")(s.CreateRole(ctx, store.Role{ID: "role-a", Name: "Admin", ARN: testARN("Admin")}))
	for _, tc := range []struct {
		name string
		r    store.Role
	}{
		{"same id", store.Role{ID: "role-a", Name: "other", ARN: testARN("other")}},
		{"same name in another case", store.Role{Name: "ADMIN", ARN: testARN("x/ADMIN")}},
		{"same arn", store.Role{Name: "admin2", ARN: a.ARN}},
	} {
		_, err := s.CreateRole(ctx, tc.r)
		wantErr(t, "create with "+tc.name, err, store.ErrAlreadyExists)
	}
	b := mkRole(t, s, "builder")
	for _, tc := range []struct{ name, roleName, arn string }{
		{"taken name", "admin", testARN("admin-renamed")},
		{"taken arn", "builder2", a.ARN},
	} {
		next := b
		next.Name, next.ARN = tc.roleName, tc.arn
		_, err := s.UpdateRole(ctx, next)
		wantErr(t, "update to "+tc.name, err, store.ErrAlreadyExists)
	}
	if got := ok[store.Role](t, "get after refused updates")(s.GetRole(ctx, b.ID)); got.Name != "builder" || got.ARN != b.ARN || got.Version != 1 {
		t.Errorf("refused updates changed the role: %+v", got)
	}
	// The refused updates left the indexes alone: builder's own keys still resolve.
	if got := ok[store.Role](t, "by name")(s.GetRoleByName(ctx, "builder")); got.ID != b.ID {
		t.Errorf("builder by name = %s", got.ID)
	}
	if got := ok[store.Role](t, "by arn")(s.GetRoleByARN(ctx, a.ARN)); got.ID != a.ID {
		t.Errorf("admin arn resolves to %s", got.ID)
	}
}

func testRoleStaleVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := mkRole(t, s, "r")
	first := r
	first.Description = "first"
	ok[store.Role](t, "first update")(s.UpdateRole(ctx, first))
	r.Description = "second"
	_, err := s.UpdateRole(ctx, r)
	wantErr(t, "stale update", err, store.ErrConflict)
	if got := ok[store.Role](t, "get")(s.GetRole(ctx, r.ID)); got.Description != "first" || got.Version != 2 {
		t.Errorf("after stale update = %+v", got)
	}
}

func testRoleUnknownPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreateRole(ctx, store.Role{Name: "r", ARN: testARN("r"), ManagedPolicies: []string{"missing"}})
	wantErr(t, "attach unknown policy", err, store.ErrNotFound)
	_, err = s.CreateRole(ctx, store.Role{Name: "r", ARN: testARN("r"), PermissionBoundary: "missing"})
	wantErr(t, "unknown boundary", err, store.ErrNotFound)
	r := mkRole(t, s, "r")
	r.ManagedPolicies = []string{"missing"}
	_, err = s.UpdateRole(ctx, r)
	wantErr(t, "update to unknown policy", err, store.ErrNotFound)
}

func testPolicyCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := ok[store.ManagedPolicy](t, "create")(s.CreateManagedPolicy(ctx, store.ManagedPolicy{
		Name: "ReadOnly", Description: "reads", Source: "declarative",
		Versions: []store.PolicyVersion{{Version: 9, Document: json.RawMessage("{ \"Version\": \"2012-10-17\" }")}},
	}))
	if p.Version != 1 || p.DefaultVersion != 1 || len(p.Versions) != 1 || p.Versions[0].Version != 1 ||
		string(p.Versions[0].Document) != `{"Version":"2012-10-17"}` || p.Versions[0].CreatedAt.IsZero() {
		t.Fatalf("create = %+v, want version 1 as default, compacted", p)
	}
	got := ok[store.ManagedPolicy](t, "get ignoring case")(s.GetManagedPolicy(ctx, "readonly"))
	if got.Name != "ReadOnly" || got.Description != "reads" || got.Source != "declarative" {
		t.Errorf("get = %+v", got)
	}
	if d, found := got.Default(); !found || d.Version != 1 {
		t.Errorf("Default() = %+v, %v", d, found)
	}
	_, err := s.CreateManagedPolicy(ctx, store.ManagedPolicy{Name: "READONLY", Versions: []store.PolicyVersion{{Document: json.RawMessage(readDoc)}}})
	wantErr(t, "create same name", err, store.ErrAlreadyExists)
	_, err = s.CreateManagedPolicy(ctx, store.ManagedPolicy{Name: "empty"})
	if err == nil {
		t.Error("create without a document succeeded")
	}
	mkPolicy(t, s, "Admin")
	var names []string
	for _, p := range ok[[]store.ManagedPolicy](t, "list")(s.ListManagedPolicies(ctx)) {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"Admin", "ReadOnly"}) {
		t.Errorf("list = %v", names)
	}
	got.Description = "read only"
	got.DefaultVersion = 7 // not changed by UpdateManagedPolicy
	upd := ok[store.ManagedPolicy](t, "update")(s.UpdateManagedPolicy(ctx, got))
	if upd.Version != 2 || upd.Description != "read only" || upd.DefaultVersion != 1 || len(upd.Versions) != 1 {
		t.Errorf("update = %+v", upd)
	}
	noErr(t, "delete", s.DeleteManagedPolicy(ctx, "READONLY"))
	_, err = s.GetManagedPolicy(ctx, "ReadOnly")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteManagedPolicy(ctx, "ReadOnly"), store.ErrNotFound)
	_, err = s.CreatePolicyVersion(ctx, "ReadOnly", 0, policyDoc(1), true)
	wantErr(t, "version of deleted", err, store.ErrNotFound)
}

func versionsOf(p store.ManagedPolicy) []int {
	var out []int
	for _, v := range p.Versions {
		out = append(out, v.Version)
	}
	return out
}

func testPolicyVersionLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkPolicy(t, s, "p")
	var p store.ManagedPolicy
	for n := 2; n <= 5; n++ {
		p = ok[store.ManagedPolicy](t, "new version")(s.CreatePolicyVersion(ctx, "p", 0, policyDoc(n), false))
	}
	if !slices.Equal(versionsOf(p), []int{1, 2, 3, 4, 5}) || p.DefaultVersion != 1 {
		t.Fatalf("versions %v default %d", versionsOf(p), p.DefaultVersion)
	}
	// A sixth drops the oldest version that is not the default: v1 is, so v2 goes.
	p = ok[store.ManagedPolicy](t, "sixth")(s.CreatePolicyVersion(ctx, "p", 0, policyDoc(6), false))
	if !slices.Equal(versionsOf(p), []int{1, 3, 4, 5, 6}) || p.DefaultVersion != 1 {
		t.Fatalf("after sixth: versions %v default %d", versionsOf(p), p.DefaultVersion)
	}
	// The seventh becomes the default, so v1 is no longer kept for being one.
	p = ok[store.ManagedPolicy](t, "seventh")(s.CreatePolicyVersion(ctx, "p", 0, policyDoc(7), true))
	if !slices.Equal(versionsOf(p), []int{3, 4, 5, 6, 7}) || p.DefaultVersion != 7 {
		t.Fatalf("after seventh: versions %v default %d", versionsOf(p), p.DefaultVersion)
	}
	got := ok[store.ManagedPolicy](t, "get")(s.GetManagedPolicy(ctx, "p"))
	if d, _ := got.Default(); string(d.Document) != string(policyDoc(7)) {
		t.Errorf("default document = %s", d.Document)
	}
	_, err := s.CreatePolicyVersion(ctx, "p", 0, []byte("{not json"), false)
	if err == nil {
		t.Error("a version that is not JSON was stored")
	}
}

func testPolicyRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkPolicy(t, s, "p")
	p := ok[store.ManagedPolicy](t, "v2")(s.CreatePolicyVersion(ctx, "p", 0, policyDoc(2), true))
	p = ok[store.ManagedPolicy](t, "rollback")(s.SetDefaultPolicyVersion(ctx, "P", p.Version, 1))
	if p.DefaultVersion != 1 || p.Version != 3 {
		t.Errorf("after rollback: default %d Version %d, want 1 and 3", p.DefaultVersion, p.Version)
	}
	if d, _ := ok[store.ManagedPolicy](t, "get")(s.GetManagedPolicy(ctx, "p")).Default(); string(d.Document) != readDoc {
		t.Errorf("default document after rollback = %s", d.Document)
	}
	same := ok[store.ManagedPolicy](t, "already default")(s.SetDefaultPolicyVersion(ctx, "p", 0, 1))
	if same.Version != 3 {
		t.Errorf("setting the current default wrote: Version %d", same.Version)
	}
	_, err := s.SetDefaultPolicyVersion(ctx, "p", 0, 9)
	wantErr(t, "unknown version", err, store.ErrNotFound)
	_, err = s.SetDefaultPolicyVersion(ctx, "missing", 0, 1)
	wantErr(t, "unknown policy", err, store.ErrNotFound)
}

func testPolicyStaleVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := mkPolicy(t, s, "p")
	ok[store.ManagedPolicy](t, "v2")(s.CreatePolicyVersion(ctx, "p", p.Version, policyDoc(2), true))
	_, err := s.CreatePolicyVersion(ctx, "p", p.Version, policyDoc(3), true)
	wantErr(t, "stale create version", err, store.ErrConflict)
	_, err = s.SetDefaultPolicyVersion(ctx, "p", p.Version, 1)
	wantErr(t, "stale set default", err, store.ErrConflict)
	p.Description = "x"
	_, err = s.UpdateManagedPolicy(ctx, p)
	wantErr(t, "stale update", err, store.ErrConflict)
	if got := ok[store.ManagedPolicy](t, "get")(s.GetManagedPolicy(ctx, "p")); got.DefaultVersion != 2 || len(got.Versions) != 2 || got.Description != "" {
		t.Errorf("after stale writes = %+v", got)
	}
}

func testPolicyDeleteInUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkPolicy(t, s, "attached")
	mkPolicy(t, s, "boundary")
	r := mkRole(t, s, "deployer", "attached")
	r.PermissionBoundary = "BOUNDARY"
	r = ok[store.Role](t, "set boundary")(s.UpdateRole(ctx, r))
	for _, name := range []string{"Attached", "boundary"} {
		err := s.DeleteManagedPolicy(ctx, name)
		wantErr(t, "delete "+name+" in use", err, store.ErrConflict)
		if !strings.Contains(err.Error(), "deployer") {
			t.Errorf("delete %s: error %q does not name the role", name, err)
		}
		ok[store.ManagedPolicy](t, "still there")(s.GetManagedPolicy(ctx, name))
	}
	r.ManagedPolicies, r.PermissionBoundary = nil, ""
	ok[store.Role](t, "detach")(s.UpdateRole(ctx, r))
	noErr(t, "delete detached", s.DeleteManagedPolicy(ctx, "attached"))
	noErr(t, "delete former boundary", s.DeleteManagedPolicy(ctx, "boundary"))
}

func testMappingCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := store.RoleMapping{
		Name:        "eng-admins",
		Source:      "github",
		Match:       store.MappingMatch{Group: "eng-*", Claim: "org", Value: "acme"},
		RequireMFA:  true,
		SourceCIDRs: []string{"10.0.0.0/8"},
		Roles:       []string{"admin", "deploy"},
		ManagedBy:   "declarative",
	}
	m := ok[store.RoleMapping](t, "create")(s.CreateRoleMapping(ctx, in))
	if m.ID == "" || m.Version != 1 {
		t.Fatalf("create = %+v", m)
	}
	for what, get := range map[string]func() (store.RoleMapping, error){
		"by id":   func() (store.RoleMapping, error) { return s.GetRoleMapping(ctx, m.ID) },
		"by name": func() (store.RoleMapping, error) { return s.GetRoleMappingByName(ctx, "ENG-admins") },
	} {
		got := ok[store.RoleMapping](t, "get "+what)(get())
		if got.ID != m.ID || got.Name != in.Name || got.Source != "github" || got.Match != in.Match || !got.RequireMFA ||
			!slices.Equal(got.SourceCIDRs, in.SourceCIDRs) || !slices.Equal(got.Roles, in.Roles) || got.ManagedBy != "declarative" {
			t.Errorf("get %s = %+v", what, got)
		}
	}
	ok[store.RoleMapping](t, "second")(s.CreateRoleMapping(ctx, store.RoleMapping{Name: "all-users", Source: "*", Match: store.MappingMatch{Group: "*"}, Roles: []string{"viewer"}}))
	var names []string
	for _, x := range ok[[]store.RoleMapping](t, "list")(s.ListRoleMappings(ctx)) {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"all-users", "eng-admins"}) {
		t.Errorf("list = %v", names)
	}
	m.Name, m.Roles = "platform-admins", []string{"admin"}
	upd := ok[store.RoleMapping](t, "update")(s.UpdateRoleMapping(ctx, m))
	if upd.Version != 2 {
		t.Errorf("update Version = %d", upd.Version)
	}
	_, err := s.GetRoleMappingByName(ctx, "eng-admins")
	wantErr(t, "old name", err, store.ErrNotFound)
	_, err = s.UpdateRoleMapping(ctx, m)
	wantErr(t, "stale update", err, store.ErrConflict)
	noErr(t, "delete", s.DeleteRoleMapping(ctx, m.ID))
	_, err = s.GetRoleMapping(ctx, m.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	_, err = s.GetRoleMappingByName(ctx, "platform-admins")
	wantErr(t, "get deleted by name", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteRoleMapping(ctx, m.ID), store.ErrNotFound)
}

func testMappingUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := ok[store.RoleMapping](t, "create")(s.CreateRoleMapping(ctx, store.RoleMapping{ID: "m-a", Name: "Rule", Source: "local", Roles: []string{"r"}}))
	_, err := s.CreateRoleMapping(ctx, store.RoleMapping{ID: "m-a", Name: "other", Source: "local"})
	wantErr(t, "same id", err, store.ErrAlreadyExists)
	_, err = s.CreateRoleMapping(ctx, store.RoleMapping{Name: "RULE", Source: "local"})
	wantErr(t, "same name in another case", err, store.ErrAlreadyExists)
	b := ok[store.RoleMapping](t, "create b")(s.CreateRoleMapping(ctx, store.RoleMapping{Name: "b", Source: "local"}))
	b.Name = "rule"
	_, err = s.UpdateRoleMapping(ctx, b)
	wantErr(t, "rename to taken", err, store.ErrAlreadyExists)
	if got := ok[store.RoleMapping](t, "by name")(s.GetRoleMappingByName(ctx, "rule")); got.ID != a.ID {
		t.Errorf("rule resolves to %s", got.ID)
	}
}

func testIAMAtomicRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.Atomic(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateManagedPolicy(ctx, store.ManagedPolicy{Name: "p", Versions: []store.PolicyVersion{{Document: json.RawMessage(readDoc)}}}); err != nil {
			return err
		}
		if _, err := tx.CreateRole(ctx, store.Role{Name: "r", ARN: testARN("r"), ManagedPolicies: []string{"p"}}); err != nil {
			return err
		}
		if _, err := tx.CreateRoleMapping(ctx, store.RoleMapping{Name: "m", Source: "local", Roles: []string{"r"}}); err != nil {
			return err
		}
		// Inside the transaction the policy is in use.
		if err := tx.DeleteManagedPolicy(ctx, "p"); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("delete attached policy inside Atomic: %v", err)
		}
		return errHalfway
	})
	wantErr(t, "Atomic", err, errHalfway)
	_, err = s.GetManagedPolicy(ctx, "p")
	wantErr(t, "policy after rollback", err, store.ErrNotFound)
	_, err = s.GetRoleByName(ctx, "r")
	wantErr(t, "role after rollback", err, store.ErrNotFound)
	_, err = s.GetRoleByARN(ctx, testARN("r"))
	wantErr(t, "role by arn after rollback", err, store.ErrNotFound)
	_, err = s.GetRoleMappingByName(ctx, "m")
	wantErr(t, "mapping after rollback", err, store.ErrNotFound)
}
