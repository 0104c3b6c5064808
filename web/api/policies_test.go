package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

// fakePolicyValidator refuses documents holding "Deny*" the way idp/policy names a
// statement, and trust documents without a Principal.
type fakePolicyValidator struct{}

func (fakePolicyValidator) ValidateIdentity(doc []byte) error {
	if strings.Contains(string(doc), `"Principal"`) {
		return errors.New("Statement[0].Principal: not allowed in an identity policy")
	}
	return nil
}

func (fakePolicyValidator) ValidateTrust(doc []byte) error {
	if !strings.Contains(string(doc), `"Principal"`) {
		return errors.New("Statement[0].Principal: required in a trust policy")
	}
	return nil
}

const (
	apiReadDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`
	apiWriteDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	apiTrustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"gh"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
)

func newIAMEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(d *Deps) { d.Policies = fakePolicyValidator{} })
}

func raw(s string) any { return rawJSON(s) }

// rawJSON marshals as the JSON text it holds.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func (e *env) createPolicy(name, doc string) store.ManagedPolicy {
	e.t.Helper()
	r := e.do("POST", "/policies", e.admin, map[string]any{"name": name, "document": raw(doc)})
	expect(e.t, r, http.StatusCreated)
	var p store.ManagedPolicy
	r.decode(e.t, &p)
	return p
}

func TestPoliciesVersionsAndRollback(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	expectField(t, e.do("POST", "/policies", e.admin, map[string]any{"name": "bad name", "document": raw(apiReadDoc)}), http.StatusBadRequest, "name")
	r := e.do("POST", "/policies", e.admin, map[string]any{"name": "p", "document": raw(apiTrustDoc)})
	expectField(t, r, http.StatusBadRequest, "document")
	if !strings.Contains(string(r.body), "Statement[0].Principal") {
		t.Errorf("validator message lost: %s", r.body)
	}
	expectField(t, e.do("POST", "/policies", e.admin, map[string]any{"name": "p"}), http.StatusBadRequest, "document")

	p := e.createPolicy("ReadOnly", apiReadDoc)
	if p.DefaultVersion != 1 || len(p.Versions) != 1 {
		t.Fatalf("created %+v", p)
	}
	expectField(t, e.do("POST", "/policies", e.admin, map[string]any{"name": "readonly", "document": raw(apiReadDoc)}), http.StatusConflict, "name")

	// A new version made the default, with a stale If-Match refused first.
	expect(t, e.do("POST", "/policies/ReadOnly/versions", e.admin, map[string]any{"document": raw(apiWriteDoc), "set_default": true}, "If-Match", `"7"`), http.StatusPreconditionFailed)
	r = e.do("POST", "/policies/readonly/versions", e.admin, map[string]any{"document": raw(apiWriteDoc), "set_default": true}, "If-Match", `"1"`)
	expect(t, r, http.StatusCreated)
	r.decode(t, &p)
	if p.DefaultVersion != 2 || len(p.Versions) != 2 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("after new version: %+v etag %s", p, r.header.Get("ETag"))
	}
	expectField(t, e.do("POST", "/policies/ReadOnly/versions", e.admin, map[string]any{"document": raw(apiTrustDoc)}), http.StatusBadRequest, "document")

	// Rollback is one call.
	expectField(t, e.do("PUT", "/policies/ReadOnly/default", e.admin, map[string]any{"version": 9}), http.StatusBadRequest, "version")
	expectField(t, e.do("PUT", "/policies/ReadOnly/default", e.admin, map[string]any{}), http.StatusBadRequest, "version")
	r = e.do("PUT", "/policies/ReadOnly/default", e.admin, map[string]any{"version": 1}, "If-Match", `"2"`)
	expect(t, r, http.StatusOK)
	r.decode(t, &p)
	if d, _ := p.Default(); p.DefaultVersion != 1 || string(d.Document) != apiReadDoc {
		t.Fatalf("after rollback: %+v", p)
	}

	r = e.do("PATCH", "/policies/ReadOnly", e.admin, map[string]any{"description": "reads objects"})
	expect(t, r, http.StatusOK)
	r.decode(t, &p)
	if p.Description != "reads objects" {
		t.Errorf("description %q", p.Description)
	}
	var l list[store.ManagedPolicy]
	e.do("GET", "/policies", e.admin, nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].Name != "ReadOnly" {
		t.Errorf("list %+v", l)
	}
	expect(t, e.do("DELETE", "/policies/ReadOnly", e.admin, nil), http.StatusNoContent)
	expect(t, e.do("GET", "/policies/ReadOnly", e.admin, nil), http.StatusNotFound)
	for _, a := range []string{"admin.policy.create", "admin.policy.version.create", "admin.policy.version.default", "admin.policy.update", "admin.policy.delete"} {
		if e.rec.find(a, "success") == nil {
			t.Errorf("%s not audited", a)
		}
	}
	if ev := e.rec.find("admin.policy.version.default", "success"); ev == nil || ev.Details["previous"] != "2" || ev.Target != "policy:ReadOnly" {
		t.Errorf("rollback audit event = %+v", ev)
	}
}

func TestDeletePolicyInUseNamesTheRole(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t)
	e.createPolicy("ReadOnly", apiReadDoc)
	e.createRole(map[string]any{"name": "deploy", "managed_policies": []string{"ReadOnly"}})
	r := e.do("DELETE", "/policies/readonly", e.admin, nil)
	expect(t, r, http.StatusConflict)
	if m := r.json(t); m["error"] != "in_use" || !strings.Contains(m["message"].(string), "deploy") {
		t.Errorf("body %s", r.body)
	}
	if e.rec.find("admin.policy.delete", "failure") == nil {
		t.Error("refused delete not audited")
	}
	expect(t, e.do("PATCH", "/roles/deploy", e.admin, map[string]any{"managed_policies": []string{}}), http.StatusOK)
	expect(t, e.do("DELETE", "/policies/readonly", e.admin, nil), http.StatusNoContent)
	var l list[store.ManagedPolicy]
	e.do("GET", "/policies", e.admin, nil).decode(t, &l)
	if !slices.Equal(namesOf(l.Items), nil) {
		t.Errorf("policies left: %v", namesOf(l.Items))
	}
}

func namesOf(ps []store.ManagedPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
