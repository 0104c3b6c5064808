package sts_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

const (
	account   = "123456789012"
	issuer    = "https://portcullis.test"
	gha       = "https://token.actions.githubusercontent.com"
	roleARN   = "arn:portcullis:iam::" + account + ":role/ci/deploy"
	mainSub   = "repo:acme/app:ref:refs/heads/main"
	branchSub = "repo:acme/app:ref:refs/heads/feature"
)

// trustGitHubMain admits the main branch of acme/app through the audience AWS's own
// GitHub setup uses.
const trustGitHubMain = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Principal":{"Federated":"arn:portcullis:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
 "Action":"sts:AssumeRoleWithWebIdentity",
 "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
              "StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`

// fakeVerifier maps tokens to identities or errors and counts calls.
type fakeVerifier struct {
	calls  atomic.Int64
	tokens map[string]sts.Identity
	errs   map[string]error
}

func (f *fakeVerifier) VerifyWebIdentity(_ context.Context, token string) (sts.Identity, error) {
	f.calls.Add(1)
	if err, ok := f.errs[token]; ok {
		return sts.Identity{}, err
	}
	id, ok := f.tokens[token]
	if !ok {
		return sts.Identity{}, sts.ErrInvalidIdentityToken
	}
	return id, nil
}

// githubIdentity is shaped like a verified GitHub Actions token (SPEC §9).
func githubIdentity(sub string) sts.Identity {
	const p = "token.actions.githubusercontent.com:"
	return sts.Identity{
		Issuer: gha, Subject: sub, Audience: []string{"sts.amazonaws.com"},
		ConditionKeys: map[string][]string{
			p + "sub": {sub}, p + "aud": {"sts.amazonaws.com"}, p + "repository": {"acme/app"},
			p + "ref": {"refs/heads/" + sub[strings.LastIndexByte(sub, '/')+1:]}, p + "runner_environment": {"github-hosted"},
			// A claim posing as a service key must not reach the context.
			"aws:SourceIp": {"10.0.0.1"},
		},
		Expiry: time.Now().Add(5 * time.Minute),
	}
}

type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}

type harness struct {
	srv      *httptest.Server
	svc      *sts.Service
	st       *bolt.Store
	km       *keys.Manager
	sealer   *seal.Sealer
	verifier *fakeVerifier
	audit    *recorder
	now      time.Time
	role     store.Role
}

// newHarness serves a Service on httptest; opts adjust its Deps.
func newHarness(t testing.TB, opts ...func(*sts.Deps)) *harness {
	t.Helper()
	ctx := t.Context()
	st, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "portcullis.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := make([]byte, seal.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.New(ctx, st, sealer, keys.Options{Algorithm: keys.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateManagedPolicy(ctx, store.ManagedPolicy{Name: "read-only", Versions: []store.PolicyVersion{{
		Document: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`),
	}}}); err != nil {
		t.Fatal(err)
	}
	role, err := st.CreateRole(ctx, store.Role{
		ID: "PROADEPLOY", Name: "deploy", Path: "/ci/", ARN: roleARN,
		TrustPolicy: json.RawMessage(trustGitHubMain), MaxSessionDuration: 2 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	tagged := githubIdentity(mainSub)
	tagged.Tags = map[string]string{"Team": "web"}
	h := &harness{
		st: st, km: km, sealer: sealer, audit: &recorder{}, role: role,
		now: time.Now().UTC().Truncate(time.Second),
		verifier: &fakeVerifier{
			tokens: map[string]sts.Identity{
				"tok-main":   githubIdentity(mainSub),
				"tok-branch": githubIdentity(branchSub),
				"tok-tagged": tagged,
			},
			errs: map[string]error{
				"tok-expired": errors.Join(sts.ErrExpiredToken, errors.New("exp 5m ago")),
				"tok-offline": errors.Join(sts.ErrIDPCommunication, errors.New("jwks: connection refused")),
			},
		},
	}
	deps := sts.Deps{
		Store: st, Verifier: h.verifier, Sealer: sealer, Keys: km, Issuer: issuer, Account: account,
		Now: func() time.Time { return h.now }, Audit: h.audit,
	}
	for _, o := range opts {
		o(&deps)
	}
	svc, err := sts.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	mux := http.NewServeMux()
	svc.Mount(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// client is the real SDK client pointed at the server; attempts bounds its retries
// (with no backoff, so tests stay fast).
func (h *harness) client(attempts int) *awssts.Client {
	return awssts.New(awssts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(h.srv.URL + "/sts"),
		HTTPClient:   h.srv.Client(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
}

func input(token string) *awssts.AssumeRoleWithWebIdentityInput {
	return &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("gha-42"), WebIdentityToken: aws.String(token),
	}
}

var accessKeyPattern = regexp.MustCompile(`^PCIA[0-9A-V]{16}$`)

func TestAssumeRoleWithWebIdentityIssuesVerifiableCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	sessionPolicy := `{ "Version": "2012-10-17",
	  "Statement": [ { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*" } ] }`
	in := input("tok-main")
	in.DurationSeconds = aws.Int32(5400)
	in.Policy = aws.String(sessionPolicy)
	in.PolicyArns = []types.PolicyDescriptorType{{Arn: aws.String("arn:portcullis:iam::" + account + ":policy/read-only")}}
	out, err := h.client(1).AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		t.Fatal(err)
	}

	c := out.Credentials
	if !accessKeyPattern.MatchString(aws.ToString(c.AccessKeyId)) {
		t.Errorf("AccessKeyId = %q, want PCIA and 16 base32 characters", aws.ToString(c.AccessKeyId))
	}
	secret := aws.ToString(c.SecretAccessKey)
	if len(secret) != 40 {
		t.Errorf("SecretAccessKey has %d characters, want 40", len(secret))
	}
	if want := h.now.Add(90 * time.Minute); c.Expiration == nil || !c.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", c.Expiration, want)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:portcullis:sts::"+account+":assumed-role/deploy/gha-42"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
	}
	if got := aws.ToString(out.AssumedRoleUser.AssumedRoleId); got != "PROADEPLOY:gha-42" {
		t.Errorf("AssumedRoleId = %q", got)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != mainSub || aws.ToString(out.Provider) != gha ||
		aws.ToString(out.Audience) != "sts.amazonaws.com" {
		t.Errorf("subject/provider/audience = %q %q %q", aws.ToString(out.SubjectFromWebIdentityToken),
			aws.ToString(out.Provider), aws.ToString(out.Audience))
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Errorf("PackedPolicySize = %v, want a percentage", out.PackedPolicySize)
	}

	// The session token verifies with the published key and carries the session.
	claims := verifySessionToken(t, h.km, aws.ToString(c.SessionToken))
	compact := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/*"}]}`
	sum := sha256.Sum256([]byte(compact))
	digest := hex.EncodeToString(sum[:])
	want := sts.SessionClaims{
		Issuer: issuer, Subject: aws.ToString(out.AssumedRoleUser.Arn), Audience: "sts",
		Expiry: h.now.Add(90 * time.Minute).Unix(), IssuedAt: h.now.Unix(), NotBefore: h.now.Unix(),
		JWTID: aws.ToString(c.AccessKeyId), ClientID: "sts", Role: roleARN, RoleID: "PROADEPLOY",
		SessionName: "gha-42", SourceIdentity: mainSub, Provider: gha, SessionPolicyDigest: digest,
		SessionPolicyARNs: []string{"arn:portcullis:iam::" + account + ":policy/read-only"},
	}
	if g, w := mustJSON(t, claims), mustJSON(t, want); g != w {
		t.Errorf("session token claims\n got %s\nwant %s", g, w)
	}

	// The stored session holds the secret sealed to its record, never in clear.
	rs, err := h.st.GetRoleSession(ctx, aws.ToString(c.AccessKeyId))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rs.SecretSealed), secret) {
		t.Error("stored secret contains the plaintext")
	}
	opened, err := h.sealer.Open(rs.SecretSealed, []byte("role_sessions/"+rs.ID))
	if err != nil || string(opened) != secret {
		t.Errorf("sealed secret opens to %q, %v; want the issued secret", opened, err)
	}
	if _, err := h.sealer.Open(rs.SecretSealed, []byte("role_sessions/PCIAOTHER")); !errors.Is(err, seal.ErrUnseal) {
		t.Errorf("sealed secret opens for another record: %v", err)
	}
	if rs.RoleID != "PROADEPLOY" || rs.SessionName != "gha-42" || rs.Subject != mainSub || rs.Issuer != gha ||
		rs.SessionPolicyDigest != digest || string(rs.SessionPolicy) != compact || !rs.ExpiresAt.Equal(h.now.Add(90*time.Minute)) {
		t.Errorf("stored session = %+v", rs)
	}

	ev := h.audit.all()
	if len(ev) != 1 || ev[0].Outcome != audit.Success || ev[0].Target != roleARN || ev[0].Details["access_key_id"] != rs.ID {
		t.Errorf("audit = %+v, want one success naming the access key", ev)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// verifySessionToken checks the JWS against the JWKS the key manager publishes.
func verifySessionToken(t *testing.T, km *keys.Manager, token string) sts.SessionClaims {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse session token: %v", err)
	}
	hdr := jws.Signatures[0].Header
	if hdr.ExtraHeaders[jose.HeaderType] != "at+jwt" || hdr.KeyID != km.Current().ID {
		t.Errorf("header typ %v kid %q, want at+jwt and %q", hdr.ExtraHeaders[jose.HeaderType], hdr.KeyID, km.Current().ID)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(km.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	ks := set.Key(hdr.KeyID)
	if len(ks) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q", len(ks), hdr.KeyID)
	}
	payload, err := jws.Verify(ks[0].Key)
	if err != nil {
		t.Fatalf("verify session token: %v", err)
	}
	var claims sts.SessionClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestWebIdentityProviderRetrievesCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := stscreds.NewWebIdentityRoleProvider(h.client(3), roleARN, stscreds.IdentityTokenFile(writeToken(t, "tok-main")),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "gha-7" })
	creds, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !accessKeyPattern.MatchString(creds.AccessKeyID) || creds.SessionToken == "" || !creds.CanExpire ||
		!creds.Expires.Equal(h.now.Add(time.Hour)) {
		t.Errorf("credentials = %+v, want a PCIA key expiring in the default hour", creds)
	}
}

func writeToken(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInvalidTokenRetriedThreeTimes: the SDK's web identity provider retries
// InvalidIdentityToken (SPEC §1.8); each attempt is verified and refused the same way,
// and the service keeps serving.
func TestInvalidTokenRetriedThreeTimes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := stscreds.NewWebIdentityRoleProvider(h.client(3), roleARN, stscreds.IdentityTokenFile(writeToken(t, "tok-forged")))
	_, err := p.Retrieve(t.Context())
	var invalid *types.InvalidIdentityTokenException
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want InvalidIdentityTokenException", err)
	}
	if n := h.verifier.calls.Load(); n != 3 {
		t.Errorf("verifier called %d times, want 3 (one per SDK attempt)", n)
	}
	ev := h.audit.all()
	if len(ev) != 3 {
		t.Fatalf("audit events = %d, want 3", len(ev))
	}
	for _, e := range ev {
		if e.Outcome != audit.Failure || e.Actor != "anonymous" || e.Details["code"] != "InvalidIdentityToken" || e.RequestID == "" {
			t.Errorf("audit event = %+v", e)
		}
	}
	if ev[0].RequestID == ev[1].RequestID {
		t.Error("retries share a request id")
	}
	if _, err := h.client(1).AssumeRoleWithWebIdentity(t.Context(), input("tok-main")); err != nil {
		t.Errorf("valid request after the refusals: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bigPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[` +
		strings.Repeat(`"arn:aws:s3:::bucket/some/long/prefix/*",`, 60) + `"*"]}]}`
	tests := []struct {
		name    string
		modify  func(*awssts.AssumeRoleWithWebIdentityInput)
		code    string
		status  int
		typed   any // a pointer to the SDK's typed error, when it has one
		verifys bool
	}{
		{"other branch denied by the trust policy", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.WebIdentityToken = aws.String("tok-branch") },
			"AccessDenied", 403, nil, true},
		{"tags need sts:TagSession", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.WebIdentityToken = aws.String("tok-tagged") },
			"AccessDenied", 403, nil, true},
		{"unknown role", func(in *awssts.AssumeRoleWithWebIdentityInput) {
			in.RoleArn = aws.String("arn:portcullis:iam::" + account + ":role/ci/nope")
		}, "AccessDenied", 403, nil, true},
		{"not a role arn", func(in *awssts.AssumeRoleWithWebIdentityInput) {
			in.RoleArn = aws.String("arn:portcullis:iam::" + account + ":user/alice")
		}, "ValidationError", 400, nil, false},
		{"duration below 900", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(600) },
			"ValidationError", 400, nil, false},
		{"duration above the role's maximum", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(7201) },
			"ValidationError", 400, nil, true},
		{"session name too short", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = aws.String("a") },
			"ValidationError", 400, nil, false},
		{"session name with a slash", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = aws.String("a/b") },
			"ValidationError", 400, nil, false},
		{"session policy too large", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.Policy = aws.String(bigPolicy) },
			"PackedPolicyTooLarge", 400, new(*types.PackedPolicyTooLargeException), false},
		{"session policy not JSON", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.Policy = aws.String(`{"Version":`) },
			"MalformedPolicyDocument", 400, new(*types.MalformedPolicyDocumentException), false},
		{"session policy naming a principal", func(in *awssts.AssumeRoleWithWebIdentityInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`)
		}, "MalformedPolicyDocument", 400, new(*types.MalformedPolicyDocumentException), false},
		{"unknown managed session policy", func(in *awssts.AssumeRoleWithWebIdentityInput) {
			in.PolicyArns = []types.PolicyDescriptorType{{Arn: aws.String("arn:portcullis:iam::" + account + ":policy/nope")}}
		}, "ValidationError", 400, nil, true},
		{"managed session policy of another account", func(in *awssts.AssumeRoleWithWebIdentityInput) {
			in.PolicyArns = []types.PolicyDescriptorType{{Arn: aws.String("arn:portcullis:iam::999999999999:policy/read-only")}}
		}, "ValidationError", 400, nil, false},
		{"expired token", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.WebIdentityToken = aws.String("tok-expired") },
			"ExpiredTokenException", 400, new(*types.ExpiredTokenException), true},
		{"provider unreachable", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.WebIdentityToken = aws.String("tok-offline") },
			"IDPCommunicationError", 400, new(*types.IDPCommunicationErrorException), true},
		{"provider id of another issuer", func(in *awssts.AssumeRoleWithWebIdentityInput) { in.ProviderId = aws.String("graph.facebook.com") },
			"ValidationError", 400, nil, true},
	}
	client := h.client(1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: the verifier's call count is compared per case.
			before := h.verifier.calls.Load()
			in := input("tok-main")
			tc.modify(in)
			_, err := client.AssumeRoleWithWebIdentity(t.Context(), in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			if tc.code == "AccessDenied" && apiErr.ErrorMessage() != "Not authorized to perform sts:AssumeRoleWithWebIdentity" {
				t.Errorf("AccessDenied message = %q, want nothing about why", apiErr.ErrorMessage())
			}
			var respErr *awshttp.ResponseError
			if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != tc.status || respErr.ServiceRequestID() == "" {
				t.Errorf("status/request id = %v, want %d and an id", err, tc.status)
			}
			if tc.typed != nil && !errors.As(err, tc.typed) {
				t.Errorf("err = %T, want the SDK's typed %T", err, tc.typed)
			}
			if verified := h.verifier.calls.Load() > before; verified != tc.verifys {
				t.Errorf("token verified = %v, want %v", verified, tc.verifys)
			}
		})
	}
	sessions, err := h.st.ListRoleSessions(t.Context(), "PROADEPLOY")
	if err != nil || len(sessions) != 0 {
		t.Errorf("refused requests stored %d sessions (%v)", len(sessions), err)
	}
	var denied int
	for _, e := range h.audit.all() {
		if e.Outcome == audit.Denied {
			denied++
			if e.Actor == branchSub && !strings.Contains(e.Reason, "denies sts:AssumeRoleWithWebIdentity") {
				t.Errorf("trust denial audited without its reason: %q", e.Reason)
			}
			if e.Details["code"] == "AccessDenied" && e.Actor == mainSub && e.Target == roleARN && !strings.Contains(e.Reason, "sts:TagSession") {
				t.Errorf("tag denial audited without its reason: %q", e.Reason)
			}
		}
	}
	if len(h.audit.all()) != len(tests) || denied != 3 {
		t.Errorf("audit: %d events (%d denied), want %d (3 denied)", len(h.audit.all()), denied, len(tests))
	}
}
