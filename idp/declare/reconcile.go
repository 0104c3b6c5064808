package declare

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

// SourceDeclarative marks entities created by a Reconciler; only they are pruned.
const SourceDeclarative = "declarative"

// passwordCredentialID is the ID of a user's password credential.
const passwordCredentialID = "password"

// errDryRun aborts the transaction of a dry run after the plan is computed.
var errDryRun = errors.New("dry run")

// Options tune one Apply.
type Options struct {
	// DryRun computes the plan and writes nothing.
	DryRun bool
	// Prune deletes declarative users, groups, clients, policies, roles and role
	// mappings absent from the documents.
	Prune bool
	// Actor is recorded in audit events ("token:ci/1a2b", "config").
	Actor string
}

// Reconciler applies documents to a store.
type Reconciler struct {
	st   store.Store
	pw   PasswordHasher
	cl   ClientService
	rec  audit.Recorder
	now  func() time.Time
	rand io.Reader
	// pv and account are set by WithPolicies.
	pv      PolicyValidator
	account string
	// providers is set by WithProviders.
	providers ProviderService
}

// New returns a Reconciler. now and rand are injected for tests.
func New(st store.Store, pw PasswordHasher, cl ClientService, rec audit.Recorder, now func() time.Time, rand io.Reader) *Reconciler {
	if rec == nil {
		rec = audit.Discard{}
	}
	return &Reconciler{st: st, pw: pw, cl: cl, rec: rec, now: now, rand: rand}
}

// Apply validates docs, then plans and applies them in one store transaction. On any
// error nothing is written. With opts.DryRun the plan is returned and the transaction
// is rolled back.
func (r *Reconciler) Apply(ctx context.Context, docs []Document, opts Options) (Result, error) {
	actor := opts.Actor
	if actor == "" {
		actor = SourceDeclarative
	}
	if err := r.validate(docs); err != nil {
		r.rec.Record(ctx, audit.Event{Actor: actor, Action: "declare.apply", Outcome: audit.Failure, Reason: "validation failed"})
		return Result{}, fmt.Errorf("validate declarations: %w", err)
	}
	now := r.now().UTC()
	var res Result
	err := r.st.Atomic(ctx, func(tx store.Tx) error {
		a := &applier{r: r, tx: tx, now: now, opts: opts, res: Result{DryRun: opts.DryRun, Changes: []Change{}}}
		if err := a.run(ctx, docs); err != nil {
			return err
		}
		res = a.res
		if opts.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		res.ClientSecrets = nil
		return res, nil
	}
	if err != nil {
		r.rec.Record(ctx, audit.Event{Actor: actor, Action: "declare.apply", Outcome: audit.Failure, Reason: err.Error()})
		return Result{}, fmt.Errorf("apply declarations: %w", err)
	}
	if r.providers != nil && providersChanged(res) {
		r.providers.Changed(ctx)
	}
	// Recorded after the commit: the recorder writes to the store, which must not be
	// used inside Atomic, and only changes that happened belong in the trail.
	for _, c := range res.Changes {
		if c.Action == ActionUnchanged {
			continue
		}
		e := audit.Event{Actor: actor, Action: "declare." + c.Kind + "." + c.Action, Target: c.Kind + ":" + c.Name, Outcome: audit.Success}
		if len(c.Fields) > 0 {
			e.Details = map[string]string{"fields": strings.Join(c.Fields, ",")}
		}
		r.rec.Record(ctx, e)
	}
	return res, nil
}

// applier carries one run of the transaction function (which may be re-run).
type applier struct {
	r    *Reconciler
	tx   store.Tx
	now  time.Time
	opts Options
	res  Result
}

func (a *applier) add(kind, name, action string, fields []string) {
	a.res.Changes = append(a.res.Changes, Change{Kind: kind, Name: name, Action: action, Fields: fields})
}

func (a *applier) run(ctx context.Context, docs []Document) error {
	users, groups, clients := map[string]bool{}, map[string]bool{}, map[string]bool{}
	// Users first: groups name them as members.
	for di := range docs {
		for i, u := range docs[di].Users {
			users[strings.ToLower(u.UserName)] = true
			if err := a.user(ctx, &docs[di], i, u); err != nil {
				return err
			}
		}
	}
	for di := range docs {
		for i, g := range docs[di].Groups {
			groups[strings.ToLower(g.Name)] = true
			if err := a.group(ctx, &docs[di], i, g); err != nil {
				return err
			}
		}
	}
	for di := range docs {
		for i, c := range docs[di].Clients {
			clients[c.ID] = true
			if err := a.client(ctx, &docs[di], i, c); err != nil {
				return err
			}
		}
	}
	kept, err := a.applyIAM(ctx, docs)
	if err != nil {
		return err
	}
	keptProviders, err := a.applyProviders(ctx, docs)
	if err != nil {
		return err
	}
	if a.opts.Prune {
		if err := a.pruneProviders(ctx, keptProviders); err != nil {
			return err
		}
		// IAM first: a declarative role mapping may outlive nothing it names.
		if err := a.pruneIAM(ctx, kept); err != nil {
			return err
		}
		return a.prune(ctx, users, groups, clients)
	}
	return nil
}

// diff collects the names of fields that differ while copying the wanted values.
type diff []string

func setField[T comparable](d *diff, name string, cur *T, want T) {
	if *cur != want {
		*cur = want
		*d = append(*d, name)
	}
}

func setList(d *diff, name string, cur *[]string, want []string) {
	if !slices.Equal(*cur, want) {
		*cur = slices.Clone(want)
		*d = append(*d, name)
	}
}

// roleSet is roles sorted without duplicates, so order in the file does not matter.
func roleSet(roles []string) []string {
	out := slices.Clone(roles)
	slices.Sort(out)
	return slices.Compact(out)
}

func (a *applier) user(ctx context.Context, d *Document, i int, u User) error {
	p := fmt.Sprintf("users[%d]", i)
	cur, err := a.tx.GetUserByName(ctx, u.UserName)
	if errors.Is(err, store.ErrNotFound) {
		created, err := a.tx.CreateUser(ctx, store.User{
			UserName:    u.UserName,
			DisplayName: u.DisplayName,
			Emails:      slices.Clone(u.Emails),
			Active:      u.IsActive(),
			Roles:       roleSet(u.Roles),
			Source:      SourceDeclarative,
		})
		if err != nil {
			return locate(d, p, fmt.Errorf("create user %q: %w", u.UserName, err))
		}
		switch {
		case u.PasswordHash != "":
			err = a.putPassword(ctx, created.ID, u.PasswordHash, false, 0)
		case u.InitialPassword != "" && !a.opts.DryRun:
			// Hashing is slow on purpose; a dry run rolls back anyway.
			var hash string
			hash, err = a.r.pw.Hash(u.InitialPassword)
			if err == nil {
				err = a.putPassword(ctx, created.ID, hash, true, 0)
			}
		}
		if err != nil {
			return locate(d, p, fmt.Errorf("set password of user %q: %w", u.UserName, err))
		}
		a.add(KindUser, u.UserName, ActionCreate, nil)
		return nil
	}
	if err != nil {
		return locate(d, p, fmt.Errorf("look up user %q: %w", u.UserName, err))
	}
	var ch diff
	next := cur
	setField(&ch, "user_name", &next.UserName, u.UserName)
	setField(&ch, "display_name", &next.DisplayName, u.DisplayName)
	setList(&ch, "emails", &next.Emails, u.Emails)
	setField(&ch, "active", &next.Active, u.IsActive())
	setList(&ch, "roles", &next.Roles, roleSet(u.Roles))
	if len(ch) > 0 {
		if _, err := a.tx.UpdateUser(ctx, next); err != nil {
			return locate(d, p, fmt.Errorf("update user %q: %w", u.UserName, err))
		}
		if cur.Active && !next.Active {
			// A deactivated user loses what lets them in, in the same transaction.
			if err := a.tx.RevokeUserSessions(ctx, cur.ID); err != nil {
				return locate(d, p, fmt.Errorf("revoke sessions of user %q: %w", u.UserName, err))
			}
			if _, err := a.tx.RevokeUserRefreshTokens(ctx, cur.ID); err != nil {
				return locate(d, p, fmt.Errorf("revoke refresh tokens of user %q: %w", u.UserName, err))
			}
		}
	}
	if u.PasswordHash != "" {
		cred, err := a.tx.GetCredential(ctx, cur.ID, store.CredentialPassword, passwordCredentialID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cred = store.Credential{}
		case err != nil:
			return locate(d, p, fmt.Errorf("read password of user %q: %w", u.UserName, err))
		}
		if subtle.ConstantTimeCompare(cred.Secret, []byte(u.PasswordHash)) != 1 {
			if err := a.putPassword(ctx, cur.ID, u.PasswordHash, false, cred.Version); err != nil {
				return locate(d, p, fmt.Errorf("set password of user %q: %w", u.UserName, err))
			}
			ch = append(ch, "password_hash")
		}
	}
	if len(ch) > 0 {
		a.add(KindUser, u.UserName, ActionUpdate, ch)
	} else {
		a.add(KindUser, u.UserName, ActionUnchanged, nil)
	}
	return nil
}

func (a *applier) putPassword(ctx context.Context, userID, hash string, mustChange bool, version int64) error {
	_, err := a.tx.PutCredential(ctx, store.Credential{
		UserID:     userID,
		Type:       store.CredentialPassword,
		ID:         passwordCredentialID,
		Secret:     []byte(hash),
		MustChange: mustChange,
		Meta:       store.Meta{Version: version},
	})
	return err
}

func (a *applier) group(ctx context.Context, d *Document, i int, g Group) error {
	p := fmt.Sprintf("groups[%d]", i)
	members := make([]string, 0, len(g.Members))
	for j, m := range g.Members {
		u, err := a.tx.GetUserByName(ctx, m)
		if errors.Is(err, store.ErrNotFound) {
			return d.errAt(fmt.Sprintf("%s.members[%d]", p, j), "no user named %q in the store or the documents", m)
		}
		if err != nil {
			return locate(d, p, fmt.Errorf("look up member %q of group %q: %w", m, g.Name, err))
		}
		members = append(members, u.ID)
	}
	slices.Sort(members)
	members = slices.Compact(members)

	cur, err := a.tx.GetGroupByName(ctx, g.Name)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := a.tx.CreateGroup(ctx, store.Group{DisplayName: g.Name, Members: members, Source: SourceDeclarative}); err != nil {
			return locate(d, p, fmt.Errorf("create group %q: %w", g.Name, err))
		}
		a.add(KindGroup, g.Name, ActionCreate, nil)
		return nil
	}
	if err != nil {
		return locate(d, p, fmt.Errorf("look up group %q: %w", g.Name, err))
	}
	var ch diff
	next := cur
	setField(&ch, "name", &next.DisplayName, g.Name)
	have := slices.Clone(cur.Members)
	slices.Sort(have)
	if !slices.Equal(have, members) {
		next.Members = members
		ch = append(ch, "members")
	}
	if len(ch) == 0 {
		a.add(KindGroup, g.Name, ActionUnchanged, nil)
		return nil
	}
	if _, err := a.tx.UpdateGroup(ctx, next); err != nil {
		return locate(d, p, fmt.Errorf("update group %q: %w", g.Name, err))
	}
	a.add(KindGroup, g.Name, ActionUpdate, ch)
	return nil
}

func (a *applier) client(ctx context.Context, d *Document, i int, c Client) error {
	p := fmt.Sprintf("clients[%d]", i)
	want := c.storeClient()
	pinned, err := pinnedDigests(c.SecretSHA256)
	if err != nil {
		return d.errAt(p+".secret_sha256", "%v", err)
	}
	cur, err := a.tx.GetClient(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		if !c.Public {
			want.Secrets, err = a.secretsFor(nil, pinned, c.ID)
			if err != nil {
				return locate(d, p, err)
			}
		}
		want.Source = SourceDeclarative
		if _, err := a.tx.CreateClient(ctx, want); err != nil {
			return locate(d, p, fmt.Errorf("create client %q: %w", c.ID, err))
		}
		a.add(KindClient, c.ID, ActionCreate, nil)
		return nil
	}
	if err != nil {
		return locate(d, p, fmt.Errorf("look up client %q: %w", c.ID, err))
	}
	var ch diff
	next := cur
	setField(&ch, "name", &next.Name, want.Name)
	setField(&ch, "public", &next.Public, want.Public)
	setField(&ch, "native", &next.Native, want.Native)
	setList(&ch, "redirect_uris", &next.RedirectURIs, want.RedirectURIs)
	setList(&ch, "post_logout_redirect_uris", &next.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs)
	setList(&ch, "grant_types", &next.GrantTypes, want.GrantTypes)
	setList(&ch, "scopes", &next.Scopes, want.Scopes)
	setField(&ch, "access_token_format", &next.AccessTokenFormat, want.AccessTokenFormat)
	setField(&ch, "access_token_lifetime", &next.AccessTokenLifetime, want.AccessTokenLifetime)
	setField(&ch, "id_token_lifetime", &next.IDTokenLifetime, want.IDTokenLifetime)
	setField(&ch, "refresh_token_lifetime", &next.RefreshTokenLifetime, want.RefreshTokenLifetime)
	setField(&ch, "require_mfa", &next.RequireMFA, want.RequireMFA)
	switch {
	case c.Public:
		if len(cur.Secrets) > 0 {
			next.Secrets = nil
			ch = append(ch, "secrets")
		}
	case len(pinned) > 0 || len(cur.Secrets) == 0:
		secrets, err := a.secretsFor(cur.Secrets, pinned, c.ID)
		if err != nil {
			return locate(d, p, err)
		}
		if !sameDigests(cur.Secrets, secrets) {
			next.Secrets = secrets
			if len(pinned) > 0 {
				ch = append(ch, "secret_sha256")
			} else {
				ch = append(ch, "secrets")
			}
		}
	}
	if len(ch) == 0 {
		a.add(KindClient, c.ID, ActionUnchanged, nil)
		return nil
	}
	if _, err := a.tx.UpdateClient(ctx, next); err != nil {
		return locate(d, p, fmt.Errorf("update client %q: %w", c.ID, err))
	}
	a.add(KindClient, c.ID, ActionUpdate, ch)
	return nil
}

// secretsFor returns the secrets a confidential client should hold: the pinned digests
// (keeping the records of those it already has), or one generated secret when nothing
// is pinned; the generated one is reported in Result.ClientSecrets.
func (a *applier) secretsFor(have []store.ClientSecret, pinned [][]byte, clientID string) ([]store.ClientSecret, error) {
	if len(pinned) == 0 {
		if a.opts.DryRun {
			// Planned, not minted: a dry run must not show a secret that never exists.
			return []store.ClientSecret{{ID: "planned", Digest: make([]byte, 32), CreatedAt: a.now}}, nil
		}
		plain, s, err := a.r.cl.NewClientSecret(a.r.rand, a.now, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("generate secret for client %q: %w", clientID, err)
		}
		if a.res.ClientSecrets == nil {
			a.res.ClientSecrets = map[string]string{}
		}
		a.res.ClientSecrets[clientID] = plain
		return []store.ClientSecret{s}, nil
	}
	out := make([]store.ClientSecret, 0, len(pinned))
	for _, dg := range pinned {
		i := slices.IndexFunc(have, func(s store.ClientSecret) bool { return bytes.Equal(s.Digest, dg) })
		if i >= 0 {
			out = append(out, have[i])
			continue
		}
		id, err := randomID(a.r.rand)
		if err != nil {
			return nil, fmt.Errorf("secret id for client %q: %w", clientID, err)
		}
		out = append(out, store.ClientSecret{ID: id, Digest: dg, CreatedAt: a.now})
	}
	return out, nil
}

func pinnedDigests(hexes []string) ([][]byte, error) {
	out := make([][]byte, 0, len(hexes))
	for _, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, errors.New("must be 64 hexadecimal characters (a SHA-256 digest)")
		}
		out = append(out, b)
	}
	return out, nil
}

func sameDigests(a, b []store.ClientSecret) bool {
	return slices.EqualFunc(a, b, func(x, y store.ClientSecret) bool { return bytes.Equal(x.Digest, y.Digest) })
}

func randomID(rand io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// prune deletes declarative clients, groups and users that no document names; entities
// an administrator, SCIM or a connector created are never touched.
func (a *applier) prune(ctx context.Context, users, groups, clients map[string]bool) error {
	cs, err := a.tx.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("prune: list clients: %w", err)
	}
	slices.SortFunc(cs, func(x, y store.Client) int { return strings.Compare(x.ID, y.ID) })
	for _, c := range cs {
		if c.Source != SourceDeclarative || clients[c.ID] {
			continue
		}
		if err := a.tx.DeleteClient(ctx, c.ID); err != nil {
			return fmt.Errorf("prune: delete client %q: %w", c.ID, err)
		}
		a.add(KindClient, c.ID, ActionDelete, nil)
	}
	gs, err := a.tx.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("prune: list groups: %w", err)
	}
	slices.SortFunc(gs, func(x, y store.Group) int {
		return strings.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName))
	})
	for _, g := range gs {
		if g.Source != SourceDeclarative || groups[strings.ToLower(g.DisplayName)] {
			continue
		}
		if err := a.tx.DeleteGroup(ctx, g.ID); err != nil {
			return fmt.Errorf("prune: delete group %q: %w", g.DisplayName, err)
		}
		a.add(KindGroup, g.DisplayName, ActionDelete, nil)
	}
	us, err := a.tx.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("prune: list users: %w", err)
	}
	slices.SortFunc(us, func(x, y store.User) int {
		return strings.Compare(strings.ToLower(x.UserName), strings.ToLower(y.UserName))
	})
	for _, u := range us {
		if u.Source != SourceDeclarative || users[strings.ToLower(u.UserName)] {
			continue
		}
		if err := a.tx.DeleteUser(ctx, u.ID); err != nil {
			return fmt.Errorf("prune: delete user %q: %w", u.UserName, err)
		}
		a.add(KindUser, u.UserName, ActionDelete, nil)
	}
	return nil
}

// locate wraps err with the document position of path.
func locate(d *Document, path string, err error) error {
	return fmt.Errorf("%s:%d: %s: %w", d.Source, d.lineOf(path), path, err)
}
