package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/idp/roles"
	"github.com/portcullis-id/portcullis/store"
)

// createRole posts body with a valid trust policy unless body has one.
func (e *env) createRole(body map[string]any) Role {
	e.t.Helper()
	if _, ok := body["trust_policy"]; !ok {
		body["trust_policy"] = raw(apiTrustDoc)
	}
	r := e.do("POST", "/roles", e.admin, body)
	expect(e.t, r, http.StatusCreated)
	var ro Role
	r.decode(e.t, &ro)
	return ro
}

func TestRolesLifecycle(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	e.createPolicy("ReadOnly", apiReadDoc)

	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"bad name", map[string]any{"name": "a b", "trust_policy": raw(apiTrustDoc)}, "name"},
		{"short session", map[string]any{"name": "r", "trust_policy": raw(apiTrustDoc), "max_session_duration": "10m"}, "max_session_duration"},
		{"no trust policy", map[string]any{"name": "r"}, "trust_policy"},
		{"trust refused by the validator", map[string]any{"name": "r", "trust_policy": raw(apiReadDoc)}, "trust_policy"},
		{"unknown managed policy", map[string]any{"name": "r", "trust_policy": raw(apiTrustDoc), "managed_policies": []string{"ReadOnly", "Nope"}}, "managed_policies[1]"},
		{"unknown boundary", map[string]any{"name": "r", "trust_policy": raw(apiTrustDoc), "permission_boundary": "Nope"}, "permission_boundary"},
		{"inline refused", map[string]any{"name": "r", "trust_policy": raw(apiTrustDoc), "inline_policies": map[string]any{"x": raw(apiTrustDoc)}}, "inline_policies.x"},
		{"bad path", map[string]any{"name": "r", "trust_policy": raw(apiTrustDoc), "path": "ci"}, "path"},
		{"unknown field", map[string]any{"name": "r", "trust": 1}, "trust"},
	} {
		expectField(t, e.do("POST", "/roles", e.admin, tc.body), http.StatusBadRequest, tc.field)
	}
	r := e.do("POST", "/roles", e.admin, map[string]any{"name": "r", "trust_policy": raw(apiReadDoc)})
	if !strings.Contains(string(r.body), "trust_policy: Statement[0].Principal") {
		t.Errorf("statement path missing from %s", r.body)
	}

	ro := e.createRole(map[string]any{"name": "deploy", "path": "/ci/", "managed_policies": []string{"ReadOnly"},
		"inline_policies": map[string]any{"extra": raw(apiWriteDoc)}, "require_mfa": true})
	if ro.ARN != "arn:portcullis:iam::000000000000:role/ci/deploy" || ro.MaxSessionDuration != "1h0m0s" ||
		!ro.RequireMFA || string(ro.InlinePolicies["extra"]) != apiWriteDoc {
		t.Fatalf("created %+v", ro)
	}
	e.do("POST", "/roles", e.admin, map[string]any{"name": "DEPLOY", "trust_policy": raw(apiTrustDoc)})
	expectField(t, e.do("POST", "/roles", e.admin, map[string]any{"name": "DEPLOY", "trust_policy": raw(apiTrustDoc)}), http.StatusConflict, "name")

	// Rename with If-Match: the ARN follows, the account stays.
	expect(t, e.do("PATCH", "/roles/deploy", e.admin, map[string]any{"name": "release"}, "If-Match", `"9"`), http.StatusPreconditionFailed)
	r = e.do("PATCH", "/roles/Deploy", e.admin, map[string]any{"name": "release", "max_session_duration": "2h"}, "If-Match", `"1"`)
	expect(t, r, http.StatusOK)
	r.decode(t, &ro)
	if ro.ARN != roles.FormatARN(roles.DefaultAccount, "/ci/", "release") || ro.MaxSessionDuration != "2h0m0s" || r.header.Get("ETag") != `"2"` {
		t.Fatalf("patched %+v", ro)
	}
	// Whitespace in an unchanged document is not a change.
	r = e.do("PATCH", "/roles/release", e.admin, map[string]any{"trust_policy": raw(strings.ReplaceAll(apiTrustDoc, ",", ", "))})
	expect(t, r, http.StatusOK)
	if r.header.Get("ETag") != `"2"` {
		t.Errorf("no-op patch wrote: ETag %s", r.header.Get("ETag"))
	}
	expectField(t, e.do("PATCH", "/roles/release", e.admin, map[string]any{"max_session_duration": "13h"}), http.StatusBadRequest, "max_session_duration")

	var l list[Role]
	e.do("GET", "/roles", e.admin, nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].Name != "release" {
		t.Fatalf("list %+v", l)
	}
	expect(t, e.do("GET", "/roles/deploy", e.admin, nil), http.StatusNotFound)
	expect(t, e.do("DELETE", "/roles/release", e.admin, nil, "If-Match", `"1"`), http.StatusPreconditionFailed)
	expect(t, e.do("DELETE", "/roles/release", e.admin, nil, "If-Match", `"2"`), http.StatusNoContent)
	expect(t, e.do("GET", "/roles/release", e.admin, nil), http.StatusNotFound)
	for _, a := range []string{"admin.role.create", "admin.role.update", "admin.role.delete"} {
		if e.rec.find(a, "success") == nil || e.rec.find(a, "failure") == nil {
			t.Errorf("%s: success and failure not both audited", a)
		}
	}
}

func TestUserRolesComesFromMappingRules(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	alice := e.createUser("alice")
	e.createUser("bob")
	var g store.Group
	r := e.do("POST", "/groups", e.admin, map[string]any{"display_name": "eng-platform", "members": []string{alice.ID}})
	expect(t, r, http.StatusCreated)
	r.decode(t, &g)
	for _, name := range []string{"developer", "viewer", "admin", "deployer"} {
		e.createRole(map[string]any{"name": name})
	}
	for _, m := range []map[string]any{
		{"name": "eng", "source": "local", "match": map[string]any{"group": "ENG-*"}, "roles": []string{"developer", "viewer"}},
		{"name": "everyone", "source": "*", "match": map[string]any{"group": "*"}, "roles": []string{"viewer"}},
		{"name": "eng-mfa", "source": "local", "match": map[string]any{"group": "eng-*"}, "require_mfa": true, "roles": []string{"admin"}},
		{"name": "github", "source": "github", "match": map[string]any{"group": "*"}, "roles": []string{"deployer"}},
	} {
		expect(t, e.do("POST", "/role-mappings", e.admin, m), http.StatusCreated)
	}
	var got UserRoles
	r = e.do("GET", "/users/"+alice.ID+"/roles", e.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &got)
	want := []roles.Grant{{Role: "developer", Rule: "eng"}, {Role: "viewer", Rule: "eng"}, {Role: "viewer", Rule: "everyone"}}
	if got.Source != "local" || !slices.Equal(got.Items, want) {
		t.Errorf("alice's roles = %+v, want %v", got, want)
	}
	bob, err := e.st.GetUserByName(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/users/"+bob.ID+"/roles", e.admin, nil).decode(t, &got)
	if len(got.Items) != 0 || got.Items == nil {
		t.Errorf("bob (no groups) roles = %#v, want an empty list", got.Items)
	}
	expect(t, e.do("GET", "/users/ghost/roles", e.admin, nil), http.StatusNotFound)
	expect(t, e.do("GET", "/users/"+alice.ID+"/roles", "", nil), http.StatusUnauthorized)
}
