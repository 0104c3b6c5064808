package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestDecisionPointJudgesTheSigV4SigningSession: a workload holding role credentials
// signs its check request with the AWS SDK's SigV4 signer (service "portcullis") and
// is judged as that session, without any API token. A tampered body, a signature made
// for the STS, another session's token, and a revoked session are refused.
func TestDecisionPointJudgesTheSigV4SigningSession(t *testing.T) {
	ci := newFakeCI(t)
	const audience = "https://sts.portcullis.test"
	s := startServer(t, fmt.Sprintf("sts:\n  issuers:\n    - name: ci\n      url: %q\n      audiences: [%q]\n      algorithms: [ES256]\n", ci.url, audience))
	provider := strings.TrimPrefix(ci.url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},
		"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"%[1]s:aud":%[2]q,"%[1]s:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`, provider, audience)
	s.admin(t, "POST", "/policies", map[string]any{"name": "artifacts-write", "document": json.RawMessage(
		`{"Version":"2012-10-17","Statement":[{"Sid":"Upload","Effect":"Allow","Action":"artifacts:Put*","Resource":"*"}]}`)}, http.StatusCreated)
	role := s.admin(t, "POST", "/roles", map[string]any{"name": "deploy", "trust_policy": json.RawMessage(trust),
		"managed_policies": []string{"artifacts-write"}}, http.StatusCreated)

	ctx := context.Background()
	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.issuer + "/sts")})
	creds := func() aws.Credentials {
		out, err := client.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(fmt.Sprint(role["arn"])), RoleSessionName: aws.String("run"),
			WebIdentityToken: aws.String(ci.token(t, audience, "refs/heads/main")),
		})
		if err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
		}
		c := out.Credentials
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}
	}
	mine, other := creds(), creds()

	signer := v4.NewSigner()
	// send signs body with c for service and sends it, possibly with a different body.
	send := func(c aws.Credentials, service, body, sent string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.issuer+"/authz/v1/check", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(body))
		if err := signer.SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		req.Body = io.NopCloser(bytes.NewReader([]byte(sent)))
		req.ContentLength = int64(len(sent))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	check := func(action string) string {
		return fmt.Sprintf(`{"action":%q,"resource":"arn:portcullis:artifacts:::app/1"}`, action)
	}

	for action, want := range map[string]string{"artifacts:PutObject": "allow", "artifacts:DeleteObject": "deny"} {
		status, got := send(mine, "portcullis", check(action), check(action))
		if status != http.StatusOK || got["decision"] != want || got["session"] != mine.AccessKeyID {
			t.Fatalf("signed check %s: %d %v, want %s for %s", action, status, got, want, mine.AccessKeyID)
		}
	}

	refusals := map[string]func() (int, map[string]any){
		"tampered body": func() (int, map[string]any) {
			return send(mine, "portcullis", check("artifacts:DeleteObject"), check("artifacts:PutObject"))
		},
		"signed for the STS": func() (int, map[string]any) {
			return send(mine, "sts", check("artifacts:PutObject"), check("artifacts:PutObject"))
		},
		"another session's token": func() (int, map[string]any) {
			swapped := mine
			swapped.SessionToken = other.SessionToken
			return send(swapped, "portcullis", check("artifacts:PutObject"), check("artifacts:PutObject"))
		},
		"naming a role as well": func() (int, map[string]any) {
			b := `{"role":"deploy","action":"artifacts:PutObject","resource":"x"}`
			return send(mine, "portcullis", b, b)
		},
	}
	for name, do := range refusals {
		if status, got := do(); status != http.StatusForbidden && status != http.StatusBadRequest {
			t.Errorf("%s: %d %v, want 403 or 400", name, status, got)
		} else {
			t.Logf("%s: %d %v", name, status, got["error"])
		}
	}

	s.admin(t, "DELETE", "/role-sessions/"+mine.AccessKeyID, nil, http.StatusOK)
	if status, got := send(mine, "portcullis", check("artifacts:PutObject"), check("artifacts:PutObject")); status != http.StatusForbidden || got["decision"] == "allow" {
		t.Fatalf("revoked session: %d %v, want 403", status, got)
	}
	if status, got := send(other, "portcullis", check("artifacts:PutObject"), check("artifacts:PutObject")); status != http.StatusOK || got["decision"] != "allow" {
		t.Fatalf("the other session after the first was revoked: %d %v", status, got)
	}
}
