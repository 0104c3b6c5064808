package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
)

const (
	testIssuer  = "https://id.example.test"
	builderARN  = "arn:portcullis:iam::123456789012:role/builder"
	builderID   = "r-b"
	readOnlyARN = "arn:portcullis:iam::123456789012:policy/ci/S3ReadOnly"
	signingKID  = "k-1"

	s3All = `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"}]}`
	s3Get = `{"Version":"2012-10-17","Statement":[{"Sid":"GetOnly","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::*"}]}`
	// builderInline keys statements on what the session says about itself.
	builderInline = `{"Version":"2012-10-17","Statement":[
		{"Sid":"BlueTable","Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
		{"Sid":"OwnQueue","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEquals":{"aws:userid":"r-b:nightly"}}},
		{"Sid":"ByUsername","Effect":"Allow","Action":"sns:Publish","Resource":"*","Condition":{"StringEquals":{"aws:username":"nightly"}}},
		{"Sid":"Assumed","Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*","Condition":{"StringEquals":{"portcullis:PrincipalType":"AssumedRole","aws:PrincipalArn":"` + builderARN + `"}}}]}`
	readOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`
)

// sessionNow is the instant every session test sees.
var sessionNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// Generated once: ECDSA key generation is cheap, but every test needs the same pair.
var (
	ourKey   = sync.OnceValue(func() *ecdsa.PrivateKey { return newECKey() })
	otherKey = sync.OnceValue(func() *ecdsa.PrivateKey { return newECKey() })
)

func newECKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// fakeKeys publishes one ES256 key.
type fakeKeys struct{ pub []keys.Key }

func (f fakeKeys) PublicKeys() []keys.Key { return f.pub }

// fakeSessions is an in-memory authz.RoleSessions.
type fakeSessions struct {
	mu sync.Mutex
	m  map[string]store.RoleSession
}

func (f *fakeSessions) put(rs store.RoleSession) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[rs.ID] = rs
}

func (f *fakeSessions) GetRoleSession(_ context.Context, id string) (store.RoleSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs, ok := f.m[id]
	if !ok {
		return store.RoleSession{}, fmt.Errorf("role session %s: %w", id, store.ErrNotFound)
	}
	return rs, nil
}

func (f *fakeStore) deleteRole(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.roles, strings.ToLower(name))
}

func (f *fakeStore) deletePolicy(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.policies, strings.ToLower(name))
}

type sessionFixture struct {
	st       *fakeStore
	sessions *fakeSessions
	pdp      *authz.PDP
}

// newSessionFixture is a PDP that trusts ourKey, with the role "builder" (S3All and
// builderInline) and the managed policy S3ReadOnly for use as a session policy.
func newSessionFixture(t testing.TB) *sessionFixture {
	t.Helper()
	st := newFakeStore()
	st.putPolicy("S3All", s3All)
	st.putPolicy("S3ReadOnly", readOnly)
	st.putRole(store.Role{
		ID: builderID, ARN: builderARN, Name: "builder",
		ManagedPolicies: []string{"S3All"},
		InlinePolicies:  map[string]json.RawMessage{"self": json.RawMessage(builderInline)},
		Meta:            store.Meta{Version: 1},
	})
	sessions := &fakeSessions{m: map[string]store.RoleSession{}}
	pdp := authz.NewWithSessions(st, nil, authz.SessionOptions{
		Keys:     fakeKeys{pub: []keys.Key{{ID: signingKID, Algorithm: keys.ES256, Public: ourKey().Public()}}},
		Issuer:   testIssuer,
		Sessions: sessions,
		Now:      func() time.Time { return sessionNow },
	})
	return &sessionFixture{st: st, sessions: sessions, pdp: pdp}
}

// session is a live session of builder issued ten minutes ago for an hour; edit
// adjusts it before it is stored and its token claims are derived.
func (f *sessionFixture) session(id string, edit func(*store.RoleSession)) store.RoleSession {
	rs := store.RoleSession{
		ID: id, RoleID: builderID, RoleARN: builderARN, SessionName: "nightly",
		Subject: "repo:acme/app:ref:refs/heads/main", Issuer: "https://ci.example.test",
		IssuedAt: sessionNow.Add(-10 * time.Minute), ExpiresAt: sessionNow.Add(50 * time.Minute),
	}
	if edit != nil {
		edit(&rs)
	}
	if len(rs.SessionPolicy) > 0 {
		sum := sha256.Sum256(rs.SessionPolicy)
		rs.SessionPolicyDigest = hex.EncodeToString(sum[:])
	}
	f.sessions.put(rs)
	return rs
}

// claimsOf are the claims idp/sts puts in the token of rs.
func claimsOf(rs store.RoleSession) map[string]any {
	c := map[string]any{
		"iss": testIssuer, "sub": "arn:portcullis:sts::123456789012:assumed-role/builder/" + rs.SessionName,
		"aud": "sts", "exp": rs.ExpiresAt.Unix(), "iat": rs.IssuedAt.Unix(), "nbf": rs.IssuedAt.Unix(),
		"jti": rs.ID, "client_id": "sts", "role": rs.RoleARN, "role_id": rs.RoleID,
		"session_name": rs.SessionName, "source_identity": rs.Subject, "provider": rs.Issuer,
	}
	if len(rs.Tags) > 0 {
		c["tags"] = rs.Tags
	}
	if rs.SessionPolicyDigest != "" {
		c["session_policy_digest"] = rs.SessionPolicyDigest
	}
	if len(rs.PolicyARNs) > 0 {
		c["session_policy_arns"] = rs.PolicyARNs
	}
	return c
}

// sign makes a compact JWS of claims with key, kid and typ ("" leaves typ out).
func sign(t testing.TB, key *ecdsa.PrivateKey, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokenFor is the genuine session token of rs.
func tokenFor(t testing.TB, rs store.RoleSession) string {
	return sign(t, ourKey(), signingKID, "at+jwt", claimsOf(rs))
}

func TestCheckSessionEvaluatesRoleSessionAndPrincipalKeys(t *testing.T) {
	t.Parallel()
	onlyData := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Sid":"Data","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::data/*"},
		{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`)
	tests := []struct {
		name     string
		edit     func(*store.RoleSession)
		claims   func(map[string]any) // edits the token's claims only
		action   string
		resource string
		context  map[string][]string
		effect   policy.Effect
		explicit bool
		deciding []string
		missing  string
	}{
		{
			name:   "the role policy allows a session without session policies",
			action: "s3:PutObject", resource: "arn:aws:s3:::data/a",
			effect: policy.Allow, deciding: []string{"identity:S3All#All"},
		},
		{
			name:   "the role policy does not reach other services",
			action: "ec2:RunInstances", resource: "*",
			effect: policy.Deny, missing: policy.LayerIdentity,
		},
		{
			name:   "the inline session policy allows inside its scope",
			edit:   func(rs *store.RoleSession) { rs.SessionPolicy = onlyData },
			action: "s3:PutObject", resource: "arn:aws:s3:::data/a",
			effect: policy.Allow, deciding: []string{"identity:S3All#All", "session:session/PCIASESSION#Data"},
		},
		{
			name:   "the inline session policy narrows the role",
			edit:   func(rs *store.RoleSession) { rs.SessionPolicy = onlyData },
			action: "s3:PutObject", resource: "arn:aws:s3:::logs/a",
			effect: policy.Deny, missing: policy.LayerSession,
		},
		{
			name:   "a Deny in the session policy is explicit",
			edit:   func(rs *store.RoleSession) { rs.SessionPolicy = onlyData },
			action: "s3:DeleteObject", resource: "arn:aws:s3:::data/a",
			effect: policy.Deny, explicit: true, deciding: []string{"session:session/PCIASESSION#NoDelete"},
		},
		{
			name:   "a managed session policy narrows the role",
			edit:   func(rs *store.RoleSession) { rs.PolicyARNs = []string{readOnlyARN} },
			action: "s3:PutObject", resource: "arn:aws:s3:::data/a",
			effect: policy.Deny, missing: policy.LayerSession,
		},
		{
			name:   "a managed session policy allows what it names",
			edit:   func(rs *store.RoleSession) { rs.PolicyARNs = []string{readOnlyARN} },
			action: "s3:GetObject", resource: "arn:aws:s3:::logs/a",
			effect: policy.Allow, deciding: []string{"identity:S3All#All", "session:S3ReadOnly#Read"},
		},
		{
			name: "inline and managed session policies allow together",
			edit: func(rs *store.RoleSession) {
				rs.SessionPolicy = onlyData
				rs.PolicyARNs = []string{readOnlyARN}
			},
			action: "s3:GetObject", resource: "arn:aws:s3:::logs/a",
			effect: policy.Allow, deciding: []string{"identity:S3All#All", "session:S3ReadOnly#Read"},
		},
		{
			name:   "a session tag meets an aws:PrincipalTag condition",
			edit:   func(rs *store.RoleSession) { rs.Tags = map[string]string{"Team": "blue"} },
			action: "dynamodb:GetItem", resource: "*",
			effect: policy.Allow, deciding: []string{"identity:role/r-b/inline/self#BlueTable"},
		},
		{
			name:   "another tag value does not",
			edit:   func(rs *store.RoleSession) { rs.Tags = map[string]string{"team": "red"} },
			action: "dynamodb:GetItem", resource: "*",
			effect: policy.Deny, missing: policy.LayerIdentity,
		},
		{
			name:   "aws:userid is role id and session name",
			action: "sqs:SendMessage", resource: "*",
			effect: policy.Allow, deciding: []string{"identity:role/r-b/inline/self#OwnQueue"},
		},
		{
			name:   "aws:userid of another session name does not match",
			edit:   func(rs *store.RoleSession) { rs.SessionName = "nightly2" },
			action: "sqs:SendMessage", resource: "*",
			effect: policy.Deny, missing: policy.LayerIdentity,
		},
		{
			name:   "aws:username is not set for a session",
			action: "sns:Publish", resource: "*",
			effect: policy.Deny, missing: policy.LayerIdentity,
		},
		{
			name:   "PrincipalType and PrincipalArn describe the assumed role",
			action: "logs:PutLogEvents", resource: "*",
			effect: policy.Allow, deciding: []string{"identity:role/r-b/inline/self#Assumed"},
		},
		{
			name:   "nbf within the clock skew is accepted",
			claims: func(c map[string]any) { c["nbf"] = sessionNow.Add(30 * time.Second).Unix() },
			action: "s3:GetObject", resource: "arn:aws:s3:::data/a",
			effect: policy.Allow, deciding: []string{"identity:S3All#All"},
		},
		{
			name:   "aud may be an array holding sts",
			claims: func(c map[string]any) { c["aud"] = []string{"other", "sts"} },
			action: "s3:GetObject", resource: "arn:aws:s3:::data/a",
			effect: policy.Allow, deciding: []string{"identity:S3All#All"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSessionFixture(t)
			rs := f.session("PCIASESSION", tc.edit)
			claims := claimsOf(rs)
			if tc.claims != nil {
				tc.claims(claims)
			}
			tok := sign(t, ourKey(), signingKID, "at+jwt", claims)
			res, err := f.pdp.CheckSession(context.Background(), tok, tc.action, tc.resource, tc.context)
			if err != nil {
				t.Fatalf("CheckSession: %v", err)
			}
			d := res.Decision
			if d.Effect != tc.effect || d.Explicit != tc.explicit || d.MissingLayer != tc.missing || !slices.Equal(refs(d), tc.deciding) {
				t.Errorf("decision = %+v (deciding %v), want %v explicit=%v missing=%q deciding %v", d, refs(d), tc.effect, tc.explicit, tc.missing, tc.deciding)
			}
			if res.Role != builderARN || res.Session != "PCIASESSION" || res.Action != tc.action || res.Resource != tc.resource {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestCheckSessionUsesTheRolesCurrentPolicies(t *testing.T) {
	t.Parallel()
	f := newSessionFixture(t)
	tok := tokenFor(t, f.session("PCIALIVE", nil))
	check := func() policy.Effect {
		t.Helper()
		res, err := f.pdp.CheckSession(context.Background(), tok, "s3:PutObject", "arn:aws:s3:::data/a", nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Decision.Effect
	}
	if got := check(); got != policy.Allow {
		t.Fatalf("before the change: %v, want Allow", got)
	}
	// A second version that only reads becomes the default while the session lives.
	f.st.putPolicy("S3All", s3All, s3Get)
	if got := check(); got != policy.Deny {
		t.Fatalf("after the change: %v, want Deny", got)
	}
}

func TestCheckSessionDeniesSessionsThatAreNoLongerLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*store.RoleSession)
		after func(*sessionFixture, store.RoleSession) // changes the world after issue
	}{
		{name: "revoked", edit: func(rs *store.RoleSession) { rs.Revoked = true }},
		{
			// The token's exp is within the skew; the record decides.
			name: "expired a moment ago",
			edit: func(rs *store.RoleSession) {
				rs.IssuedAt = sessionNow.Add(-time.Hour)
				rs.ExpiresAt = sessionNow.Add(-10 * time.Second)
			},
		},
		{
			name: "expired long ago",
			edit: func(rs *store.RoleSession) {
				rs.IssuedAt = sessionNow.Add(-2 * time.Hour)
				rs.ExpiresAt = sessionNow.Add(-time.Hour)
			},
		},
		{
			name: "unknown (swept or never stored)",
			after: func(f *sessionFixture, rs store.RoleSession) {
				f.sessions.mu.Lock()
				delete(f.sessions.m, rs.ID)
				f.sessions.mu.Unlock()
			},
		},
		{name: "role deleted", after: func(f *sessionFixture, _ store.RoleSession) { f.st.deleteRole("builder") }},
		{
			name: "role deleted and created again under the same ARN",
			after: func(f *sessionFixture, _ store.RoleSession) {
				f.st.putRole(store.Role{ID: "r-new", ARN: builderARN, Name: "builder", ManagedPolicies: []string{"S3All"}})
			},
		},
		{
			name:  "managed session policy deleted",
			edit:  func(rs *store.RoleSession) { rs.PolicyARNs = []string{readOnlyARN} },
			after: func(f *sessionFixture, _ store.RoleSession) { f.st.deletePolicy("S3ReadOnly") },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSessionFixture(t)
			rs := f.session("PCIADEAD", tc.edit)
			tok := tokenFor(t, rs)
			if tc.after != nil {
				tc.after(f, rs)
			}
			_, err := f.pdp.CheckSession(context.Background(), tok, "s3:GetObject", "arn:aws:s3:::data/a", nil)
			var se *authz.SessionError
			if !errors.As(err, &se) || !errors.Is(err, authz.ErrSessionInvalid) || errors.Is(err, authz.ErrSessionTokenInvalid) {
				t.Fatalf("err = %v, want a SessionError wrapping ErrSessionInvalid", err)
			}
			if se.Reason != "session revoked or expired" {
				t.Errorf("reason = %q", se.Reason)
			}
			if se.Session != "PCIADEAD" || se.Role != builderARN {
				t.Errorf("session %q role %q, want the token's", se.Session, se.Role)
			}
			if d := se.Decision(); d.Effect != policy.Deny || d.Reason != authz.ReasonSessionInvalid {
				t.Errorf("decision = %+v", d)
			}
		})
	}
}

func TestCheckSessionRefusesTokensWeDidNotIssueForIt(t *testing.T) {
	t.Parallel()
	f := newSessionFixture(t)
	rs := f.session("PCIAREAL", func(rs *store.RoleSession) { rs.Tags = map[string]string{"team": "red"} })
	claims := func(edit func(map[string]any)) map[string]any {
		c := claimsOf(rs)
		edit(c)
		return c
	}
	same := func(map[string]any) {}
	hs256, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", signingKID))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claimsOf(rs))
	hsJWS, err := hs256.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	hsTok, _ := hsJWS.CompactSerialize()
	b64 := base64.RawURLEncoding.EncodeToString
	genuine := tokenFor(t, rs)

	tests := []struct {
		name     string
		token    string
		verified bool // the signature was ours: the error names the session
	}{
		{"signed by another key under our kid", sign(t, otherKey(), signingKID, "at+jwt", claims(same)), false},
		{"unknown kid", sign(t, ourKey(), "k-2", "at+jwt", claims(same)), false},
		{"an ID token (typ JWT)", sign(t, ourKey(), signingKID, "JWT", claims(same)), false},
		{"no typ", sign(t, ourKey(), signingKID, "", claims(same)), false},
		{"HS256 is not among our algorithms", hsTok, false},
		{"alg none", b64([]byte(`{"alg":"none","typ":"at+jwt","kid":"k-1"}`)) + "." + b64(payload) + ".", false},
		{"payload swapped under a genuine signature", strings.Split(genuine, ".")[0] + "." + b64([]byte(strings.ReplaceAll(string(payload), "red", "blue"))) + "." + strings.Split(genuine, ".")[2], false},
		{"not a JWT", "PCIAREAL", false},
		{"JSON serialization", `{"payload":"e30","signatures":[]}`, false},
		{"wrong issuer", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["iss"] = "https://evil.example.test" })), true},
		{"wrong audience", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["aud"] = "api" })), true},
		{"not yet valid", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["nbf"] = sessionNow.Add(5 * time.Minute).Unix() })), true},
		{"no exp", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { delete(c, "exp") })), true},
		{"tags differ from the stored session", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["tags"] = map[string]string{"team": "blue"} })), true},
		{"role differs from the stored session", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["role"] = "arn:portcullis:iam::123456789012:role/admin" })), true},
		{"session policy digest claimed without a stored policy", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["session_policy_digest"] = strings.Repeat("ab", 32) })), true},
		{"session policy ARNs the stored session lacks", sign(t, ourKey(), signingKID, "at+jwt", claims(func(c map[string]any) { c["session_policy_arns"] = []string{readOnlyARN} })), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.pdp.CheckSession(context.Background(), tc.token, "s3:GetObject", "arn:aws:s3:::data/a", nil)
			var se *authz.SessionError
			if !errors.As(err, &se) || !errors.Is(err, authz.ErrSessionTokenInvalid) || errors.Is(err, authz.ErrSessionInvalid) {
				t.Fatalf("err = %v, want a SessionError wrapping ErrSessionTokenInvalid", err)
			}
			if se.Reason != authz.ReasonSessionTokenInvalid || se.Decision().Effect != policy.Deny {
				t.Errorf("reason %q decision %+v", se.Reason, se.Decision())
			}
			if named := se.Session != ""; named != tc.verified {
				t.Errorf("session named = %q, want named only after a verified signature", se.Session)
			}
		})
	}
	// The fixture's own token still passes: the refusals above are about the changes.
	if res, err := f.pdp.CheckSession(context.Background(), genuine, "s3:GetObject", "arn:aws:s3:::data/a", nil); err != nil || res.Decision.Effect != policy.Allow {
		t.Fatalf("genuine token: %+v, %v", res, err)
	}
}

func TestCheckSessionRefusesBadRequestsNamingTheField(t *testing.T) {
	t.Parallel()
	f := newSessionFixture(t)
	tok := tokenFor(t, f.session("PCIAINPUT", nil))
	tests := []struct {
		name             string
		token            string
		action, resource string
		context          map[string][]string
		fields           []string
	}{
		{"no token", "", "s3:GetObject", "*", nil, []string{"session_token"}},
		{"no action or resource", tok, "", "", nil, []string{"action", "resource"}},
		{"a tag posed by the request", tok, "s3:GetObject", "*", map[string][]string{"aws:PrincipalTag/team": {"blue"}}, []string{`context["aws:PrincipalTag/team"]`}},
		{
			"session keys posed by the request, either spelling", tok, "s3:GetObject", "*",
			map[string][]string{"AWS:userid": {"x"}, "portcullis:username": {"nightly"}, "aws:SourceIp": {"192.0.2.1"}},
			[]string{`context["AWS:userid"]`, `context["portcullis:username"]`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.pdp.CheckSession(context.Background(), tc.token, tc.action, tc.resource, tc.context)
			if !errors.Is(err, authz.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			var fields []string
			for _, p := range authz.Problems(err) {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields = %v, want %v", fields, tc.fields)
			}
		})
	}
}

func TestCheckSessionNeedsSessionOptions(t *testing.T) {
	t.Parallel()
	pdp := authz.New(newFakeStore(), nil)
	if _, err := pdp.CheckSession(context.Background(), "x.y.z", "s3:GetObject", "*", nil); !errors.Is(err, authz.ErrSessionsDisabled) {
		t.Fatalf("err = %v, want ErrSessionsDisabled", err)
	}
}

// FuzzCheckSessionToken: whatever the token, CheckSession never panics, answers only
// with a deny-carrying SessionError (or a decision for the one stored session), and
// never a request error or an internal one.
func FuzzCheckSessionToken(f *testing.F) {
	fx := newSessionFixture(f)
	rs := fx.session("PCIAFUZZ", func(rs *store.RoleSession) {
		rs.Tags = map[string]string{"team": "blue"}
		rs.PolicyARNs = []string{readOnlyARN}
	})
	genuine := tokenFor(f, rs)
	parts := strings.Split(genuine, ".")
	for _, seed := range []string{
		genuine, parts[0] + "." + parts[1] + ".", parts[0] + "..", "a.b.c", ".", "e30.e30.e30",
		sign(f, ourKey(), signingKID, "JWT", claimsOf(rs)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if token == "" {
			return
		}
		res, err := fx.pdp.CheckSession(context.Background(), token, "s3:GetObject", "arn:aws:s3:::data/a", nil)
		var se *authz.SessionError
		switch {
		case err == nil:
			if res.Session != rs.ID || res.Role != builderARN {
				t.Fatalf("decided for %+v", res)
			}
		case errors.As(err, &se):
			if se.Decision().Effect != policy.Deny || se.Reason == "" {
				t.Fatalf("refusal %+v", se)
			}
		default:
			t.Fatalf("err = %v, want a SessionError", err)
		}
	})
}
