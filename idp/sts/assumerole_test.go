package sts_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

const (
	readerARN = "arn:portcullis:iam::" + account + ":role/reader"
	// deploySession is the assumed-role ARN of the web identity session input() asks for.
	deploySession = "arn:portcullis:sts::" + account + ":assumed-role/deploy/gha-42"
)

// trustChained lets the deploy session (named in the aws partition, as policies
// copied from AWS do) and the reader role's own sessions assume the reader role with
// the agreed external id, and set a source identity.
const trustChained = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Principal":{"AWS":["arn:aws:sts::123456789012:assumed-role/deploy/gha-42","arn:portcullis:iam::123456789012:role/reader"]},
 "Action":["sts:AssumeRole","sts:SetSourceIdentity"],
 "Condition":{"StringEquals":{"sts:ExternalId":"ext-7"}}}]}`

// chainHarness adds the reader role to the web identity harness.
func chainHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	if _, err := h.st.CreateRole(t.Context(), store.Role{
		ID: "PROAREADER", Name: "reader", Path: "/", ARN: readerARN,
		TrustPolicy: json.RawMessage(trustChained), MaxSessionDuration: 4 * time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// webCredentials are credentials for the deploy role, through AssumeRoleWithWebIdentity.
func (h *harness) webCredentials(t *testing.T) aws.Credentials {
	t.Helper()
	out, err := h.client(1).AssumeRoleWithWebIdentity(t.Context(), input("tok-main"))
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken)}
}

// signedClient is the SDK client signing with creds, without retries.
func (h *harness) signedClient(creds aws.Credentials) *awssts.Client {
	return awssts.New(awssts.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(h.srv.URL + "/sts"),
		HTTPClient:   h.srv.Client(),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 1
			o.RateLimiter = ratelimit.None
		}),
	})
}

func chainInput(session string) *awssts.AssumeRoleInput {
	return &awssts.AssumeRoleInput{RoleArn: aws.String(readerARN), RoleSessionName: aws.String(session), ExternalId: aws.String("ext-7")}
}

func TestGetCallerIdentityNamesTheAssumedRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	out, err := h.signedClient(h.webCredentials(t)).GetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != deploySession || aws.ToString(out.UserId) != "PROADEPLOY:gha-42" || aws.ToString(out.Account) != account {
		t.Errorf("caller identity = %q %q %q", aws.ToString(out.Arn), aws.ToString(out.UserId), aws.ToString(out.Account))
	}
}

func TestAssumeRoleChainsToAnotherRole(t *testing.T) {
	t.Parallel()
	h := chainHarness(t)
	ctx := t.Context()
	web := h.webCredentials(t)
	in := chainInput("hop-1")
	in.DurationSeconds = aws.Int32(1800)
	in.SourceIdentity = aws.String("alice")
	in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	out, err := h.signedClient(web).AssumeRole(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !accessKeyPattern.MatchString(aws.ToString(c.AccessKeyId)) || aws.ToString(c.AccessKeyId) == web.AccessKeyID {
		t.Errorf("AccessKeyId = %q, want a new PCIA key", aws.ToString(c.AccessKeyId))
	}
	if want := h.now.Add(30 * time.Minute); c.Expiration == nil || !c.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", c.Expiration, want)
	}
	readerSession := "arn:portcullis:sts::" + account + ":assumed-role/reader/hop-1"
	if aws.ToString(out.AssumedRoleUser.Arn) != readerSession || aws.ToString(out.AssumedRoleUser.AssumedRoleId) != "PROAREADER:hop-1" ||
		aws.ToString(out.SourceIdentity) != "alice" || out.PackedPolicySize == nil {
		t.Errorf("AssumeRole result = %+v %+v source %q", out.AssumedRoleUser, out.PackedPolicySize, aws.ToString(out.SourceIdentity))
	}

	// The new credentials sign as the reader session.
	chained := aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken)}
	id, err := h.signedClient(chained).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != readerSession || aws.ToString(id.UserId) != "PROAREADER:hop-1" {
		t.Errorf("chained caller identity = %q %q", aws.ToString(id.Arn), aws.ToString(id.UserId))
	}

	// The session keeps the federated identity behind the chain.
	rs, err := h.st.GetRoleSession(ctx, chained.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if rs.RoleID != "PROAREADER" || rs.Subject != mainSub || rs.Issuer != gha || rs.SourceIdentity != "alice" || rs.SessionPolicyDigest == "" {
		t.Errorf("stored chained session = %+v", rs)
	}
	claims := verifySessionToken(t, h.km, chained.SessionToken)
	if claims.Subject != readerSession || claims.JWTID != chained.AccessKeyID || claims.SourceIdentity != "alice" {
		t.Errorf("chained session token claims = %+v", claims)
	}

	// The reader session chains again, keeping its source identity; changing it is
	// refused.
	again := chainInput("hop-2")
	again.SourceIdentity = aws.String("alice")
	if _, err := h.signedClient(chained).AssumeRole(ctx, again); err != nil {
		t.Errorf("second hop: %v", err)
	}
	again.SourceIdentity = aws.String("mallory")
	wantCode(t, func() error { _, err := h.signedClient(chained).AssumeRole(ctx, again); return err }, "AccessDenied", 403)

	var successes int
	for _, e := range h.audit.all() {
		if e.Action == "sts.assume_role" && e.Outcome == audit.Success {
			successes++
			if successes == 1 && (e.Actor != deploySession || e.Target != readerARN || e.Details["caller_access_key_id"] != web.AccessKeyID ||
				e.Details["access_key_id"] != chained.AccessKeyID) {
				t.Errorf("audit event = %+v", e)
			}
		}
	}
	if successes != 2 {
		t.Errorf("audited %d AssumeRole successes, want 2", successes)
	}
}

// TestAssumeRoleCarriesTransitiveTags: only the tags the web identity marked
// transitive reach the chained session, and they need sts:TagSession there.
func TestAssumeRoleCarriesTransitiveTags(t *testing.T) {
	t.Parallel()
	h := chainHarness(t)
	ctx := t.Context()
	tagged := githubIdentity(mainSub)
	tagged.Tags = map[string]string{"Team": "web", "Env": "prod"}
	tagged.TransitiveTagKeys = []string{"team"}
	h.verifier.tokens["tok-transitive"] = tagged
	const taggerTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	 "Principal":{"Federated":"arn:portcullis:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
	 "Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]}]}`
	const taggedTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	 "Principal":{"AWS":"arn:portcullis:iam::123456789012:role/tagger"},
	 "Action":["sts:AssumeRole","sts:TagSession"],
	 "Condition":{"StringEquals":{"aws:RequestTag/Team":"web"}}}]}`
	const untaggedTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	 "Principal":{"AWS":"arn:portcullis:iam::123456789012:role/tagger"},"Action":"sts:AssumeRole"}]}`
	for _, r := range []store.Role{
		{ID: "PROATAGGER", Name: "tagger", Path: "/", ARN: "arn:portcullis:iam::" + account + ":role/tagger", TrustPolicy: json.RawMessage(taggerTrust)},
		{ID: "PROATAGGED", Name: "tagged", Path: "/", ARN: "arn:portcullis:iam::" + account + ":role/tagged", TrustPolicy: json.RawMessage(taggedTrust)},
		{ID: "PROAUNTAGGED", Name: "untagged", Path: "/", ARN: "arn:portcullis:iam::" + account + ":role/untagged", TrustPolicy: json.RawMessage(untaggedTrust)},
	} {
		if _, err := h.st.CreateRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	in := input("tok-transitive")
	in.RoleArn = aws.String("arn:portcullis:iam::" + account + ":role/tagger")
	web, err := h.client(1).AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wc := web.Credentials
	client := h.signedClient(aws.Credentials{AccessKeyID: aws.ToString(wc.AccessKeyId), SecretAccessKey: aws.ToString(wc.SecretAccessKey),
		SessionToken: aws.ToString(wc.SessionToken)})

	out, err := client.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:portcullis:iam::" + account + ":role/tagged"),
		RoleSessionName: aws.String("tagged-1")})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := h.st.GetRoleSession(ctx, aws.ToString(out.Credentials.AccessKeyId))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Tags) != 1 || rs.Tags["Team"] != "web" {
		t.Errorf("chained session tags = %v, want only the transitive Team=web", rs.Tags)
	}
	if claims := verifySessionToken(t, h.km, aws.ToString(out.Credentials.SessionToken)); len(claims.TransitiveTagKeys) != 1 || claims.TransitiveTagKeys[0] != "Team" {
		t.Errorf("chained session's transitive keys = %v, want [Team]", claims.TransitiveTagKeys)
	}

	// A role whose trust allows the tagger role sts:AssumeRole but not sts:TagSession
	// refuses a session that carries tags.
	_, err = client.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:portcullis:iam::" + account + ":role/untagged"),
		RoleSessionName: aws.String("tagged-2")})
	wantCode(t, func() error { return err }, "AccessDenied", 403)
}

func wantCode(t *testing.T, call func() error, code string, status int) {
	t.Helper()
	err := call()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
		t.Errorf("err = %v, want code %s", err, code)
		return
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != status || respErr.ServiceRequestID() == "" {
		t.Errorf("err = %v, want status %d and a request id", err, status)
	}
}

func TestSignedRequestRefusals(t *testing.T) {
	t.Parallel()
	h := chainHarness(t)
	ctx := t.Context()
	web := h.webCredentials(t)
	other := h.webCredentials(t)
	revoked := h.webCredentials(t)
	if err := h.st.RevokeRoleSession(ctx, revoked.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*aws.Credentials)) aws.Credentials {
		c := web
		f(&c)
		return c
	}
	callerIdentity := func(c aws.Credentials) func() error {
		return func() error {
			_, err := h.signedClient(c).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			return err
		}
	}
	assume := func(c aws.Credentials, f func(*awssts.AssumeRoleInput)) func() error {
		return func() error {
			in := chainInput("denied")
			f(in)
			_, err := h.signedClient(c).AssumeRole(ctx, in)
			return err
		}
	}
	keep := func(*awssts.AssumeRoleInput) {}
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"wrong secret", callerIdentity(with(func(c *aws.Credentials) { c.SecretAccessKey = other.SecretAccessKey })),
			"SignatureDoesNotMatch", 403},
		{"unknown access key", callerIdentity(with(func(c *aws.Credentials) { c.AccessKeyID = "PCIAAAAAAAAAAAAAAAAA" })),
			"InvalidClientTokenId", 403},
		{"long-term style access key", callerIdentity(with(func(c *aws.Credentials) { c.AccessKeyID = "AKIAIOSFODNN7EXAMPLE" })),
			"InvalidClientTokenId", 403},
		{"missing security token", callerIdentity(with(func(c *aws.Credentials) { c.SessionToken = "" })),
			"InvalidClientTokenId", 403},
		{"another session's token", callerIdentity(with(func(c *aws.Credentials) { c.SessionToken = other.SessionToken })),
			"InvalidClientTokenId", 403},
		{"forged token", callerIdentity(with(func(c *aws.Credentials) { c.SessionToken = c.SessionToken[:len(c.SessionToken)-4] + "AAAA" })),
			"InvalidClientTokenId", 403},
		{"revoked session", callerIdentity(revoked), "InvalidClientTokenId", 403},
		{"trust policy does not name the caller", assume(web, func(in *awssts.AssumeRoleInput) { in.RoleArn = aws.String(roleARN) }),
			"AccessDenied", 403},
		{"wrong external id", assume(web, func(in *awssts.AssumeRoleInput) { in.ExternalId = aws.String("ext-8") }),
			"AccessDenied", 403},
		{"unknown role", assume(web, func(in *awssts.AssumeRoleInput) { in.RoleArn = aws.String(readerARN + "-nope") }),
			"AccessDenied", 403},
		{"duration past the chaining hour", assume(web, func(in *awssts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(7200) }),
			"ValidationError", 400},
		{"malformed external id", assume(web, func(in *awssts.AssumeRoleInput) { in.ExternalId = aws.String("a b") }),
			"ValidationError", 400},
		{"MFA is not supported", assume(web, func(in *awssts.AssumeRoleInput) {
			in.SerialNumber, in.TokenCode = aws.String("arn:aws:iam::123456789012:mfa/x"), aws.String("123456")
		}), "ValidationError", 400},
		{"revoked session assuming", assume(revoked, keep), "InvalidClientTokenId", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call, tc.code, tc.status) })
	}

	var denied, failed int
	for _, e := range h.audit.all() {
		if e.Action != "sts.assume_role" {
			continue
		}
		switch e.Outcome {
		case audit.Denied:
			denied++
		case audit.Failure:
			failed++
		default:
			t.Errorf("unexpected AssumeRole audit event %+v", e)
		}
		if e.Details["code"] == "AccessDenied" && (e.Actor != deploySession || e.Reason == "") {
			t.Errorf("trust refusal audited as %+v", e)
		}
	}
	if denied != 4 || failed != 3 {
		t.Errorf("AssumeRole refusals audited: %d denied, %d failed; want 4 and 3", denied, failed)
	}
	sessions, err := h.st.ListRoleSessions(ctx, "PROAREADER")
	if err != nil || len(sessions) != 0 {
		t.Errorf("refused requests stored %d reader sessions (%v)", len(sessions), err)
	}
}

// signRequest signs a POST to /sts with the SDK's own signer at the given time.
// Extra headers, given as name/value pairs, are set before signing.
func signRequest(t *testing.T, h *harness, c aws.Credentials, form url.Values, at time.Time, headers ...string) *http.Request {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.srv.URL+"/sts", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(t.Context(), c, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, h *harness, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e queryError
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return e.Error.Code
}

// TestSignatureCoversDateAndBody drives the server with requests signed by the SDK's
// signer and then altered, and checks the exact XML of GetCallerIdentity.
func TestSignatureCoversDateAndBody(t *testing.T) {
	t.Parallel()
	h := chainHarness(t)
	web := h.webCredentials(t)
	identity := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}

	status, body := send(t, h, signRequest(t, h, web, identity, h.now))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var out struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
		Result  struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		} `xml:"GetCallerIdentityResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if out.Result.Arn != deploySession || out.Result.UserID != "PROADEPLOY:gha-42" || out.Result.Account != account || out.RequestID == "" {
		t.Errorf("GetCallerIdentityResponse = %+v", out)
	}

	t.Run("dated ten minutes ago", func(t *testing.T) {
		status, body := send(t, h, signRequest(t, h, web, identity, h.now.Add(-10*time.Minute)))
		if status != http.StatusForbidden || errorCode(t, body) != "SignatureDoesNotMatch" {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("dated ten minutes ahead", func(t *testing.T) {
		status, body := send(t, h, signRequest(t, h, web, identity, h.now.Add(10*time.Minute)))
		if status != http.StatusForbidden || errorCode(t, body) != "SignatureDoesNotMatch" {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("body altered after signing", func(t *testing.T) {
		form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {readerARN},
			"RoleSessionName": {"aa"}, "ExternalId": {"ext-7"}}
		req := signRequest(t, h, web, form, h.now)
		form.Set("RoleSessionName", "zz") // same length: Content-Length still matches
		tampered := []byte(form.Encode())
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
		status, body := send(t, h, req)
		if status != http.StatusForbidden || errorCode(t, body) != "SignatureDoesNotMatch" {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("body altered under a signed payload hash", func(t *testing.T) {
		form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {readerARN},
			"RoleSessionName": {"aa"}, "ExternalId": {"ext-7"}}
		sum := sha256.Sum256([]byte(form.Encode()))
		req := signRequest(t, h, web, form, h.now, "X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		if !strings.Contains(req.Header.Get("Authorization"), "x-amz-content-sha256") {
			t.Fatalf("payload hash not signed: %s", req.Header.Get("Authorization"))
		}
		form.Set("RoleSessionName", "zz")
		tampered := []byte(form.Encode())
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
		status, body := send(t, h, req)
		if status != http.StatusForbidden || errorCode(t, body) != "SignatureDoesNotMatch" {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("signed for another service", func(t *testing.T) {
		// A valid signature, but scoped to s3: it must not be replayable here.
		req := signRequest(t, h, web, identity, h.now)
		sum := sha256.Sum256([]byte(identity.Encode()))
		if err := v4.NewSigner().SignHTTP(t.Context(), web, req, hex.EncodeToString(sum[:]), "s3", "us-east-1", h.now); err != nil {
			t.Fatal(err)
		}
		status, body := send(t, h, req)
		if status != http.StatusForbidden || errorCode(t, body) != "SignatureDoesNotMatch" {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("incomplete authorization header", func(t *testing.T) {
		req := signRequest(t, h, web, identity, h.now)
		auth := req.Header.Get("Authorization")
		req.Header.Set("Authorization", auth[:strings.Index(auth, ", Signature=")])
		status, body := send(t, h, req)
		if status != http.StatusBadRequest || errorCode(t, body) != "IncompleteSignature" {
			t.Errorf("status %d: %s", status, body)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, body := get(t, h, identity)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, body) != "MissingAuthenticationToken" {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
}

// TestExpiredSessionRefused: a request signed correctly, at the right time, with the
// credentials of a session past its expiry is ExpiredToken.
func TestExpiredSessionRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	web := h.webCredentials(t)
	h.now = h.now.Add(time.Hour + time.Second)
	status, body := send(t, h, signRequest(t, h, web, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, h.now))
	if status != http.StatusForbidden || errorCode(t, body) != "ExpiredToken" {
		t.Errorf("status %d: %s", status, body)
	}
}

// TestPresignedGetCallerIdentity: the SDK's presign client produces a URL whose query
// carries the signature; it verifies as is, not once altered, and not after its
// 15 minutes.
func TestPresignedGetCallerIdentity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	presigned, err := awssts.NewPresignClient(h.signedClient(h.webCredentials(t))).
		PresignGetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(presigned.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("X-Amz-Signature") == "" || u.Query().Get("X-Amz-Security-Token") == "" {
		t.Fatalf("not a presigned URL: %s", presigned.URL)
	}
	do := func(rawURL string) (int, []byte) {
		req, err := http.NewRequestWithContext(t.Context(), presigned.Method, rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range presigned.SignedHeader {
			if !strings.EqualFold(k, "Host") {
				req.Header[k] = v
			}
		}
		return send(t, h, req)
	}
	status, body := do(presigned.URL)
	if status != http.StatusOK || !bytes.Contains(body, []byte("<Arn>"+deploySession+"</Arn>")) {
		t.Fatalf("presigned GetCallerIdentity: status %d: %s", status, body)
	}

	q := u.Query()
	q.Set("Action", "AssumeRole")
	altered := *u
	altered.RawQuery = q.Encode()
	if status, body := do(altered.String()); status != http.StatusForbidden || errorCode(t, body) != "SignatureDoesNotMatch" {
		t.Errorf("altered presigned URL: status %d: %s", status, body)
	}

	h.now = h.now.Add(16 * time.Minute)
	if status, body := do(presigned.URL); status != http.StatusBadRequest || errorCode(t, body) != "RequestExpired" {
		t.Errorf("presigned URL after 16 minutes: status %d: %s", status, body)
	}
}
