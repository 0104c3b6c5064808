package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func (e *env) createUser(name string) store.User {
	e.t.Helper()
	var u store.User
	r := e.do("POST", "/users", e.admin, map[string]any{"user_name": name})
	expect(e.t, r, http.StatusCreated)
	r.decode(e.t, &u)
	return u
}

func TestGroupsLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.createUser("alice"), e.createUser("bob")

	expectField(t, e.do("POST", "/groups", e.admin, map[string]any{"display_name": "eng", "members": []string{alice.ID, "ghost"}}), http.StatusBadRequest, "members[1]")
	expectField(t, e.do("POST", "/groups", e.admin, map[string]any{"display_name": " "}), http.StatusBadRequest, "display_name")

	r := e.do("POST", "/groups", e.admin, map[string]any{"display_name": "eng", "members": []string{alice.ID}})
	expect(t, r, http.StatusCreated)
	var g store.Group
	r.decode(t, &g)
	if g.Source != SourceLocal || !slices.Equal(g.Members, []string{alice.ID}) || r.header.Get("ETag") != `"1"` {
		t.Fatalf("group %+v", g)
	}
	expectField(t, e.do("POST", "/groups", e.admin, map[string]any{"display_name": "ENG"}), http.StatusConflict, "display_name")

	var l list[store.Group]
	e.do("GET", "/groups?name=Eng", e.admin, nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != g.ID {
		t.Fatalf("name filter: %+v", l)
	}

	expect(t, e.do("PUT", "/groups/"+g.ID+"/members/"+bob.ID, e.admin, nil), http.StatusNoContent)
	expect(t, e.do("PUT", "/groups/"+g.ID+"/members/ghost", e.admin, nil), http.StatusNotFound)
	e.do("GET", "/groups/"+g.ID, e.admin, nil).decode(t, &g)
	if len(g.Members) != 2 {
		t.Fatalf("members %v", g.Members)
	}
	expect(t, e.do("DELETE", "/groups/"+g.ID+"/members/"+alice.ID, e.admin, nil), http.StatusNoContent)

	r = e.do("GET", "/groups/"+g.ID, e.admin, nil)
	r.decode(t, &g)
	etag := r.header.Get("ETag")
	if !slices.Equal(g.Members, []string{bob.ID}) {
		t.Fatalf("members %v", g.Members)
	}
	expect(t, e.do("PATCH", "/groups/"+g.ID, e.admin, map[string]any{"display_name": "x"}, "If-Match", `"1"`), http.StatusPreconditionFailed)
	r = e.do("PATCH", "/groups/"+g.ID, e.admin, map[string]any{"display_name": "engineering", "members": []string{}}, "If-Match", etag)
	expect(t, r, http.StatusOK)
	r.decode(t, &g)
	if g.DisplayName != "engineering" || len(g.Members) != 0 {
		t.Fatalf("patched %+v", g)
	}
	expect(t, e.do("DELETE", "/groups/"+g.ID, e.admin, nil), http.StatusNoContent)
	expect(t, e.do("GET", "/groups/"+g.ID, e.admin, nil), http.StatusNotFound)
	for _, a := range []string{"admin.group.create", "admin.group.member.add", "admin.group.member.remove", "admin.group.update", "admin.group.delete"} {
		if e.rec.find(a, "success") == nil {
			t.Errorf("%s not audited", a)
		}
	}
}
