package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func TestUsersLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	r := e.do("POST", "/users", e.admin, map[string]any{
		"user_name": "alice", "display_name": "Alice", "emails": []string{"alice@example.com"},
		"roles": []string{"admin"}, "password": "a-long-enough-password", "must_change_password": true,
	})
	expect(t, r, http.StatusCreated)
	var u store.User
	r.decode(t, &u)
	if u.ID == "" || !u.Active || u.Source != SourceLocal || r.header.Get("ETag") != `"1"` || r.header.Get("Location") != Prefix+"/users/"+u.ID {
		t.Fatalf("created %+v, etag %q", u, r.header.Get("ETag"))
	}
	if strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "a-long-enough-password") {
		t.Fatal("response leaks the password or its hash")
	}
	cred, err := e.st.GetCredential(ctx, u.ID, store.CredentialPassword, "password")
	if err != nil || !cred.MustChange {
		t.Fatalf("password not set: %v %+v", err, cred)
	}
	ev := e.rec.find("admin.user.create", "success")
	if ev == nil || ev.Target != "user:"+u.ID || ev.Actor != "token:ops/"+e.tokID {
		t.Fatalf("audit event = %+v", ev)
	}

	expectField(t, e.do("POST", "/users", e.admin, map[string]any{"user_name": "ALICE"}), http.StatusConflict, "user_name")

	// Lookup by name is exact and case-insensitive.
	var l list[store.User]
	e.do("GET", "/users?user_name=Alice", e.admin, nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != u.ID {
		t.Fatalf("filter: %+v", l)
	}
	e.do("GET", "/users?user_name=ali", e.admin, nil).decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatal("filter is not exact")
	}

	r = e.do("GET", "/users/"+u.ID, e.admin, nil)
	expect(t, r, http.StatusOK)
	if r.header.Get("ETag") != `"1"` {
		t.Fatalf("etag %q", r.header.Get("ETag"))
	}

	// PATCH with a stale If-Match is refused; a current one applies.
	expect(t, e.do("PATCH", "/users/"+u.ID, e.admin, map[string]any{"display_name": "x"}, "If-Match", `"7"`), http.StatusPreconditionFailed)
	r = e.do("PATCH", "/users/"+u.ID, e.admin, map[string]any{"display_name": "Alice A."}, "If-Match", `"1"`)
	expect(t, r, http.StatusOK)
	r.decode(t, &u)
	if u.DisplayName != "Alice A." || r.header.Get("ETag") != `"2"` {
		t.Fatalf("patched %+v etag %q", u, r.header.Get("ETag"))
	}
	expectField(t, e.do("PATCH", "/users/"+u.ID, e.admin, map[string]any{"emails": []string{"ok@example.com", "broken"}}), http.StatusBadRequest, "emails[1]")

	// Passwords: policy refusals name the field and never echo the password.
	r = e.do("POST", "/users/"+u.ID+"/password", e.admin, map[string]any{"password": "short"})
	expectField(t, r, http.StatusBadRequest, "password")
	if strings.Contains(string(r.body), `"short"`) {
		t.Fatal("password echoed")
	}
	expect(t, e.do("POST", "/users/"+u.ID+"/password", e.admin, map[string]any{"password": "another-long-password"}), http.StatusNoContent)
	expect(t, e.do("POST", "/users/nope/password", e.admin, map[string]any{"password": "another-long-password"}), http.StatusNotFound)

	// Deactivate (also through PATCH active=false) goes through the password service.
	r = e.do("POST", "/users/"+u.ID+"/deactivate", e.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &u)
	if u.Active {
		t.Fatal("still active")
	}
	r = e.do("PATCH", "/users/"+u.ID, e.admin, map[string]any{"active": true})
	r.decode(t, &u)
	if !u.Active {
		t.Fatal("not reactivated")
	}
	r = e.do("PATCH", "/users/"+u.ID, e.admin, map[string]any{"active": false})
	r.decode(t, &u)
	if u.Active {
		t.Fatal("PATCH active=false did not deactivate")
	}

	expect(t, e.do("DELETE", "/users/"+u.ID, e.admin, nil, "If-Match", `"1"`), http.StatusPreconditionFailed)
	expect(t, e.do("DELETE", "/users/"+u.ID, e.admin, nil), http.StatusNoContent)
	expect(t, e.do("GET", "/users/"+u.ID, e.admin, nil), http.StatusNotFound)
	if e.rec.find("admin.user.delete", "success") == nil {
		t.Fatal("delete not audited")
	}
}

func TestCreateUserWithRefusedPasswordLeavesNoUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expectField(t, e.do("POST", "/users", e.admin, map[string]any{"user_name": "bob", "password": "short"}), http.StatusBadRequest, "password")
	if _, err := e.st.GetUserByName(context.Background(), "bob"); err == nil {
		t.Fatal("passwordless user left behind")
	}
	if e.rec.find("admin.user.create", "failure") == nil {
		t.Fatal("failed change not audited")
	}
}

func TestUserInputErrorsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"empty user name", map[string]any{"user_name": ""}, "user_name"},
		{"bad second email", map[string]any{"user_name": "c", "emails": []string{"c@example.com", "not-an-email"}}, "emails[1]"},
		{"bad role", map[string]any{"user_name": "c", "roles": []string{"ad min"}}, "roles[0]"},
		{"unknown field", map[string]any{"user_name": "c", "nickname": "x"}, "nickname"},
		{"wrong type", map[string]any{"user_name": "c", "active": "yes"}, "active"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectField(t, e.do("POST", "/users", e.admin, tc.body), http.StatusBadRequest, tc.field)
		})
	}
	expect(t, e.do("POST", "/users", e.admin, `{"user_name":"c"} {}`), http.StatusBadRequest)
	expect(t, e.do("POST", "/users", e.admin, `{"user_name":`), http.StatusBadRequest)
	big := `{"user_name":"` + strings.Repeat("a", 2<<20) + `"}`
	expect(t, e.do("POST", "/users", e.admin, big), http.StatusRequestEntityTooLarge)
}
