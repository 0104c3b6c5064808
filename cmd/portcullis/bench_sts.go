package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spf13/cobra"
)

func newBenchSTSCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "sts",
		Short: "Drive AssumeRoleWithWebIdentity and report exchanges/s, latency and RSS",
		Long: `Starts a local CI token issuer (RS256, like GitHub Actions) and its own server
trusting it, creates a role, and drives POST /sts AssumeRoleWithWebIdentity from
--concurrency workers for --duration. Each exchange costs one RS256 verification of the
CI token and one signature of the session token (--alg); --sign-for first measures that
raw pair on all cores in this process, to compare with.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchSTS(cmd.Context(), cmd.OutOrStdout(), o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.concurrency, "concurrency", 16, "concurrent workers")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "measured duration")
	f.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up (fetches the issuer's keys once)")
	f.StringVar(&o.alg, "alg", "ES256", "signing algorithm of the server: RS256, ES256 or EdDSA")
	f.DurationVar(&o.signFor, "sign-for", 5*time.Second, "measure the raw verify+sign rate for this long first (0 skips)")
	f.StringVar(&o.profile, "cpuprofile", "", "write the server's CPU profile for the measured window to this file")
	return cmd
}

// benchIssuer is a CI-style OIDC issuer on loopback: discovery, JWKS, RS256 tokens.
type benchIssuer struct {
	url     string
	key     *rsa.PrivateKey
	srv     *http.Server
	fetches atomic.Int64 // JWKS fetches, to show the request path never fetches
}

func startBenchIssuer() (*benchIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	is := &benchIssuer{url: "http://" + ln.Addr().String(), key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": is.url, "jwks_uri": is.url + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "bench", Algorithm: "RS256", Use: "sig"}}})
	})
	is.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = is.srv.Serve(ln) }()
	return is, nil
}

func (is *benchIssuer) token(aud string, life time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: is.key, KeyID: "bench"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(map[string]any{
		"iss": is.url, "aud": aud, "sub": "repo:acme/app:ref:refs/heads/main", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(life).Unix(), "repository": "acme/app", "repository_id": "123456", "repository_owner": "acme",
		"ref": "refs/heads/main", "workflow": "bench", "event_name": "push", "runner_environment": "github-hosted",
	}).Serialize()
}

// rawExchangeRate verifies a CI token and signs a session-token-sized claim set on every
// core for d: the cryptographic floor of one exchange.
func rawExchangeRate(is *benchIssuer, token, alg string, d time.Duration) (float64, error) {
	signer, err := benchSigner(alg)
	if err != nil {
		return 0, err
	}
	claims := []byte(`{"iss":"http://127.0.0.1:8080","sub":"arn:portcullis:sts::000000000000:assumed-role/deploy/bench","aud":["sts"],"client_id":"sts","exp":1900000000,"iat":1800000000,"jti":"PCIAABCDEFGHIJKLMNOP","role":"arn:portcullis:iam::000000000000:role/deploy","session_name":"bench"}`)
	var n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
				if err == nil {
					_, err = jws.Verify(&is.key.PublicKey)
				}
				if err == nil {
					var s *jose.JSONWebSignature
					if s, err = signer.Sign(claims); err == nil {
						_, err = s.CompactSerialize()
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(n.Load()) / d.Seconds(), nil
}

func runBenchSTS(ctx context.Context, out io.Writer, o benchOpts) error {
	if o.concurrency < 1 || o.concurrency > 1024 {
		return fmt.Errorf("--concurrency: must be between 1 and 1024")
	}
	is, err := startBenchIssuer()
	if err != nil {
		return err
	}
	defer is.srv.Close()
	const audience = "https://sts.bench.test"
	token, err := is.token(audience, o.duration+o.warmup+10*time.Minute)
	if err != nil {
		return err
	}
	raw := 0.0
	if o.signFor > 0 {
		if raw, err = rawExchangeRate(is, token, o.alg, o.signFor); err != nil {
			return err
		}
		fmt.Fprintf(out, "raw RS256 verify + %s sign: %.0f pairs/s on %d cores\n", o.alg, raw, runtime.GOMAXPROCS(0))
	}
	srv, err := startBenchServer(ctx, o.alg, fmt.Sprintf("sts:\n  issuers:\n    - name: ci\n      url: %q\n      audiences: [%q]\n      algorithms: [RS256]\n", is.url, audience))
	if err != nil {
		return err
	}
	defer srv.stop()
	provider := strings.TrimPrefix(is.url, "http://")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:portcullis:iam::000000000000:oidc-provider/%[1]s"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"%[1]s:aud":%[2]q},"StringLike":{"%[1]s:sub":"repo:acme/app:ref:refs/heads/main"}}}]}`, provider, audience)
	roleARN, err := srv.createRole(ctx, "deploy", trust)
	if err != nil {
		return err
	}
	body := []byte(url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
		"RoleSessionName": {"bench"}, "WebIdentityToken": {token}, "DurationSeconds": {"900"},
	}.Encode())
	newWorker, err := rawPostWorkers(srv.issuer+"/sts", body, "", func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("<AccessKeyId>PCIA")) {
			return fmt.Errorf("sts: %s: %.300s", resp.Status, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.warmup > 0 {
		runLoad(ctx, newWorker, o, o.warmup)
	}
	fetchesBefore := is.fetches.Load()
	before := srv.stats()
	if o.profile != "" {
		if err := srv.startProfile(ctx, o.duration); err != nil {
			return err
		}
	}
	res := runLoad(ctx, newWorker, o, o.duration)
	if o.profile != "" {
		if err := srv.waitProfile(o.profile); err != nil {
			return err
		}
	}
	if res.ok == 0 {
		return fmt.Errorf("no credentials were issued (%d errors; first: %v)", res.failed, res.firstErr)
	}
	rate := float64(res.ok) / res.elapsed.Seconds()
	fmt.Fprintf(out, "AssumeRoleWithWebIdentity, %d concurrent, %s: %d exchanges, %.0f/s, %d errors\n", o.concurrency, o.duration, res.ok, rate, res.failed)
	if raw > 0 {
		fmt.Fprintf(out, "  %.1f %% of the raw verify+sign rate\n", 100*rate/raw)
	}
	fmt.Fprintf(out, "latency p50 %s  p90 %s  p99 %s  max %s\n", res.pct(50), res.pct(90), res.pct(99), res.pct(100))
	after := srv.stats()
	fmt.Fprintf(out, "server RSS %.1f MiB, CPU %.1f s over the window; JWKS fetches during the window: %d\n",
		float64(after.rss)/(1<<20), after.cpu-before.cpu, is.fetches.Load()-fetchesBefore)
	return nil
}

// createRole creates a role with trustPolicy through the admin API and returns its ARN.
func (s *benchServer) createRole(ctx context.Context, name, trustPolicy string) (string, error) {
	b, _ := json.Marshal(map[string]any{"name": name, "trust_policy": json.RawMessage(trustPolicy)})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.issuer+"/admin/v1/roles", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	var out struct {
		ARN string `json:"arn"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(rb, &out) != nil || out.ARN == "" {
		return "", fmt.Errorf("create bench role: %s: %s", resp.Status, rb)
	}
	return out.ARN, nil
}
