package bolt_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// TestClientCacheNeverServesStaleOrShared checks the decoded-client cache: an update is
// seen at once, and a caller modifying its copy does not change what others get.
func TestClientCacheNeverServesStaleOrShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "p.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CreateClient(ctx, store.Client{ID: "app", RedirectURIs: []string{"https://a.example/cb"},
		Secrets: []store.ClientSecret{{ID: "s1", Digest: []byte{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetClient(ctx, "app") // fills the cache
	got.RedirectURIs[0] = "https://evil.example/cb"
	got.Secrets[0].Digest[0] = 9
	again, _ := st.GetClient(ctx, "app")
	if again.RedirectURIs[0] != "https://a.example/cb" || again.Secrets[0].Digest[0] != 1 {
		t.Fatalf("cached client shared with a caller: %+v", again)
	}
	c.RedirectURIs = []string{"https://b.example/cb"}
	if _, err := st.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	after, _ := st.GetClient(ctx, "app")
	if after.RedirectURIs[0] != "https://b.example/cb" || after.Version != 2 {
		t.Fatalf("stale client after update: %+v", after)
	}
	if err := st.DeleteClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetClient(ctx, "app"); err == nil {
		t.Fatal("deleted client still served")
	}
}

// TestDecodedRolesAndPoliciesAreCopiesAndFresh: the decision point reads roles and
// policies through the same cache; a caller's changes must not leak, and writes are seen.
func TestDecodedRolesAndPoliciesAreCopiesAndFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "p.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	doc := []byte(`{"Version":"2012-10-17","Statement":[]}`)
	if _, err := st.CreateManagedPolicy(ctx, store.ManagedPolicy{Name: "p", Versions: []store.PolicyVersion{{Document: doc}}}); err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRole(ctx, store.Role{Name: "r", ARN: "arn:portcullis:iam::000000000000:role/r", Path: "/",
		TrustPolicy: doc, ManagedPolicies: []string{"p"}, InlinePolicies: map[string]json.RawMessage{"i": doc}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetRoleByName(ctx, "r")
	got.ManagedPolicies[0] = "evil"
	got.InlinePolicies["i"][0] = 'X'
	got.TrustPolicy[0] = 'X'
	again, _ := st.GetRoleByName(ctx, "r")
	if again.ManagedPolicies[0] != "p" || again.InlinePolicies["i"][0] != '{' || again.TrustPolicy[0] != '{' {
		t.Fatalf("cached role shared with a caller: %+v", again)
	}
	r.ManagedPolicies = nil
	if _, err := st.UpdateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.GetRoleByName(ctx, "r"); len(after.ManagedPolicies) != 0 {
		t.Fatalf("stale role after update: %+v", after)
	}
	p, _ := st.GetManagedPolicy(ctx, "p")
	p.Versions[0].Document[0] = 'X'
	if p2, _ := st.GetManagedPolicy(ctx, "p"); p2.Versions[0].Document[0] != '{' {
		t.Fatal("cached policy document shared with a caller")
	}
	if _, err := st.CreatePolicyVersion(ctx, "p", 0, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`), true); err != nil {
		t.Fatal(err)
	}
	if p3, _ := st.GetManagedPolicy(ctx, "p"); p3.DefaultVersion != 2 {
		t.Fatalf("stale policy after a new version: %+v", p3)
	}
}
