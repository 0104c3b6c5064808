package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
)

// Environment variables the sts client reads.
const (
	// envSTSEndpoint is the AWS SDKs' own service-specific endpoint variable, so one
	// setting serves both this command and any SDK in the same job.
	envSTSEndpoint = "AWS_ENDPOINT_URL_STS"
	// Set by the GitHub Actions runner when the job has `permissions: id-token: write`.
	envActionsTokenURL    = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envActionsTokenBearer = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// Limits of AssumeRoleWithWebIdentity (SPEC §1.2).
const (
	stsMinDuration       = 15 * time.Minute
	stsMaxDuration       = 12 * time.Hour
	stsMaxSessionName    = 64
	stsMinSessionName    = 2
	stsMaxWebTokenLength = 20000
)

// stsClientDeps are what the sts commands take from the process, injected so tests
// can run without touching the real environment or clock.
type stsClientDeps struct {
	getenv func(string) string
	now    func() time.Time
	// httpClient carries the runner token request (not the STS call, which uses the SDK's
	// own client).
	httpClient *http.Client
	// retryWait is the pause before the second attempt at the runner's token
	// endpoint; it doubles for the third.
	retryWait time.Duration
}

// stsAssumeFlags are the flags both subcommands share.
type stsAssumeFlags struct {
	roleARN       string
	tokenFile     string
	githubActions bool
	audience      string
	sessionName   string
	duration      time.Duration
	endpoint      string
	timeout       time.Duration
}

// newSTSCmd is `portcullis sts`, the client side of /sts: it exchanges a web-identity
// token (a file, or the GitHub Actions job's own OIDC token) for role credentials.
func newSTSCmd() *cobra.Command {
	return newSTSCmdWith(stsClientDeps{
		getenv:     os.Getenv,
		now:        time.Now,
		httpClient: &http.Client{Timeout: 30 * time.Second},
		retryWait:  time.Second,
	})
}

func newSTSCmdWith(d stsClientDeps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sts",
		Short: "Exchange a web-identity token for role credentials at a Portcullis STS",
		Long: `Exchange a web-identity token for temporary role credentials by calling
AssumeRoleWithWebIdentity at a Portcullis STS.

The token comes from --token-file, or with --github-actions from the GitHub Actions
runner (the job needs "permissions: id-token: write").

The STS endpoint is --endpoint, else $` + envSTSEndpoint + `, else $` + envServer + ` + "/sts".`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSTSCredentialProcessCmd(d), newSTSAssumeCmd(d))
	return cmd
}

func (f *stsAssumeFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.roleARN, "role-arn", "", "ARN of the role to assume (arn:portcullis:iam::ACCOUNT:role/NAME)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the web-identity token (read on every call)")
	fs.BoolVar(&f.githubActions, "github-actions", false, "request the token from the GitHub Actions runner")
	fs.StringVar(&f.audience, "audience", "", `with --github-actions: the token's audience (default: the server URL, i.e. the endpoint without "/sts")`)
	fs.StringVar(&f.sessionName, "session-name", "", "role session name (default gh-RUN_ID-RUN_ATTEMPT under GitHub Actions, else portcullis-UNIX_TIME)")
	fs.DurationVar(&f.duration, "duration", time.Hour, "session duration, 15m to 12h, at most the role's maximum")
	fs.StringVar(&f.endpoint, "endpoint", "", "STS endpoint URL (default $"+envSTSEndpoint+", else $"+envServer+"/sts)")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "give up after this long")
	_ = cmd.MarkFlagRequired("role-arn")
}

func newSTSCredentialProcessCmd(d stsClientDeps) *cobra.Command {
	var f stsAssumeFlags
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print role credentials in the AWS credential_process format",
		Long: `Print role credentials as the JSON an AWS SDK expects from a credential_process
(Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration). The SDK runs the
command again when the credentials are about to expire.`,
		Example: `  # ~/.aws/config (or the file named by AWS_CONFIG_FILE)
  [profile deploy]
  credential_process = portcullis sts credential-process --github-actions --role-arn arn:portcullis:iam::123456789012:role/deploy --endpoint https://id.example.com/sts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := f.assume(cmd.Context(), d)
			if err != nil {
				return err
			}
			return writeCredentialProcess(cmd.OutOrStdout(), out)
		},
	}
	f.register(cmd)
	return cmd
}

func newSTSAssumeCmd(d stsClientDeps) *cobra.Command {
	var f stsAssumeFlags
	var format string
	cmd := &cobra.Command{
		Use:     "assume-role-with-web-identity",
		Short:   "Assume a role with a web-identity token and print the credentials as shell exports or JSON",
		Example: `  eval "$(portcullis sts assume-role-with-web-identity --github-actions --role-arn arn:portcullis:iam::123456789012:role/deploy)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "env" && format != "json" {
				return fmt.Errorf("--output %q: must be env or json", format)
			}
			out, err := f.assume(cmd.Context(), d)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeAssumeJSON(cmd.OutOrStdout(), out)
			}
			return writeCredentialExports(cmd.OutOrStdout(), out)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "env", "env (export lines for a POSIX shell) or json")
	return cmd
}

// assume validates the flags, obtains the token and calls AssumeRoleWithWebIdentity.
// Flag mistakes are reported before any token is requested.
func (f *stsAssumeFlags) assume(ctx context.Context, d stsClientDeps) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	if f.githubActions == (f.tokenFile != "") {
		return nil, errors.New("pass exactly one of --token-file FILE and --github-actions")
	}
	if f.audience != "" && !f.githubActions {
		return nil, errors.New("--audience applies only with --github-actions: a token file already carries its audience")
	}
	if f.duration < stsMinDuration || f.duration > stsMaxDuration || f.duration%time.Second != 0 {
		return nil, fmt.Errorf("--duration %s: must be whole seconds from %s to %s", f.duration, stsMinDuration, stsMaxDuration)
	}
	endpoint, err := resolveSTSEndpoint(f.endpoint, d.getenv)
	if err != nil {
		return nil, err
	}
	session, err := stsSessionName(f.sessionName, d.getenv, d.now)
	if err != nil {
		return nil, err
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}

	var token string
	if f.githubActions {
		src, err := actionsTokenSourceFromEnv(d)
		if err != nil {
			return nil, err
		}
		aud := f.audience
		if aud == "" {
			aud = defaultSTSAudience(endpoint)
		}
		if token, err = src.token(ctx, aud); err != nil {
			return nil, err
		}
	} else if token, err = readWebIdentityToken(f.tokenFile); err != nil {
		return nil, err
	}

	client := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint)})
	out, err := client.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(f.roleARN),
		RoleSessionName:  aws.String(session),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  aws.Int32(int32(f.duration / time.Second)),
	})
	if err != nil {
		return nil, stsCallError(f.roleARN, endpoint, err)
	}
	c := out.Credentials
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" ||
		aws.ToString(c.SessionToken) == "" || c.Expiration == nil {
		return nil, fmt.Errorf("assume role %s at %s: the answer lacks part of the credentials", f.roleARN, endpoint)
	}
	return out, nil
}

// resolveSTSEndpoint picks the endpoint: the flag, then AWS_ENDPOINT_URL_STS, then
// PORTCULLIS_SERVER + "/sts". The token and the credentials travel over it, so plain
// http is allowed only to a loopback address.
func resolveSTSEndpoint(flag string, getenv func(string) string) (string, error) {
	raw, from := flag, "--endpoint"
	if raw == "" {
		raw, from = strings.TrimSpace(getenv(envSTSEndpoint)), envSTSEndpoint
	}
	if raw == "" {
		if srv := strings.TrimSpace(getenv(envServer)); srv != "" {
			raw, from = strings.TrimRight(srv, "/")+"/sts", envServer
		}
	}
	if raw == "" {
		return "", fmt.Errorf("no STS endpoint: pass --endpoint URL, or set %s or %s", envSTSEndpoint, envServer)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("STS endpoint %q (from %s): must be an http(s) URL without query, such as https://id.example.com/sts", raw, from)
	}
	if u.Scheme == "http" && !stsLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("STS endpoint %q (from %s): plain http is only allowed to a loopback address; use https", raw, from)
	}
	return strings.TrimRight(raw, "/"), nil
}

func stsLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// defaultSTSAudience is the audience asked for when --audience is not given: the
// Portcullis server URL, which is the endpoint without its "/sts" path (SPEC §8: our
// STS's audience is the issuer URL).
func defaultSTSAudience(endpoint string) string {
	return strings.TrimSuffix(endpoint, "/sts")
}

// stsSessionName returns the flag's value, or a default that ties the session to the
// GitHub Actions run it came from, sanitized to what RoleSessionName accepts.
func stsSessionName(flag string, getenv func(string) string, now func() time.Time) (string, error) {
	name := flag
	if name == "" {
		if run := getenv("GITHUB_RUN_ID"); getenv("GITHUB_ACTIONS") == "true" && run != "" {
			attempt := getenv("GITHUB_RUN_ATTEMPT")
			if attempt == "" {
				attempt = "1"
			}
			name = "gh-" + run + "-" + attempt
		} else {
			name = "portcullis-" + strconv.FormatInt(now().Unix(), 10)
		}
	}
	name = sanitizeSessionName(name)
	if len(name) < stsMinSessionName {
		return "", fmt.Errorf("--session-name %q: must be %d to %d characters", flag, stsMinSessionName, stsMaxSessionName)
	}
	return name, nil
}

// sanitizeSessionName maps every character outside [\w+=,.@-] (SPEC §1.2) to "-" and
// cuts the result to 64 characters.
func sanitizeSessionName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == stsMaxSessionName {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// readWebIdentityToken reads the token file afresh: the file is typically rotated by
// whatever writes it (a projected Kubernetes token, a CI step).
func readWebIdentityToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read --token-file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, stsMaxWebTokenLength+1024))
	if err != nil {
		return "", fmt.Errorf("read --token-file %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(raw))
	switch {
	case tok == "":
		return "", fmt.Errorf("--token-file %s is empty", path)
	case len(tok) > stsMaxWebTokenLength:
		return "", fmt.Errorf("--token-file %s: longer than %d characters, not a web-identity token", path, stsMaxWebTokenLength)
	}
	return tok, nil
}

// actionsTokenSource asks the GitHub Actions runner for the job's OIDC token (SPEC §9).
type actionsTokenSource struct {
	requestURL string
	bearer     string
	httpClient *http.Client
	retryWait  time.Duration
}

func actionsTokenSourceFromEnv(d stsClientDeps) (*actionsTokenSource, error) {
	reqURL, bearer := d.getenv(envActionsTokenURL), d.getenv(envActionsTokenBearer)
	if reqURL == "" || bearer == "" {
		var missing []string
		for _, k := range []string{envActionsTokenURL, envActionsTokenBearer} {
			if d.getenv(k) == "" {
				missing = append(missing, k)
			}
		}
		if d.getenv("GITHUB_ACTIONS") != "true" {
			return nil, fmt.Errorf("--github-actions: %s not set, and this does not look like a GitHub Actions job (GITHUB_ACTIONS is not \"true\")",
				strings.Join(missing, " and "))
		}
		return nil, fmt.Errorf("--github-actions: %s not set: the workflow or job needs \"permissions: id-token: write\" "+
			"(pull requests from forks never get it)", strings.Join(missing, " and "))
	}
	u, err := url.Parse(reqURL)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && stsLoopbackHost(u.Hostname())) {
		return nil, fmt.Errorf("--github-actions: %s is not an https URL", envActionsTokenURL)
	}
	return &actionsTokenSource{requestURL: reqURL, bearer: bearer, httpClient: d.httpClient, retryWait: d.retryWait}, nil
}

// token fetches a token minted for audience. The request URL already carries a query
// string, so the audience is appended with "&". Transient failures (a network error,
// 429, 5xx) are tried three times in all.
func (s *actionsTokenSource) token(ctx context.Context, audience string) (string, error) {
	sep := "&"
	if !strings.Contains(s.requestURL, "?") {
		sep = "?"
	}
	target := s.requestURL + sep + "audience=" + url.QueryEscape(audience)
	wait := s.retryWait
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", fmt.Errorf("GitHub Actions OIDC token for audience %q: %w (last attempt: %v)", audience, ctx.Err(), lastErr)
			case <-t.C:
			}
			wait *= 2
		}
		tok, retry, err := s.fetch(ctx, target)
		if err == nil {
			return tok, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return "", fmt.Errorf("GitHub Actions OIDC token for audience %q: %w", audience, lastErr)
}

// fetch makes one request. It reports whether a failure is worth another attempt.
// Neither the bearer nor the token ever appears in an error.
func (s *actionsTokenSource) fetch(ctx context.Context, target string) (token string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", false, fmt.Errorf("build request to the runner: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+s.bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds no secret: the runner's bearer goes
		// in the header.
		return "", ctx.Err() == nil, fmt.Errorf("ask the runner: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", true, fmt.Errorf("read the runner's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return "", retry, fmt.Errorf("the runner answered %d: %s", resp.StatusCode, clipText(strings.TrimSpace(string(raw)), 200))
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return "", false, fmt.Errorf("the runner's answer is not JSON: %w", err)
	}
	if body.Value == "" {
		return "", false, errors.New(`the runner's answer has no "value"`)
	}
	return body.Value, false, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// stsCallError puts the STS's own error code and message first, which is what a
// person reading a failed job needs (AccessDenied: the trust policy; InvalidIdentityToken:
// issuer, audience or signature).
func stsCallError(roleARN, endpoint string, err error) error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("assume role %s at %s: %w", roleARN, endpoint, err)
	}
	e := &stsRefusal{RoleARN: roleARN, Code: apiErr.ErrorCode(), Message: apiErr.ErrorMessage(), err: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.RequestID = re.ServiceRequestID()
	}
	return e
}

// stsRefusal is an error answer of the STS.
type stsRefusal struct {
	RoleARN   string
	Code      string
	Message   string
	RequestID string
	err       error
}

func (e *stsRefusal) Error() string {
	s := fmt.Sprintf("assume role %s: %s: %s", e.RoleARN, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

func (e *stsRefusal) Unwrap() error { return e.err }

// credentialProcessOutput is the credential_process format of the AWS SDKs and CLI.
type credentialProcessOutput struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func writeCredentialProcess(w io.Writer, out *awssts.AssumeRoleWithWebIdentityOutput) error {
	c := out.Credentials
	return json.NewEncoder(w).Encode(credentialProcessOutput{
		Version:         1,
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
	})
}

// writeCredentialExports prints lines for `eval` in a POSIX shell. Every value is
// single-quoted, so nothing in it is expanded.
func writeCredentialExports(w io.Writer, out *awssts.AssumeRoleWithWebIdentityOutput) error {
	c := out.Credentials
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", aws.ToString(c.AccessKeyId)},
		{"AWS_SECRET_ACCESS_KEY", aws.ToString(c.SecretAccessKey)},
		{"AWS_SESSION_TOKEN", aws.ToString(c.SessionToken)},
		{"AWS_CREDENTIAL_EXPIRATION", c.Expiration.UTC().Format(time.RFC3339)},
	} {
		if _, err := fmt.Fprintf(w, "export %s=%s\n", kv[0], shellSingleQuote(kv[1])); err != nil {
			return err
		}
	}
	return nil
}

func shellSingleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeAssumeJSON prints the answer in the shape `aws sts
// assume-role-with-web-identity` prints.
func writeAssumeJSON(w io.Writer, out *awssts.AssumeRoleWithWebIdentityOutput) error {
	type credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type assumedRoleUser struct {
		AssumedRoleID string `json:"AssumedRoleId"`
		Arn           string
	}
	c := out.Credentials
	v := struct {
		Credentials                 credentials
		SubjectFromWebIdentityToken string           `json:",omitempty"`
		AssumedRoleUser             *assumedRoleUser `json:",omitempty"`
		Provider                    string           `json:",omitempty"`
		Audience                    string           `json:",omitempty"`
		SourceIdentity              string           `json:",omitempty"`
	}{
		Credentials: credentials{
			AccessKeyID:     aws.ToString(c.AccessKeyId),
			SecretAccessKey: aws.ToString(c.SecretAccessKey),
			SessionToken:    aws.ToString(c.SessionToken),
			Expiration:      c.Expiration.UTC().Format(time.RFC3339),
		},
		SubjectFromWebIdentityToken: aws.ToString(out.SubjectFromWebIdentityToken),
		Provider:                    aws.ToString(out.Provider),
		Audience:                    aws.ToString(out.Audience),
		SourceIdentity:              aws.ToString(out.SourceIdentity),
	}
	if u := out.AssumedRoleUser; u != nil {
		v.AssumedRoleUser = &assumedRoleUser{AssumedRoleID: aws.ToString(u.AssumedRoleId), Arn: aws.ToString(u.Arn)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
