package api

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
)

func TestKeysListAndRotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var l list[KeyInfo]
	e.do("GET", "/keys", e.admin, nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != "k0" {
		t.Fatalf("keys %+v", l)
	}
	r := e.do("POST", "/keys/rotate", e.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &l)
	if len(l.Items) != 2 || l.Items[0].State != store.KeyRetired {
		t.Fatalf("after rotate %+v", l)
	}
	if e.rec.find("admin.key.rotate", "success") == nil {
		t.Fatal("rotation not audited")
	}
}

func TestTokensCreateUseListRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expectField(t, e.do("POST", "/tokens", e.admin, map[string]any{"name": "ci"}), http.StatusBadRequest, "roles")
	expectField(t, e.do("POST", "/tokens", e.admin, map[string]any{"name": "ci", "roles": []string{"admin"}, "expires_in": "100000h"}), http.StatusBadRequest, "expires_in")
	r := e.do("POST", "/tokens", e.admin, map[string]any{"name": "ci", "roles": []string{"admin"}, "expires_in": "1h"})
	expect(t, r, http.StatusCreated)
	var tok Token
	r.decode(t, &tok)
	if !strings.HasPrefix(tok.Token, "pct_") || !tok.ExpiresAt.Equal(testNow.Add(60*60*1e9)) {
		t.Fatalf("token %+v", tok)
	}
	expect(t, e.do("GET", "/users", tok.Token, nil), http.StatusOK)

	body := string(e.do("GET", "/tokens", e.admin, nil).body)
	if strings.Contains(body, tok.Token) || strings.Contains(body, "digest") || !strings.Contains(body, `"name":"ci"`) {
		t.Fatalf("token list %s", body)
	}
	// A token may revoke itself, as the bootstrap token does.
	expect(t, e.do("DELETE", "/tokens/"+tok.ID, tok.Token, nil), http.StatusNoContent)
	expect(t, e.do("GET", "/users", tok.Token, nil), http.StatusUnauthorized)
	expect(t, e.do("DELETE", "/tokens/nope", e.admin, nil), http.StatusNotFound)
	if e.rec.find("admin.token.revoke", "success") == nil || e.rec.find("admin.token.create", "success") == nil {
		t.Fatal("token changes not audited")
	}
}

const applyDoc = `users:
  - user_name: alice
    emails: [alice@example.com]
groups:
  - name: eng
    members: [alice]
clients:
  - id: demo
    redirect_uris: [https://app.example.com/cb]
`

func TestApplyDryRunThenApplyThenUnchanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var res declare.Result
	r := e.do("POST", "/apply?dry_run=true", e.admin, applyDoc, "Content-Type", "application/yaml")
	expect(t, r, http.StatusOK)
	r.decode(t, &res)
	if !res.DryRun || len(res.Changes) != 3 || len(res.ClientSecrets) != 0 {
		t.Fatalf("dry run %+v", res)
	}
	if _, err := e.st.GetUserByName(ctx, "alice"); err == nil {
		t.Fatal("dry run wrote")
	}

	r = e.do("POST", "/apply", e.admin, applyDoc)
	expect(t, r, http.StatusOK)
	r.decode(t, &res)
	if c, _, _, _ := res.Counts(); c != 3 || res.ClientSecrets["demo"] == "" {
		t.Fatalf("apply %+v", res)
	}
	if ev := e.rec.find("declare.user.create", "success"); ev == nil || ev.Actor != "token:ops/"+e.tokID {
		t.Fatalf("declare event %+v", ev)
	}
	if e.rec.find("admin.apply", "success") == nil {
		t.Fatal("apply not audited")
	}
	e.do("POST", "/apply", e.admin, applyDoc).decode(t, &res)
	if _, _, _, un := res.Counts(); un != 3 || len(res.ClientSecrets) != 0 {
		t.Fatalf("second apply %+v", res)
	}
}

func TestApplyMultipartNamesFilesInErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(files map[string]string, query string) resp {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, name := range []string{"users.yaml", "clients.yaml"} {
			if content, ok := files[name]; ok {
				fw, _ := mw.CreateFormFile("file", name)
				fw.Write([]byte(content))
			}
		}
		mw.Close()
		return e.do("POST", "/apply"+query, e.admin, buf.String(), "Content-Type", mw.FormDataContentType())
	}
	r := post(map[string]string{"users.yaml": "users:\n  - user_name: bob\n", "clients.yaml": "clients:\n  - id: c\n    redirect_uris: [nope]\n"}, "")
	expectField(t, r, http.StatusBadRequest, "clients[0].redirect_uris[0]")
	if !strings.Contains(string(r.body), "clients.yaml:3") {
		t.Fatalf("error does not name the file and line: %s", r.body)
	}
	r = post(map[string]string{"users.yaml": "users:\n  - user_name: bob\n    nick: b\n"}, "")
	expectField(t, r, http.StatusBadRequest, "users[0].nick")
	r = post(map[string]string{"users.yaml": "groups:\n  - name: g\n    members: [ghost]\n"}, "")
	expectField(t, r, http.StatusBadRequest, "groups[0].members[0]")
	r = post(map[string]string{"users.yaml": "users:\n  - user_name: bob\n", "clients.yaml": "clients:\n  - id: c\n    public: true\n"}, "?prune=true")
	expect(t, r, http.StatusOK)
	expectField(t, e.do("POST", "/apply?dry_run=maybe", e.admin, applyDoc), http.StatusBadRequest, "dry_run")
}
