package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func TestAdminRoleSessionsListAndRevoke(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	trust := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(trust, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"gh"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.admin("", "roles", "create", "deploy", "--trust-policy", trust)
	e.admin("", "roles", "create", "viewer", "--trust-policy", trust)
	ctx := context.Background()
	role := func(name string) store.Role {
		r, err := e.st.GetRoleByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	deploy, viewer := role("deploy"), role("viewer")
	const mainSub, devSub = "repo:acme/app:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/dev"
	now := time.Now().UTC().Truncate(time.Second)
	put := func(id string, r store.Role, subject string, expires time.Time) {
		if err := e.st.CreateRoleSession(ctx, store.RoleSession{ID: id, RoleID: r.ID, RoleARN: r.ARN, SessionName: "job-" + id,
			Subject: subject, SecretSealed: []byte("sealed"), IssuedAt: now.Add(-time.Minute), ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	put("PCIAMAIN1", deploy, mainSub, now.Add(time.Hour))
	put("PCIADEV1", deploy, devSub, now.Add(time.Hour))
	put("PCIAVIEW1", viewer, mainSub, now.Add(time.Hour))
	put("PCIAOLD1", deploy, mainSub, now.Add(-time.Second))

	out := e.admin("", "role-sessions", "list")
	mustContain(t, out, "ACCESS_KEY_ID", "PCIAMAIN1", "PCIADEV1", "PCIAVIEW1", deploy.ARN, "job-PCIAMAIN1", mainSub, "active")
	if strings.Contains(out, "PCIAOLD1") {
		t.Errorf("list without --all shows an expired session:\n%s", out)
	}
	mustContain(t, e.admin("", "role-sessions", "list", "--all"), "PCIAOLD1", "expired")
	out = e.admin("", "role-sessions", "list", "--role", "deploy", "--subject", mainSub)
	if !strings.Contains(out, "PCIAMAIN1") || strings.Contains(out, "PCIADEV1") || strings.Contains(out, "PCIAVIEW1") {
		t.Errorf("list --role deploy --subject main:\n%s", out)
	}
	var l struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(e.admin("", "role-sessions", "list", "--role", viewer.ARN, "-o", "json")), &l); err != nil || len(l.Items) != 1 || l.Items[0]["id"] != "PCIAVIEW1" {
		t.Errorf("list --role <ARN> -o json: %+v, %v", l, err)
	}
	mustContain(t, e.admin("", "role-sessions", "get", "PCIADEV1"), `"session_name": "job-PCIADEV1"`, `"active": true`)

	mustContain(t, e.admin("", "role-sessions", "revoke", "PCIAMAIN1"), "revoked role session PCIAMAIN1 ("+deploy.ARN+", session job-PCIAMAIN1)")
	mustContain(t, e.admin("", "role-sessions", "list", "--all", "--role", "deploy"), "revoked")
	mustContain(t, e.admin("", "role-sessions", "revoke", "--subject", mainSub), "revoked 1 role session(s)", "PCIAVIEW1")
	mustContain(t, e.admin("", "role-sessions", "revoke", "--role", "deploy"), "revoked 1 role session(s)", "PCIADEV1")
	for _, id := range []string{"PCIAMAIN1", "PCIADEV1", "PCIAVIEW1"} {
		s, err := e.st.GetRoleSession(ctx, id)
		if err != nil || !s.Revoked {
			t.Errorf("%s: revoked %v, %v", id, s.Revoked, err)
		}
		if onList, err := e.st.IsRevoked(ctx, id); err != nil || !onList {
			t.Errorf("%s: jti not on the revocation list (%v)", id, err)
		}
	}
	if out := e.admin("", "role-sessions", "list"); strings.Contains(out, "PCIA") {
		t.Errorf("live sessions left:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"role-sessions", "revoke"}, "give a session ID, --role or --subject"},
		{[]string{"role-sessions", "revoke", "PCIAMAIN1", "--role", "deploy"}, "not both"},
		{[]string{"role-sessions", "revoke", "PCIANOPE"}, "not found"},
		{[]string{"role-sessions", "list", "--role", "nope"}, "not found"},
	} {
		if _, _, err := e.run(newAdminCmd(), "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
