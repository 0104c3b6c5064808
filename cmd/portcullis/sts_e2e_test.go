package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fakeCI is a local stand-in for a CI system's OIDC issuer (the shape of GitHub
// Actions): discovery, JWKS, and tokens with the real claim names.
type fakeCI struct {
	url string
	key *ecdsa.PrivateKey
}

func newFakeCI(t *testing.T) *fakeCI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ci := &fakeCI{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": ci.url, "jwks_uri": ci.url + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "ci-1", Algorithm: "ES256", Use: "sig"}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ci.url = srv.URL
	return ci
}

func (ci *fakeCI) token(t *testing.T, aud, ref string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ci.key, KeyID: "ci-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{
		"iss": ci.url, "aud": aud, "sub": "repo:acme/app:ref:" + ref,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": randState(),
		"repository": "acme/app", "repository_owner": "acme", "ref": ref, "workflow": "deploy",
		"event_name": "push", "runner_environment": "github-hosted",
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSTSExchangesCIJobTokenForRoleCredentials runs the real server with a trusted
// issuer and drives /sts with the AWS SDK: a job on main gets credentials whose
// session token verifies against our JWKS; a job on another branch is refused by the
// trust policy, and a token for another audience is refused as invalid.
func TestSTSExchangesCIJobTokenForRoleCredentials(t *testing.T) {
	ci := newFakeCI(t)
	const audience = "https://sts.portcullis.test"
	s := startServer(t, fmt.Sprintf("sts:\n  issuers:\n    - name: ci\n      url: %q\n      audiences: [%q]\n      algorithms: [ES256]\n", ci.url, audience))
	provider := strings.TrimPrefix(ci.url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},
		"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"%[1]s:aud":%[2]q},"StringLike":{"%[1]s:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`, provider, audience)
	s.admin(t, "POST", "/policies", map[string]any{"name": "artifacts-write", "document": json.RawMessage(
		`{"Version":"2012-10-17","Statement":[{"Sid":"Upload","Effect":"Allow","Action":"artifacts:Put*","Resource":"*"}]}`)}, http.StatusCreated)
	role := s.admin(t, "POST", "/roles", map[string]any{"name": "deploy", "trust_policy": json.RawMessage(trust),
		"managed_policies": []string{"artifacts-write"}}, http.StatusCreated)
	roleARN, _ := role["arn"].(string)

	ctx := context.Background()
	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.issuer + "/sts")})
	assume := func(token string) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
		return client.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(roleARN), RoleSessionName: aws.String("deploy-42"), WebIdentityToken: aws.String(token),
			DurationSeconds: aws.Int32(900),
		})
	}

	out, err := assume(ci.token(t, audience, "refs/heads/main"))
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "PCIA") || aws.ToString(c.SecretAccessKey) == "" ||
		time.Until(aws.ToTime(c.Expiration)) > 16*time.Minute {
		t.Fatalf("credentials: %+v", c)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); !strings.HasSuffix(got, ":assumed-role/deploy/deploy-42") {
		t.Fatalf("assumed role ARN %s", got)
	}
	keys := gooidc.NewRemoteKeySet(ctx, s.issuer+"/keys")
	payload, err := keys.VerifySignature(ctx, aws.ToString(c.SessionToken))
	if err != nil {
		t.Fatalf("session token does not verify against our JWKS: %v", err)
	}
	var claims struct {
		Role string `json:"role"`
		JTI  string `json:"jti"`
	}
	_ = json.Unmarshal(payload, &claims)
	if claims.Role != roleARN || claims.JTI != aws.ToString(c.AccessKeyId) {
		t.Fatalf("session token claims: %+v", claims)
	}

	// The decision point judges the session itself.
	for action, want := range map[string]string{"artifacts:PutObject": "allow", "artifacts:DeleteObject": "deny"} {
		got := s.call(t, "POST", "/authz/v1/check", map[string]any{
			"session_token": aws.ToString(c.SessionToken), "action": action, "resource": "arn:portcullis:artifacts:::app/1",
		}, http.StatusOK)
		if got["decision"] != want {
			t.Fatalf("session check %s: %v, want %s", action, got, want)
		}
	}

	// RFC 8693 at the token endpoint: the same exchange, OAuth-shaped.
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {ci.token(t, audience, "refs/heads/main")},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		"resource":           {roleARN},
	}
	resp, err := http.PostForm(s.issuer+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var te struct {
		AccessToken     string `json:"access_token"`
		IssuedTokenType string `json:"issued_token_type"`
		AccessKeyID     string `json:"access_key_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&te)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || te.IssuedTokenType != "urn:ietf:params:oauth:token-type:access_token" || !strings.HasPrefix(te.AccessKeyID, "PCIA") {
		t.Fatalf("token exchange: %d %+v", resp.StatusCode, te)
	}
	if _, err := keys.VerifySignature(ctx, te.AccessToken); err != nil {
		t.Fatalf("exchanged token does not verify: %v", err)
	}
	form.Set("subject_token", ci.token(t, audience, "refs/heads/feature"))
	resp, err = http.PostForm(s.issuer+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token exchange for another branch: %d", resp.StatusCode)
	}

	var apiErr smithy.APIError
	if _, err := assume(ci.token(t, audience, "refs/heads/feature")); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("another branch: %v, want AccessDenied", err)
	}
	if _, err := assume(ci.token(t, "https://someone-else.example", "refs/heads/main")); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidIdentityToken" {
		t.Fatalf("foreign audience: %v, want InvalidIdentityToken", err)
	}
}

// TestSTSClaimTagsBecomeSessionTags: a configured claim becomes a session tag that the
// role's permission policies can test as PrincipalTag at the decision point.
func TestSTSClaimTagsBecomeSessionTags(t *testing.T) {
	ci := newFakeCI(t)
	const audience = "https://sts.portcullis.test"
	s := startServer(t, fmt.Sprintf("sts:\n  issuers:\n    - name: ci\n      url: %q\n      audiences: [%q]\n      algorithms: [ES256]\n      claim_tags: {repository: repo}\n", ci.url, audience))
	provider := strings.TrimPrefix(ci.url, "http://")
	s.admin(t, "POST", "/policies", map[string]any{"name": "own-repo", "document": json.RawMessage(
		`{"Version":"2012-10-17","Statement":[{"Sid":"OwnRepo","Effect":"Allow","Action":"artifacts:Put*","Resource":"arn:portcullis:artifacts:::${aws:PrincipalTag/repo}/*"}]}`)}, http.StatusCreated)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},
		"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
		"Condition":{"StringEquals":{"%[1]s:aud":%[2]q},"StringLike":{"%[1]s:sub":"repo:acme/*:ref:refs/heads/main"}}}]}`, provider, audience)
	role := s.admin(t, "POST", "/roles", map[string]any{"name": "ci", "trust_policy": json.RawMessage(trust), "managed_policies": []string{"own-repo"}}, http.StatusCreated)

	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.issuer + "/sts")})
	out, err := client.AssumeRoleWithWebIdentity(context.Background(), &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(fmt.Sprint(role["arn"])), RoleSessionName: aws.String("tagged"),
		WebIdentityToken: aws.String(ci.token(t, audience, "refs/heads/main")),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity with claim tags: %v", err)
	}
	parts := strings.Split(aws.ToString(out.Credentials.SessionToken), ".")
	pl, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(pl), `"repo":"acme/app"`) {
		t.Fatalf("session token lacks the claim tag: %s", pl)
	}
	for resource, want := range map[string]string{
		"arn:portcullis:artifacts:::acme/app/build.zip":   "allow",
		"arn:portcullis:artifacts:::acme/other/build.zip": "deny",
	} {
		got := s.call(t, "POST", "/authz/v1/check", map[string]any{
			"session_token": aws.ToString(out.Credentials.SessionToken), "action": "artifacts:PutObject", "resource": resource,
		}, http.StatusOK)
		if got["decision"] != want {
			t.Errorf("%s: %v, want %s", resource, got, want)
		}
	}
}
