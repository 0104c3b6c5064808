package declare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func planOf(r Result) []string {
	var out []string
	for _, c := range r.Changes {
		s := c.Action + " " + c.Kind + " " + c.Name
		if len(c.Fields) > 0 {
			s += " (" + strings.Join(c.Fields, ",") + ")"
		}
		out = append(out, s)
	}
	return out
}

func wantPlan(t *testing.T, r Result, want ...string) {
	t.Helper()
	if got := planOf(r); !slices.Equal(got, want) {
		t.Fatalf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestApplyCreatesEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, rec := newTestReconciler(t)
	docs := mustParse(t, mustRead(t, "testdata/basic.yaml"))
	res, err := r.Apply(ctx, docs, Options{Actor: "token:ci/1"})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "create user alice", "create user bob", "create group engineers", "create client demo", "create client cli")

	alice, err := st.GetUserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Source != SourceDeclarative || !alice.Active || alice.DisplayName != "Alice Example" || !slices.Equal(alice.Roles, []string{"admin"}) {
		t.Fatalf("alice = %+v", alice)
	}
	cred, err := st.GetCredential(ctx, alice.ID, store.CredentialPassword, "password")
	if err != nil {
		t.Fatal(err)
	}
	if !cred.MustChange || !strings.HasPrefix(string(cred.Secret), "$argon2id$") || strings.Contains(string(cred.Secret), "correct-horse") {
		t.Fatalf("initial password stored as %q (must change %v)", cred.Secret, cred.MustChange)
	}
	bob, _ := st.GetUserByName(ctx, "bob")
	if bob.Active {
		t.Fatal("bob declared inactive")
	}
	bobCred, err := st.GetCredential(ctx, bob.ID, store.CredentialPassword, "password")
	if err != nil || bobCred.MustChange || string(bobCred.Secret) != docs[0].Users[1].PasswordHash {
		t.Fatalf("bob's pinned hash not stored: %v %+v", err, bobCred)
	}
	g, err := st.GetGroupByName(ctx, "engineers")
	if err != nil {
		t.Fatal(err)
	}
	wantMembers := []string{alice.ID, bob.ID}
	slices.Sort(wantMembers)
	if !slices.Equal(g.Members, wantMembers) || g.Source != SourceDeclarative {
		t.Fatalf("group = %+v", g)
	}

	demo, err := st.GetClient(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	plain := res.ClientSecrets["demo"]
	if plain == "" || len(demo.Secrets) != 1 {
		t.Fatalf("demo secret not generated: %q %+v", plain, demo.Secrets)
	}
	d := sha256.Sum256([]byte(plain))
	if hex.EncodeToString(demo.Secrets[0].Digest) != hex.EncodeToString(d[:]) {
		t.Fatal("stored digest does not match the secret shown")
	}
	if _, ok := res.ClientSecrets["cli"]; ok {
		t.Fatal("public client got a secret")
	}
	cli, _ := st.GetClient(ctx, "cli")
	if !cli.Public || !cli.Native || len(cli.Secrets) != 0 {
		t.Fatalf("cli = %+v", cli)
	}

	got := rec.actions()
	want := []string{
		"declare.user.create user:alice success", "declare.user.create user:bob success",
		"declare.group.create group:engineers success", "declare.client.create client:demo success",
		"declare.client.create client:cli success",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit = %v", got)
	}
	if rec.events[0].Actor != "token:ci/1" {
		t.Fatalf("actor = %q", rec.events[0].Actor)
	}
}

func TestApplyTwiceIsUnchangedAndWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, rec := newTestReconciler(t)
	docs := mustParse(t, mustRead(t, "testdata/basic.yaml")+"---\n"+mustRead(t, "testdata/multi.yaml"))
	if _, err := r.Apply(ctx, docs, Options{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	nEvents := len(rec.actions())

	res, err := r.Apply(ctx, docs, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Changes {
		if c.Action != ActionUnchanged {
			t.Errorf("second apply: %+v", c)
		}
	}
	if len(res.Changes) != 8 || len(res.ClientSecrets) != 0 {
		t.Fatalf("second apply: %d changes, secrets %v", len(res.Changes), res.ClientSecrets)
	}
	if after := snapshot(t, st); after != before {
		t.Fatalf("second apply wrote:\nbefore %s\nafter  %s", before, after)
	}
	if len(rec.actions()) != nEvents {
		t.Fatal("unchanged apply recorded audit events")
	}
	if !strings.HasSuffix(res.Table(), "0 to create, 0 to update, 0 to delete, 8 unchanged\n") {
		t.Fatalf("table:\n%s", res.Table())
	}
}

// snapshot renders every user, group, client and password credential with its version.
func snapshot(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	us, _ := st.ListUsers(ctx)
	for _, u := range us {
		b.WriteString(u.UserName + ":" + itoa(u.Version) + " ")
		if c, err := st.GetCredential(ctx, u.ID, store.CredentialPassword, "password"); err == nil {
			b.WriteString("pw:" + itoa(c.Version) + " ")
		}
	}
	gs, _ := st.ListGroups(ctx)
	for _, g := range gs {
		b.WriteString(g.DisplayName + ":" + itoa(g.Version) + " ")
	}
	cs, _ := st.ListClients(ctx)
	for _, c := range cs {
		b.WriteString(c.ID + ":" + itoa(c.Version) + " ")
	}
	return b.String()
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestApplyUpdatesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, rec := newTestReconciler(t)
	if _, err := r.Apply(ctx, mustParse(t, mustRead(t, "testdata/basic.yaml")), Options{}); err != nil {
		t.Fatal(err)
	}
	// A session for alice, to see deactivation revoke it.
	alice, _ := st.GetUserByName(ctx, "alice")
	if err := st.CreateSession(ctx, store.Session{ID: "s1", UserID: alice.ID, AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(1e12)}); err != nil {
		t.Fatal(err)
	}
	before, _ := st.GetCredential(ctx, alice.ID, store.CredentialPassword, "password")
	changed := strings.NewReplacer(
		"display_name: Alice Example", "display_name: Alice Changed\n    active: false",
		"initial_password: correct-horse-battery", "initial_password: another-long-password",
		"https://app.example.com/callback", "https://app.example.com/cb2",
		"members: [alice, bob]", "members: [bob]",
	).Replace(mustRead(t, "testdata/basic.yaml"))
	res, err := r.Apply(ctx, mustParse(t, changed), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "update user alice (display_name,active)", "unchanged user bob", "update group engineers (members)",
		"update client demo (redirect_uris)", "unchanged client cli")
	table := res.Table()
	for _, w := range []string{"~ user alice (display_name, active)\n", "= user bob\n", "~ client demo (redirect_uris)\n", "0 to create, 3 to update, 0 to delete, 2 unchanged\n"} {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks %q:\n%s", w, table)
		}
	}
	after, _ := st.GetCredential(ctx, alice.ID, store.CredentialPassword, "password")
	if after.Version != before.Version || string(after.Secret) != string(before.Secret) {
		t.Fatal("initial_password applied to an existing user")
	}
	s, err := st.GetSession(ctx, "s1")
	if err == nil && !s.Revoked {
		t.Fatal("deactivating alice left her session usable")
	}
	if !slices.Contains(rec.actions(), "declare.client.update client:demo success") {
		t.Fatalf("audit = %v", rec.actions())
	}
	demo, _ := st.GetClient(ctx, "demo")
	if len(demo.Secrets) != 1 {
		t.Fatal("updating a confidential client without pinned secrets changed its secrets")
	}
}

func TestApplyPinsClientSecretDigests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, _ := newTestReconciler(t)
	const d1 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	const d2 = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
	doc := "clients:\n  - id: svc\n    grant_types: [client_credentials]\n    secret_sha256: [" + d1 + "]\n"
	res, err := r.Apply(ctx, mustParse(t, doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ClientSecrets) != 0 {
		t.Fatal("pinned client got a generated secret")
	}
	c, _ := st.GetClient(ctx, "svc")
	if len(c.Secrets) != 1 || hex.EncodeToString(c.Secrets[0].Digest) != d1 {
		t.Fatalf("secrets = %+v", c.Secrets)
	}
	firstID := c.Secrets[0].ID
	res, err = r.Apply(ctx, mustParse(t, strings.Replace(doc, d1+"]", d1+", "+d2+"]", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "update client svc (secret_sha256)")
	c, _ = st.GetClient(ctx, "svc")
	if len(c.Secrets) != 2 || c.Secrets[0].ID != firstID || hex.EncodeToString(c.Secrets[1].Digest) != d2 {
		t.Fatalf("secrets after rotation = %+v", c.Secrets)
	}
}

func TestApplyPrunesOnlyDeclarativeEntities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, _ := newTestReconciler(t)
	if _, err := r.Apply(ctx, mustParse(t, mustRead(t, "testdata/basic.yaml")), Options{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{{UserName: "root", Source: "local", Active: true}, {UserName: "scimmed", Source: "scim-entra", Active: true}} {
		if _, err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateGroup(ctx, store.Group{DisplayName: "admins", Source: "local"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateClient(ctx, store.Client{ID: "manual", Public: true, RedirectURIs: []string{"https://app.example.com/cb"}}); err != nil {
		t.Fatal(err)
	}
	only := "users:\n  - user_name: alice\n    display_name: Alice Example\n    emails: [alice@example.com]\n    roles: [admin]\n"

	// Without Prune nothing is deleted.
	res, err := r.Apply(ctx, mustParse(t, only), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "unchanged user alice")

	res, err = r.Apply(ctx, mustParse(t, only), Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "unchanged user alice", "delete client cli", "delete client demo", "delete group engineers", "delete user bob")
	for _, name := range []string{"root", "scimmed", "alice"} {
		if _, err := st.GetUserByName(ctx, name); err != nil {
			t.Errorf("user %s: %v", name, err)
		}
	}
	if _, err := st.GetUserByName(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob not pruned: %v", err)
	}
	if _, err := st.GetGroupByName(ctx, "admins"); err != nil {
		t.Errorf("admin-made group pruned: %v", err)
	}
	if _, err := st.GetClient(ctx, "manual"); err != nil {
		t.Errorf("admin-made client pruned: %v", err)
	}
	if _, err := st.GetClient(ctx, "demo"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("declarative client demo not pruned: %v", err)
	}
}

func TestApplyDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, rec := newTestReconciler(t)
	res, err := r.Apply(ctx, mustParse(t, mustRead(t, "testdata/basic.yaml")), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.ClientSecrets) != 0 {
		t.Fatalf("dry run result %+v", res)
	}
	wantPlan(t, res, "create user alice", "create user bob", "create group engineers", "create client demo", "create client cli")
	if s := snapshot(t, st); s != "" {
		t.Fatalf("dry run wrote: %s", s)
	}
	if len(rec.actions()) != 0 {
		t.Fatalf("dry run audited changes: %v", rec.actions())
	}

	// A dry run of an update plans it against the real state.
	if _, err := r.Apply(ctx, mustParse(t, mustRead(t, "testdata/basic.yaml")), Options{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	res, err = r.Apply(ctx, mustParse(t, "users:\n  - user_name: carol\n"), Options{DryRun: true, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "create user carol", "delete client cli", "delete client demo", "delete group engineers", "delete user alice", "delete user bob")
	if snapshot(t, st) != before {
		t.Fatal("dry run with prune wrote")
	}
}

func TestApplyFailureHalfWayRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, rec := newTestReconciler(t)
	doc := "users:\n  - user_name: erin\ngroups:\n  - name: team\n    members: [erin, ghost]\n"
	_, err := r.Apply(ctx, mustParse(t, doc), Options{})
	if err == nil {
		t.Fatal("group with unknown member applied")
	}
	if !strings.Contains(err.Error(), `test.yaml:5: groups[0].members[1]: no user named "ghost"`) {
		t.Fatalf("error does not name the member: %v", err)
	}
	if _, err := st.GetUserByName(ctx, "erin"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user created before the failure was kept: %v", err)
	}
	if got := rec.actions(); !slices.Equal(got, []string{"declare.apply  failure"}) {
		t.Fatalf("audit = %v", got)
	}
}

func TestApplyRefusesInvalidDocumentsBeforeWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, _ := newTestReconciler(t)
	doc := "users:\n  - user_name: frank\nclients:\n  - id: a\n  - id: b\n    redirect_uris: [relative]\n"
	_, err := r.Apply(ctx, mustParse(t, doc), Options{})
	if err == nil || !strings.Contains(err.Error(), "clients[1].redirect_uris[0]: must be absolute") {
		t.Fatalf("err = %v", err)
	}
	if s := snapshot(t, st); s != "" {
		t.Fatalf("invalid documents wrote: %s", s)
	}
}

func TestApplyPasswordHashEqualToStoredIsUnchanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, st, _ := newTestReconciler(t)
	const h1 = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaDE"
	const h2 = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaDI"
	doc := "users:\n  - user_name: gina\n    password_hash: " + h1 + "\n"
	if _, err := r.Apply(ctx, mustParse(t, doc), Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Apply(ctx, mustParse(t, doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "unchanged user gina")
	res, err = r.Apply(ctx, mustParse(t, strings.Replace(doc, h1, h2, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, res, "update user gina (password_hash)")
	u, _ := st.GetUserByName(ctx, "gina")
	c, _ := st.GetCredential(ctx, u.ID, store.CredentialPassword, "password")
	if string(c.Secret) != h2 {
		t.Fatalf("hash = %q", c.Secret)
	}
}

func TestResultTable(t *testing.T) {
	t.Parallel()
	r := Result{Changes: []Change{
		{Kind: KindUser, Name: "alice", Action: ActionCreate},
		{Kind: KindClient, Name: "demo", Action: ActionUpdate, Fields: []string{"redirect_uris"}},
		{Kind: KindGroup, Name: "old", Action: ActionDelete},
		{Kind: KindUser, Name: "bob", Action: ActionUnchanged},
	}}
	want := "+ user alice\n~ client demo (redirect_uris)\n- group old\n= user bob\n1 to create, 1 to update, 1 to delete, 1 unchanged\n"
	if got := r.Table(); got != want {
		t.Fatalf("Table() =\n%s\nwant\n%s", got, want)
	}
	if !r.Changed() || (Result{}).Changed() {
		t.Fatal("Changed wrong")
	}
}
