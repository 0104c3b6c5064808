package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/crewjam/saml"
)

// TestTrustedIssuersManagedAtRunTime: an issuer the server was not started with is
// trusted as soon as the admin API (through the CLI) stores it, follows its updates,
// is refused with the field named when its settings are unsafe, and is distrusted the
// moment it is deleted; an apply file manages issuers the same way, prune included.
func TestTrustedIssuersManagedAtRunTime(t *testing.T) {
	ci := newFakeCI(t)
	const audience = "https://sts.portcullis.test"
	s := startServer(t, "")
	provider := strings.TrimPrefix(ci.url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},
		"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"%[1]s:aud":%[2]q,"%[1]s:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`, provider, audience)
	role := s.admin(t, "POST", "/roles", map[string]any{"name": "deploy", "trust_policy": json.RawMessage(trust)}, http.StatusCreated)
	roleARN, _ := role["arn"].(string)

	ctx := context.Background()
	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.issuer + "/sts")})
	assume := func() error {
		_, err := client.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(roleARN), RoleSessionName: aws.String("run-1"),
			WebIdentityToken: aws.String(ci.token(t, audience, "refs/heads/main")),
		})
		return err
	}
	wantCode := func(what string, err error, code string) {
		t.Helper()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
			t.Fatalf("%s: %v, want %s", what, err, code)
		}
	}
	wantCode("before the issuer is trusted", assume(), "InvalidIdentityToken")

	tf := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tf, []byte(s.token), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(append(args, "--server", s.issuer, "--token-file", tf))
		err := cmd.Execute()
		return out.String(), err
	}
	if out, err := cli("admin", "trusted-issuers", "create", "ci", "--url", ci.url, "--audience", audience, "--algorithm", "ES256"); err != nil {
		t.Fatalf("trusted-issuers create: %v\n%s", err, out)
	}
	if err := assume(); err != nil {
		t.Fatalf("after the issuer was added: %v", err)
	}
	out, err := cli("admin", "trusted-issuers", "list")
	if err != nil || !strings.Contains(out, "ci") || !strings.Contains(out, "api") || !strings.Contains(out, ci.url) {
		t.Fatalf("trusted-issuers list: %v\n%s", err, out)
	}

	// Unsafe or malformed settings are refused with the field named; nothing changes.
	for name, tc := range map[string]struct {
		body   map[string]any
		status int
		want   string
	}{
		"hmac":          {map[string]any{"name": "x", "config": map[string]any{"url": "https://x.example", "audiences": []string{"a"}, "algorithms": []string{"HS256"}}}, http.StatusBadRequest, "algorithms[0]"},
		"no audience":   {map[string]any{"name": "x", "config": map[string]any{"url": "https://x.example"}}, http.StatusBadRequest, "audiences"},
		"server file":   {map[string]any{"name": "x", "config": map[string]any{"url": "https://x.example", "audiences": []string{"a"}, "jwks_file": "/etc/passwd"}}, http.StatusBadRequest, "jwks_file"},
		"plain http":    {map[string]any{"name": "x", "config": map[string]any{"url": "http://x.example", "audiences": []string{"a"}}}, http.StatusBadRequest, "url"},
		"unknown field": {map[string]any{"name": "x", "config": map[string]any{"url": "https://x.example", "audiences": []string{"a"}, "audience": "a"}}, http.StatusBadRequest, "audience: unknown field"},
		"same name":     {map[string]any{"name": "CI", "config": map[string]any{"url": "https://x.example", "audiences": []string{"a"}}}, http.StatusConflict, "already exists"},
	} {
		got := s.admin(t, "POST", "/trusted-issuers", tc.body, tc.status)
		if b, _ := json.Marshal(got); !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: answer %s does not mention %q", name, b, tc.want)
		}
	}

	// An update takes effect at once: the job's audience is no longer accepted.
	s.admin(t, "PUT", "/trusted-issuers/ci", map[string]any{"config": map[string]any{"url": ci.url, "audiences": []string{"https://other.example"}, "algorithms": []string{"ES256"}}}, http.StatusOK)
	wantCode("after the audience changed", assume(), "InvalidIdentityToken")

	if out, err := cli("admin", "trusted-issuers", "delete", "ci"); err != nil {
		t.Fatalf("trusted-issuers delete: %v\n%s", err, out)
	}
	wantCode("after the issuer was deleted", assume(), "InvalidIdentityToken")

	// Apply files declare issuers too; prune removes what they no longer name.
	doc := fmt.Sprintf("trusted_issuers:\n  - name: ci\n    url: %q\n    audiences: [%q]\n    algorithms: [ES256]\n", ci.url, audience)
	apply := func(body string, prune bool) {
		t.Helper()
		path := "/admin/v1/apply"
		if prune {
			path += "?prune=true"
		}
		req, _ := http.NewRequest("POST", s.issuer+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("apply: %d %s", resp.StatusCode, b)
		}
	}
	apply(doc, false)
	if err := assume(); err != nil {
		t.Fatalf("after apply declared the issuer: %v", err)
	}
	got := s.admin(t, "GET", "/trusted-issuers/ci", nil, http.StatusOK)
	if got["source"] != "declarative" {
		t.Errorf("applied issuer source = %v", got["source"])
	}
	apply("users: []\n", true)
	wantCode("after prune", assume(), "InvalidIdentityToken")
	s.admin(t, "GET", "/trusted-issuers/ci", nil, http.StatusNotFound)
}

// TestSAMLProvidersManagedAtRunTime: SAML providers are stored through the admin API
// with their metadata checked, and the configuration file's are shown read-only.
func TestSAMLProvidersManagedAtRunTime(t *testing.T) {
	md := testIdPMetadata(t)
	mdFile := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(mdFile, []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, fmt.Sprintf("sts:\n  saml_providers:\n    - name: static\n      metadata_file: %q\n", mdFile))
	s.admin(t, "POST", "/saml-providers", map[string]any{"name": "corp", "config": map[string]any{"metadata_xml": "<not-metadata/>"}}, http.StatusBadRequest)
	s.admin(t, "POST", "/saml-providers", map[string]any{"name": "corp", "config": map[string]any{}}, http.StatusBadRequest)
	s.admin(t, "POST", "/saml-providers", map[string]any{"name": "corp", "config": map[string]any{"metadata_file": "/etc/passwd"}}, http.StatusBadRequest)
	created := s.admin(t, "POST", "/saml-providers", map[string]any{"name": "corp", "config": map[string]any{"metadata_xml": md}}, http.StatusCreated)
	if created["name"] != "corp" || created["source"] != "api" {
		t.Fatalf("created = %v", created)
	}
	l := s.admin(t, "GET", "/saml-providers", nil, http.StatusOK)
	if items, _ := l["items"].([]any); len(items) != 2 || !strings.Contains(fmt.Sprint(items[0]), "source:config") {
		t.Fatalf("list = %v", l)
	}
	s.admin(t, "PUT", "/saml-providers/static", map[string]any{"config": map[string]any{"metadata_xml": md}}, http.StatusConflict)
	s.admin(t, "DELETE", "/saml-providers/static", nil, http.StatusConflict)
	s.admin(t, "POST", "/saml-providers", map[string]any{"name": "STATIC", "config": map[string]any{"metadata_xml": md}}, http.StatusConflict)
	s.admin(t, "DELETE", "/saml-providers/corp", nil, http.StatusNoContent)
	s.admin(t, "DELETE", "/saml-providers/corp", nil, http.StatusNotFound)
}

// testIdPMetadata is the SAML metadata of an identity provider with a fresh RSA key.
func testIdPMetadata(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := url.Parse("https://idp.test/saml/metadata")
	sso, _ := url.Parse("https://idp.test/saml/sso")
	idp := saml.IdentityProvider{Key: key, Certificate: cert, MetadataURL: *md, SSOURL: *sso}
	b, err := xml.Marshal(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
