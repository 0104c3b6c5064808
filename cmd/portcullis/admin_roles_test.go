package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminRolesPoliciesAndMappings(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	trust := write("trust.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"gh"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`)
	v1 := write("v1.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`)
	v2 := write("v2.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)

	mustContain(t, e.admin("", "policies", "create", "ReadOnly", "--document", v1, "--description", "reads"), "policy ReadOnly: version 1 stored, default is 1")
	mustContain(t, e.admin("", "policies", "create", "ReadOnly", "--document", v2, "--new-version", "--set-default"), "version 2 stored, default is 2")
	mustContain(t, e.admin("", "policies", "set-default", "ReadOnly", "1"), "default version is now 1")
	mustContain(t, e.admin("", "policies", "list"), "NAME", "ReadOnly", "1,2", "reads")
	mustContain(t, e.admin("", "policies", "get", "readonly"), `"default_version": 1`)

	mustContain(t, e.admin("", "roles", "create", "deploy", "--path", "/ci/", "--trust-policy", trust, "--policy", "ReadOnly", "--max-session", "2h"),
		"created role deploy (arn:portcullis:iam::000000000000:role/ci/deploy)")
	// The trust policy may come from standard input.
	mustContain(t, e.admin(mustRead(t, trust), "roles", "create", "viewer", "--trust-policy", "-"), "created role viewer")
	mustContain(t, e.admin("", "roles", "list"), "ARN", "deploy", "ReadOnly", "2h0m0s", "viewer")
	mustContain(t, e.admin("", "roles", "get", "deploy"), `"trust_policy"`, `"Federated": "gh"`)
	_, _, err := e.run(newAdminCmd(), "", "roles", "create", "bad", "--trust-policy", trust, "--max-session", "1m")
	if err == nil || !strings.Contains(err.Error(), "max_session_duration") {
		t.Fatalf("short session: %v", err)
	}
	_, _, err = e.run(newAdminCmd(), "", "roles", "create", "bad")
	if err == nil || !strings.Contains(err.Error(), "--trust-policy is required") {
		t.Fatalf("missing trust policy: %v", err)
	}
	_, _, err = e.run(newAdminCmd(), "", "policies", "set-default", "ReadOnly", "x")
	if err == nil || !strings.Contains(err.Error(), "positive number") {
		t.Fatalf("bad version: %v", err)
	}

	e.admin("", "users", "create", "alice")
	e.admin("", "groups", "create", "eng-web", "--member", "alice")
	mustContain(t, e.admin("", "role-mappings", "create", "eng", "--group", "eng-*", "--role", "deploy", "--role", "viewer"), "created role mapping eng")
	mustContain(t, e.admin("", "role-mappings", "create", "all", "--source", "*", "--group", "*", "--role", "viewer"), "created role mapping all")
	mustContain(t, e.admin("", "role-mappings", "list"), "eng", "local", "group=eng-*", "deploy,viewer")
	out := e.admin("", "users", "roles", "alice")
	mustContain(t, out, "ROLE", "RULE", "deploy", "viewer")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 {
		t.Errorf("want a header and three grants (viewer twice), got:\n%s", out)
	}

	mustContain(t, e.admin("", "role-mappings", "delete", "eng"), "deleted role mapping eng")
	mustContain(t, e.admin("", "roles", "delete", "viewer"), "deleted role viewer")
	if _, err := e.st.GetRoleByName(context.Background(), "viewer"); err == nil {
		t.Fatal("viewer not deleted")
	}
	if m, _ := e.st.ListRoleMappings(context.Background()); len(m) != 1 {
		t.Fatalf("mappings left: %+v", m)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
