package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
)

const stsClientAudience = "https://sts.portcullis.test"

// stsClientFixture is a running server that trusts a fake CI issuer, with a role
// "deploy" that only jobs on acme/app's main branch may assume, from a push or a manual
// run on a GitHub-hosted runner (the shape docs/github-actions.md recommends).
type stsClientFixture struct {
	s       *testServer
	ci      *fakeCI
	roleARN string
}

func newSTSClientFixture(t *testing.T) *stsClientFixture {
	t.Helper()
	ci := newFakeCI(t)
	s := startServer(t, fmt.Sprintf("sts:\n  issuers:\n    - name: ci\n      url: %q\n      audiences: [%q]\n      algorithms: [ES256]\n", ci.url, stsClientAudience))
	provider := strings.TrimPrefix(ci.url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},
		"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"%[1]s:aud":%[2]q,"%[1]s:sub":"repo:acme/app:ref:refs/heads/main",
			"%[1]s:event_name":["push","workflow_dispatch"],"%[1]s:runner_environment":"github-hosted"}}}]}`, provider, stsClientAudience)
	role := s.admin(t, "POST", "/roles", map[string]any{"name": "deploy", "trust_policy": json.RawMessage(trust)}, http.StatusCreated)
	arn, _ := role["arn"].(string)
	if arn == "" {
		t.Fatalf("role create returned no arn: %v", role)
	}
	return &stsClientFixture{s: s, ci: ci, roleARN: arn}
}

// tokenFile writes a CI token for ref to a file and returns its path and the token.
func (f *stsClientFixture) tokenFile(t *testing.T, ref string) (string, string) {
	t.Helper()
	tok := f.ci.token(t, stsClientAudience, ref)
	path := filepath.Join(t.TempDir(), "web-identity-token")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, tok
}

// callerARN signs GetCallerIdentity with the given credentials, as any AWS SDK would.
func (f *stsClientFixture) callerARN(t *testing.T, accessKey, secret, session string) string {
	t.Helper()
	client := awssts.New(awssts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(f.s.issuer + "/sts"),
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secret, session),
	})
	out, err := client.GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the printed credentials: %v", err)
	}
	return aws.ToString(out.Arn)
}

var stsTestClock = time.Unix(1_700_000_000, 0)

// stsTestDeps runs the commands on a fixed environment, never the process's.
func stsTestDeps(env map[string]string) stsClientDeps {
	return stsClientDeps{
		getenv:     func(k string) string { return env[k] },
		now:        func() time.Time { return stsTestClock },
		httpClient: &http.Client{Timeout: 10 * time.Second},
		retryWait:  10 * time.Millisecond,
	}
}

func runSTSCmd(cmd *cobra.Command, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// decodeCredentialProcess checks stdout is exactly the credential_process document and
// decodes it with the SDK's own type.
func decodeCredentialProcess(t *testing.T, stdout string) processcreds.CredentialProcessResponse {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal([]byte(stdout), &fields); err != nil {
		t.Fatalf("credential-process output is not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("credential-process output lacks %s: %s", k, stdout)
		}
	}
	if len(fields) != 5 {
		t.Errorf("credential-process output has %d fields, want 5: %s", len(fields), stdout)
	}
	if exp, _ := fields["Expiration"].(string); exp != "" {
		if _, err := time.Parse(time.RFC3339, exp); err != nil {
			t.Errorf("Expiration %q is not RFC 3339: %v", exp, err)
		}
	}
	var resp processcreds.CredentialProcessResponse
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
		t.Fatalf("decode as the SDK does: %v", err)
	}
	if resp.Version != 1 || !strings.HasPrefix(resp.AccessKeyID, "PCIA") || resp.SecretAccessKey == "" ||
		resp.SessionToken == "" || resp.Expiration == nil {
		t.Fatalf("credential-process output: %+v", resp)
	}
	return resp
}

// TestSTSCredentialProcessFromTokenFileSignsGetCallerIdentity: the endpoint comes from
// PORTCULLIS_SERVER, the session name defaults to portcullis-<unix time>, and the
// printed credentials sign requests the STS accepts.
func TestSTSCredentialProcessFromTokenFileSignsGetCallerIdentity(t *testing.T) {
	t.Parallel()
	f := newSTSClientFixture(t)
	path, tok := f.tokenFile(t, "refs/heads/main")

	cmd := newSTSCmdWith(stsTestDeps(map[string]string{envServer: f.s.issuer + "/"}))
	stdout, stderr, err := runSTSCmd(cmd, "credential-process", "--role-arn", f.roleARN, "--token-file", path, "--duration", "15m")
	if err != nil {
		t.Fatalf("credential-process: %v (stderr %q)", err, stderr)
	}
	if strings.Contains(stdout+stderr, tok) {
		t.Fatal("the web-identity token was printed")
	}
	resp := decodeCredentialProcess(t, stdout)
	if left := time.Until(*resp.Expiration); left < 13*time.Minute || left > 16*time.Minute {
		t.Fatalf("Expiration %s is %s away, want about 15m", resp.Expiration, left)
	}
	got := f.callerARN(t, resp.AccessKeyID, resp.SecretAccessKey, resp.SessionToken)
	if want := fmt.Sprintf(":assumed-role/deploy/portcullis-%d", stsTestClock.Unix()); !strings.HasSuffix(got, want) {
		t.Fatalf("caller %s, want suffix %s", got, want)
	}
}

// fakeRunner is the GitHub Actions runner's token endpoint: it hands out the token
// minted for the requested audience to a caller with the right bearer.
type fakeRunner struct {
	srv    *httptest.Server
	bearer string
	tokens map[string]string // audience -> token

	mu        sync.Mutex
	audiences []string
	apiVer    []string
}

func newFakeRunner(t *testing.T, tokens map[string]string) *fakeRunner {
	t.Helper()
	r := &fakeRunner{bearer: "runner-request-" + randState(), tokens: tokens}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet || req.URL.Path != "/idtoken" {
			http.NotFound(w, req)
			return
		}
		if req.Header.Get("Authorization") != "bearer "+r.bearer {
			http.Error(w, `{"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		aud := req.URL.Query().Get("audience")
		r.mu.Lock()
		r.audiences = append(r.audiences, aud)
		r.apiVer = append(r.apiVer, req.URL.Query().Get("api-version"))
		r.mu.Unlock()
		tok, ok := r.tokens[aud]
		if !ok {
			http.Error(w, `{"message":"no token for this audience"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": tok})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// requestURL is what the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL: it already
// carries a query string.
func (r *fakeRunner) requestURL() string { return r.srv.URL + "/idtoken?api-version=2.0" }

func (r *fakeRunner) seen() (audiences, apiVersions []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.audiences...), append([]string(nil), r.apiVer...)
}

// TestSTSCredentialProcessWithGitHubActionsToken runs the real newSTSCmd in a
// simulated job environment: the token is requested from the runner with the bearer
// and the audience, the session is named after the run, and without --audience the
// server URL is asked for (which this server does not trust).
func TestSTSCredentialProcessWithGitHubActionsToken(t *testing.T) {
	// No t.Parallel: t.Setenv changes the process environment.
	f := newSTSClientFixture(t)
	runner := newFakeRunner(t, map[string]string{
		stsClientAudience: f.ci.token(t, stsClientAudience, "refs/heads/main"),
		f.s.issuer:        f.ci.token(t, f.s.issuer, "refs/heads/main"),
	})
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_RUN_ID", "4242")
	t.Setenv("GITHUB_RUN_ATTEMPT", "2")
	t.Setenv(envActionsTokenURL, runner.requestURL())
	t.Setenv(envActionsTokenBearer, runner.bearer)
	t.Setenv(envSTSEndpoint, f.s.issuer+"/sts")
	t.Setenv(envServer, "")

	stdout, stderr, err := runSTSCmd(newSTSCmd(), "credential-process", "--github-actions",
		"--role-arn", f.roleARN, "--audience", stsClientAudience, "--duration", "15m")
	if err != nil {
		t.Fatalf("credential-process --github-actions: %v (stderr %q)", err, stderr)
	}
	for _, tok := range runner.tokens {
		if strings.Contains(stdout+stderr, tok) {
			t.Fatal("the web-identity token was printed")
		}
	}
	resp := decodeCredentialProcess(t, stdout)
	if got := f.callerARN(t, resp.AccessKeyID, resp.SecretAccessKey, resp.SessionToken); !strings.HasSuffix(got, ":assumed-role/deploy/gh-4242-2") {
		t.Fatalf("caller %s, want the session named after the run", got)
	}
	auds, vers := runner.seen()
	if len(auds) != 1 || auds[0] != stsClientAudience || vers[0] != "2.0" {
		t.Fatalf("runner saw audiences %q, api-version %q; want one request for %q keeping api-version 2.0", auds, vers, stsClientAudience)
	}

	// Without --audience the job asks for the server URL. This server trusts only
	// stsClientAudience, so the STS refuses the token.
	_, _, err = runSTSCmd(newSTSCmd(), "credential-process", "--github-actions", "--role-arn", f.roleARN, "--duration", "15m")
	if err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") {
		t.Fatalf("token for the default audience: %v, want InvalidIdentityToken", err)
	}
	if auds, _ := runner.seen(); len(auds) != 2 || auds[1] != f.s.issuer {
		t.Fatalf("runner saw audiences %q; the default must be the server URL %s", auds, f.s.issuer)
	}

	// A wrong bearer is the runner's refusal, reported with its status, never with
	// the bearer itself.
	t.Setenv(envActionsTokenBearer, "stale-"+runner.bearer)
	_, _, err = runSTSCmd(newSTSCmd(), "credential-process", "--github-actions", "--role-arn", f.roleARN, "--audience", stsClientAudience)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), runner.bearer) {
		t.Fatalf("wrong runner bearer: %v", err)
	}
}

// TestSTSGitHubActionsWithoutIDTokenPermissionSaysSo: a job without
// `permissions: id-token: write` has no request variables; the error names them and
// the fix, before anything is sent.
func TestSTSGitHubActionsWithoutIDTokenPermissionSaysSo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"job without id-token permission", map[string]string{"GITHUB_ACTIONS": "true"},
			[]string{envActionsTokenURL + " and " + envActionsTokenBearer + " not set", "permissions: id-token: write", "forks"}},
		{"bearer missing", map[string]string{"GITHUB_ACTIONS": "true", envActionsTokenURL: "https://runner.example/idtoken?x=1"},
			[]string{envActionsTokenBearer + " not set", "id-token: write"}},
		{"not in GitHub Actions", map[string]string{},
			[]string{"not set", "does not look like a GitHub Actions job"}},
		{"request URL in clear text", map[string]string{"GITHUB_ACTIONS": "true", envActionsTokenURL: "http://runner.example/idtoken", envActionsTokenBearer: "b"},
			[]string{envActionsTokenURL + " is not an https URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := newSTSCmdWith(stsTestDeps(tc.env))
			stdout, _, err := runSTSCmd(cmd, "credential-process", "--github-actions",
				"--role-arn", "arn:portcullis:iam::000000000000:role/deploy", "--endpoint", "https://id.example.invalid/sts")
			if err == nil {
				t.Fatalf("succeeded with output %q", stdout)
			}
			mustContain(t, err.Error(), tc.want...)
		})
	}
}

// TestSTSRefusalExitsNonZeroWithAccessDenied runs the command as a process, the way
// an SDK runs a credential_process: a token for another branch is refused by the
// trust policy, the process exits non-zero, and stderr carries the STS's code and
// message but not the token.
func TestSTSRefusalExitsNonZeroWithAccessDenied(t *testing.T) {
	t.Parallel()
	f := newSTSClientFixture(t)
	path, tok := f.tokenFile(t, "refs/heads/feature")

	cmd := stsHelperCommand(context.Background(), "credential-process", "--role-arn", f.roleARN,
		"--token-file", path, "--endpoint", f.s.issuer+"/sts", "--session-name", "refused")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("refused exchange: %v, want a non-zero exit (stderr %q)", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Fatalf("printed %q on refusal", stdout.String())
	}
	mustContain(t, stderr.String(), "AccessDenied", f.roleARN)
	if strings.Contains(stderr.String(), tok) {
		t.Fatal("the web-identity token is in the error")
	}
}

// TestSTSCredentialProcessFeedsTheSDKProvider hands the command to the SDK's own
// credential_process provider, which runs it and parses what it prints.
func TestSTSCredentialProcessFeedsTheSDKProvider(t *testing.T) {
	t.Parallel()
	f := newSTSClientFixture(t)
	path, _ := f.tokenFile(t, "refs/heads/main")
	provider := processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		return stsHelperCommand(ctx, "credential-process", "--role-arn", f.roleARN, "--token-file", path,
			"--endpoint", f.s.issuer+"/sts", "--session-name", "sdk-provider", "--duration", "20m"), nil
	}))
	creds, err := aws.NewCredentialsCache(provider).Retrieve(context.Background())
	if err != nil {
		t.Fatalf("SDK credential_process provider: %v", err)
	}
	if !creds.CanExpire || time.Until(creds.Expires) < 18*time.Minute || time.Until(creds.Expires) > 21*time.Minute {
		t.Fatalf("credentials expire at %s (CanExpire %v), want in about 20m", creds.Expires, creds.CanExpire)
	}
	if got := f.callerARN(t, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken); !strings.HasSuffix(got, ":assumed-role/deploy/sdk-provider") {
		t.Fatalf("caller %s", got)
	}
}

// stsHelperArgs carries the command line to the helper process.
const stsHelperArgs = "PORTCULLIS_TEST_STS_HELPER_ARGS"

// stsHelperCommand runs `portcullis sts ARGS...` in a child process: the test binary
// itself, entering TestSTSClientHelperProcess.
func stsHelperCommand(ctx context.Context, args ...string) *exec.Cmd {
	raw, _ := json.Marshal(args)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSTSClientHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), stsHelperArgs+"="+string(raw))
	return cmd
}

// TestSTSClientHelperProcess is not a test: in a child started by stsHelperCommand it
// behaves as the portcullis binary would for `portcullis sts ...`.
func TestSTSClientHelperProcess(t *testing.T) {
	raw := os.Getenv(stsHelperArgs)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, "helper arguments:", err)
		os.Exit(2)
	}
	cmd := newSTSCmd()
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

var exportLine = regexp.MustCompile(`^export (AWS_[A-Z_]+)=('[^']*')$`)

// TestSTSAssumeRolePrintsShellExportsAndJSON: -o env prints four single-quoted export
// lines that a shell evaluates back to the credentials; -o json prints the STS answer
// in the AWS CLI's shape.
func TestSTSAssumeRolePrintsShellExportsAndJSON(t *testing.T) {
	t.Parallel()
	f := newSTSClientFixture(t)
	path, tok := f.tokenFile(t, "refs/heads/main")
	deps := stsTestDeps(nil)
	args := []string{"assume-role-with-web-identity", "--role-arn", f.roleARN, "--token-file", path,
		"--endpoint", f.s.issuer + "/sts", "--session-name", "shell job #7 (ünïcode)", "--duration", "15m"}

	stdout, _, err := runSTSCmd(newSTSCmdWith(deps), append(args, "-o", "env")...)
	if err != nil {
		t.Fatalf("-o env: %v", err)
	}
	if strings.Contains(stdout, tok) {
		t.Fatal("the web-identity token was printed")
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	var names []string
	vals := map[string]string{}
	for _, l := range lines {
		m := exportLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a quoted export line: %q", l)
		}
		names = append(names, m[1])
		vals[m[1]] = strings.Trim(m[2], "'")
	}
	if got, want := strings.Join(names, " "), "AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION"; got != want {
		t.Fatalf("exported %s, want %s", got, want)
	}
	if _, err := time.Parse(time.RFC3339, vals["AWS_CREDENTIAL_EXPIRATION"]); err != nil {
		t.Fatalf("AWS_CREDENTIAL_EXPIRATION: %v", err)
	}
	arn := f.callerARN(t, vals["AWS_ACCESS_KEY_ID"], vals["AWS_SECRET_ACCESS_KEY"], vals["AWS_SESSION_TOKEN"])
	// The session name was cut down to RoleSessionName's character set.
	if !strings.HasSuffix(arn, ":assumed-role/deploy/shell-job--7---n-code-") {
		t.Fatalf("caller %s", arn)
	}

	stdout, _, err = runSTSCmd(newSTSCmdWith(deps), append(args, "-o", "json", "--session-name", "json")...)
	if err != nil {
		t.Fatalf("-o json: %v", err)
	}
	var out struct {
		Credentials struct {
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string
			SessionToken    string
			Expiration      time.Time
		}
		SubjectFromWebIdentityToken string
		AssumedRoleUser             struct{ AssumedRoleID, Arn string }
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("-o json output: %v\n%s", err, stdout)
	}
	if !strings.HasPrefix(out.Credentials.AccessKeyID, "PCIA") || out.Credentials.SessionToken == "" || out.Credentials.Expiration.IsZero() ||
		out.SubjectFromWebIdentityToken != "repo:acme/app:ref:refs/heads/main" || !strings.HasSuffix(out.AssumedRoleUser.Arn, ":assumed-role/deploy/json") {
		t.Fatalf("-o json output: %s", stdout)
	}

	if _, _, err := runSTSCmd(newSTSCmdWith(deps), append(args, "-o", "yaml")...); err == nil || !strings.Contains(err.Error(), "env or json") {
		t.Fatalf("-o yaml: %v", err)
	}
}

// TestShellSingleQuoteSurvivesAShell evaluates the export lines in a real shell.
func TestShellSingleQuoteSurvivesAShell(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	for _, v := range []string{"plain", "it's", "$(touch /nonexistent) `x` $HOME", "a'b'c''", "new\nline", ""} {
		out, err := exec.Command(sh, "-c", "export V="+shellSingleQuote(v)+`; printf %s "$V"`).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", v, err)
		}
		if string(out) != v {
			t.Fatalf("sh read %q back as %q", v, out)
		}
	}
}

func TestSanitizeSessionName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"gh-123-1", "gh-123-1"},
		{"user@example.com,team=web+ops_1", "user@example.com,team=web+ops_1"},
		{"deploy/prod:eu", "deploy-prod-eu"},
		{"ünï", "-n-"},
		{strings.Repeat("a", 70), strings.Repeat("a", 64)},
		{strings.Repeat("é", 70), strings.Repeat("-", 64)},
	} {
		if got := sanitizeSessionName(tc.in); got != tc.want {
			t.Errorf("sanitizeSessionName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSTSSessionNameDefaults(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return stsTestClock }
	for _, tc := range []struct {
		name, flag string
		env        map[string]string
		want       string
	}{
		{"outside Actions", "", nil, "portcullis-1700000000"},
		{"run and attempt", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "99", "GITHUB_RUN_ATTEMPT": "3"}, "gh-99-3"},
		{"attempt missing", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "99"}, "gh-99-1"},
		{"run id without GITHUB_ACTIONS", "", map[string]string{"GITHUB_RUN_ID": "99"}, "portcullis-1700000000"},
		{"flag wins", "mine", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "99"}, "mine"},
	} {
		got, err := stsSessionName(tc.flag, func(k string) string { return tc.env[k] }, now)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := stsSessionName("x", func(string) string { return "" }, now); err == nil {
		t.Error("a one-character session name was accepted")
	}
}

func TestResolveSTSEndpointPrecedenceAndCleartext(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name, flag string
		env        map[string]string
		want, err  string
	}{
		{"flag first", "https://a.example/sts", map[string]string{envSTSEndpoint: "https://b.example/sts"}, "https://a.example/sts", ""},
		{"AWS_ENDPOINT_URL_STS next", "", map[string]string{envSTSEndpoint: "https://b.example/sts/", envServer: "https://c.example"}, "https://b.example/sts", ""},
		{"server plus /sts last", "", map[string]string{envServer: "https://c.example/"}, "https://c.example/sts", ""},
		{"loopback http", "http://127.0.0.1:8080/sts", nil, "http://127.0.0.1:8080/sts", ""},
		{"nothing", "", nil, "", "no STS endpoint"},
		{"http off loopback", "", map[string]string{envServer: "http://id.example.com"}, "", "plain http is only allowed to a loopback address"},
		{"not a URL", "id.example.com/sts", nil, "", "must be an http(s) URL"},
	} {
		got, err := resolveSTSEndpoint(tc.flag, env(tc.env))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %q, %v; want error %q", tc.name, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if got := defaultSTSAudience("https://id.example.com/sts"); got != "https://id.example.com" {
		t.Errorf("default audience %q", got)
	}
}

// TestSTSFlagMistakesAreRefusedBeforeAnyRequest: these fail without a server.
func TestSTSFlagMistakesAreRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("x.y.z"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"credential-process", "--role-arn", "arn:portcullis:iam::000000000000:role/deploy", "--endpoint", "http://127.0.0.1:1/sts"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no token source", nil, "exactly one of --token-file FILE and --github-actions"},
		{"two token sources", []string{"--token-file", file, "--github-actions"}, "exactly one of"},
		{"audience with a file", []string{"--token-file", file, "--audience", "x"}, "--audience applies only with --github-actions"},
		{"too short", []string{"--token-file", file, "--duration", "5m"}, "--duration 5m0s"},
		{"too long", []string{"--token-file", file, "--duration", "13h"}, "15m0s to 12h0m0s"},
		{"empty token file", []string{"--token-file", empty}, "is empty"},
		{"missing token file", []string{"--token-file", file + ".missing"}, "read --token-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runSTSCmd(newSTSCmdWith(stsTestDeps(nil)), append(append([]string(nil), base...), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, _, err := runSTSCmd(newSTSCmdWith(stsTestDeps(nil)), "credential-process", "--token-file", file); err == nil || !strings.Contains(err.Error(), "role-arn") {
		t.Fatalf("without --role-arn: %v", err)
	}
}

// TestActionsTokenSourceRetriesTransientFailures: a 503 is tried again, a 403 is not.
func TestActionsTokenSourceRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	status := []int{http.StatusServiceUnavailable, http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code := status[min(calls, len(status)-1)]
		calls++
		mu.Unlock()
		if code != http.StatusOK {
			http.Error(w, "try later", code)
			return
		}
		_, _ = w.Write([]byte(`{"value":"header.payload.signature"}`))
	}))
	t.Cleanup(srv.Close)
	callCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	d := stsTestDeps(map[string]string{envActionsTokenURL: srv.URL + "/t?api-version=2.0", envActionsTokenBearer: "b"})
	src, err := actionsTokenSourceFromEnv(d)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.token(context.Background(), "aud")
	if err != nil || tok != "header.payload.signature" || callCount() != 2 {
		t.Fatalf("after one 503: %q, %v, %d calls", tok, err, callCount())
	}

	mu.Lock()
	calls, status = 0, []int{http.StatusForbidden}
	mu.Unlock()
	if _, err := src.token(context.Background(), "aud"); err == nil || !strings.Contains(err.Error(), "403") || callCount() != 1 {
		t.Fatalf("403: %v after %d calls, want one call and the status", err, callCount())
	}
}
