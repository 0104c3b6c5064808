package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// introspect posts token to /oauth/introspect as client id and returns the answer.
func introspect(t *testing.T, issuer, id, secret, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect as %s: %d %s", id, resp.StatusCode, b)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("introspect as %s: %s", id, b)
	}
	return out
}

// TestRevokedRoleSessionIsDeadEverywhere gets role credentials with the AWS SDK as a CI
// job would, sees the session token active at introspection (for a client with
// sts:introspect only) and allowed by the decision point, revokes the session through
// the admin API, and then finds it inactive and denied as revoked.
func TestRevokedRoleSessionIsDeadEverywhere(t *testing.T) {
	ci := newFakeCI(t)
	const audience = "https://sts.portcullis.test"
	s := startServer(t, fmt.Sprintf("sts:\n  issuers:\n    - name: ci\n      url: %q\n      audiences: [%q]\n      algorithms: [ES256]\n", ci.url, audience))
	provider := strings.TrimPrefix(ci.url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},
		"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"%[1]s:aud":%[2]q},"StringLike":{"%[1]s:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`, provider, audience)
	s.admin(t, "POST", "/policies", map[string]any{"name": "artifacts-write", "document": json.RawMessage(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"artifacts:Put*","Resource":"*"}]}`)}, http.StatusCreated)
	role := s.admin(t, "POST", "/roles", map[string]any{"name": "deploy", "trust_policy": json.RawMessage(trust),
		"managed_policies": []string{"artifacts-write"}}, http.StatusCreated)
	roleARN, _ := role["arn"].(string)
	client := func(id string, scopes ...string) string {
		c := s.admin(t, "POST", "/clients", map[string]any{"id": id, "grant_types": []string{"client_credentials"}, "scopes": scopes}, http.StatusCreated)
		sec, _ := c["client_secret"].(string)
		if sec == "" {
			t.Fatalf("client %s: no secret in %v", id, c)
		}
		return sec
	}
	auditorSecret := client("auditor", "sts:introspect")
	otherSecret := client("reporting", "reports.read")

	out, err := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.issuer + "/sts")}).
		AssumeRoleWithWebIdentity(context.Background(), &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(roleARN), RoleSessionName: aws.String("deploy-7"),
			WebIdentityToken: aws.String(ci.token(t, audience, "refs/heads/main")), DurationSeconds: aws.Int32(900),
		})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	keyID, token := aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SessionToken)

	got := introspect(t, s.issuer, "auditor", auditorSecret, token)
	if got["active"] != true || got["jti"] != keyID || got["client_id"] != "sts" || got["role"] != roleARN ||
		got["sub"] != aws.ToString(out.AssumedRoleUser.Arn) || got["session_name"] != "deploy-7" {
		t.Fatalf("introspection of a live session: %v", got)
	}
	if got := introspect(t, s.issuer, "reporting", otherSecret, token); len(got) != 1 || got["active"] != false {
		t.Fatalf("a client without sts:introspect learned about the session: %v", got)
	}
	check := func() map[string]any {
		return s.call(t, "POST", "/authz/v1/check", map[string]any{
			"session_token": token, "action": "artifacts:PutObject", "resource": "arn:portcullis:artifacts:::app/1",
		}, http.StatusOK)
	}
	if d := check(); d["decision"] != "allow" {
		t.Fatalf("live session: %v, want allow", d)
	}

	listed := s.admin(t, "GET", "/role-sessions?active=true&role=deploy&subject="+url.QueryEscape("repo:acme/app:ref:refs/heads/main"), nil, http.StatusOK)
	if items, _ := listed["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != keyID {
		t.Fatalf("live sessions of deploy: %v", listed)
	}
	if r := s.admin(t, "DELETE", "/role-sessions/"+keyID, nil, http.StatusOK); r["revoked"] != true {
		t.Fatalf("revoke: %v", r)
	}

	if got := introspect(t, s.issuer, "auditor", auditorSecret, token); len(got) != 1 || got["active"] != false {
		t.Fatalf("introspection of a revoked session: %v, want just {\"active\":false}", got)
	}
	d := check()
	if reason, _ := d["reason"].(string); d["decision"] != "deny" || !strings.Contains(reason, "revoked") {
		t.Fatalf("revoked session: %v, want deny with a revoked reason", d)
	}
	if listed := s.admin(t, "GET", "/role-sessions?active=true", nil, http.StatusOK); len(listed["items"].([]any)) != 0 {
		t.Fatalf("live sessions after revoke: %v", listed)
	}
}
