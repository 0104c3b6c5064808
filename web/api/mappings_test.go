package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func TestRoleMappingsLifecycle(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	e.createRole(map[string]any{"name": "dev"})
	e.createRole(map[string]any{"name": "ops"})

	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no match", map[string]any{"name": "m", "source": "local", "roles": []string{"dev"}}, "match"},
		{"claim without value", map[string]any{"name": "m", "source": "local", "match": map[string]any{"claim": "sub"}, "roles": []string{"dev"}}, "match.value"},
		{"unknown role", map[string]any{"name": "m", "source": "local", "match": map[string]any{"group": "g"}, "roles": []string{"dev", "nope"}}, "roles[1]"},
		{"bad cidr", map[string]any{"name": "m", "source": "local", "match": map[string]any{"group": "g"}, "source_cidrs": []string{"10.0.0.1/8"}, "roles": []string{"dev"}}, "source_cidrs[0]"},
		{"no source", map[string]any{"name": "m", "match": map[string]any{"group": "g"}, "roles": []string{"dev"}}, "source"},
		{"unknown match key", map[string]any{"name": "m", "source": "local", "match": map[string]any{"grp": "g"}, "roles": []string{"dev"}}, "grp"},
	} {
		expectField(t, e.do("POST", "/role-mappings", e.admin, tc.body), http.StatusBadRequest, tc.field)
	}
	r := e.do("POST", "/role-mappings", e.admin, map[string]any{"name": "eng", "source": "okta",
		"match": map[string]any{"group": "eng-*"}, "source_cidrs": []string{"10.0.0.0/8"}, "roles": []string{"dev"}})
	expect(t, r, http.StatusCreated)
	var m store.RoleMapping
	r.decode(t, &m)
	if m.ID == "" || m.Source != "okta" || m.Match.Group != "eng-*" || r.header.Get("Location") != Prefix+"/role-mappings/"+m.ID {
		t.Fatalf("created %+v", m)
	}
	expectField(t, e.do("POST", "/role-mappings", e.admin, map[string]any{"name": "ENG", "source": "okta",
		"match": map[string]any{"group": "x"}, "roles": []string{"dev"}}), http.StatusConflict, "name")

	var l list[store.RoleMapping]
	e.do("GET", "/role-mappings?name=Eng", e.admin, nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != m.ID {
		t.Fatalf("name filter %+v", l)
	}
	expect(t, e.do("PATCH", "/role-mappings/"+m.ID, e.admin, map[string]any{"roles": []string{"ops"}}, "If-Match", `"2"`), http.StatusPreconditionFailed)
	r = e.do("PATCH", "/role-mappings/"+m.ID, e.admin, map[string]any{"roles": []string{"ops", "dev"}, "require_mfa": true}, "If-Match", `"1"`)
	expect(t, r, http.StatusOK)
	r.decode(t, &m)
	if !slices.Equal(m.Roles, []string{"ops", "dev"}) || !m.RequireMFA || m.Version != 2 {
		t.Fatalf("patched %+v", m)
	}
	expectField(t, e.do("PATCH", "/role-mappings/"+m.ID, e.admin, map[string]any{"roles": []string{}}), http.StatusBadRequest, "roles")
	expect(t, e.do("DELETE", "/role-mappings/"+m.ID, e.admin, nil), http.StatusNoContent)
	expect(t, e.do("GET", "/role-mappings/"+m.ID, e.admin, nil), http.StatusNotFound)
	for _, a := range []string{"admin.role_mapping.create", "admin.role_mapping.update", "admin.role_mapping.delete"} {
		if e.rec.find(a, "success") == nil {
			t.Errorf("%s not audited", a)
		}
	}
}
