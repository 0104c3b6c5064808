package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"
)

type benchOpts struct {
	server       string
	clientID     string
	clientSecret string
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	alg          string
	signFor      time.Duration
	profile      string
	client       string
}

func newBenchCmd() *cobra.Command {
	bench := &cobra.Command{Use: "bench", Short: "Load generators (loopback only)"}
	var o benchOpts
	tok := &cobra.Command{
		Use:   "token",
		Short: "Drive the token endpoint with client_credentials and report tokens/s, latency and RSS",
		Long: `Drives POST /oauth/token with the client_credentials grant from --concurrency workers
for --duration and reports tokens/s, p50/p90/p99 latency, and the server's RSS and CPU.

Without --server it starts its own server (this binary, a temporary data directory,
signing algorithm --alg) on a free 127.0.0.1 port, creates a client through the admin API
with the bootstrap token, runs the load and stops the server. It also measures the raw
signing rate of --alg on all cores in this process first (--sign-for), so the token rate
can be compared with what the machine can sign.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchToken(cmd.Context(), cmd.OutOrStdout(), o) },
	}
	f := tok.Flags()
	f.StringVar(&o.server, "server", "", "issuer URL of a running server (loopback only); empty starts one")
	f.StringVar(&o.clientID, "client-id", "", "client id (with --server)")
	f.StringVar(&o.clientSecret, "client-secret", "", "client secret (with --server; or env PORTCULLIS_BENCH_SECRET)")
	f.IntVar(&o.concurrency, "concurrency", 16, "concurrent workers")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "measured duration")
	f.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before the measurement")
	f.StringVar(&o.alg, "alg", "ES256", "signing algorithm of the self-started server: RS256, ES256 or EdDSA")
	f.DurationVar(&o.signFor, "sign-for", 5*time.Second, "measure the raw signing rate for this long first (0 skips)")
	f.StringVar(&o.client, "client", "raw", "load client: raw (pre-built requests on keep-alive connections, least CPU) or net/http")
	f.StringVar(&o.profile, "cpuprofile", "", "write the self-started server's CPU profile for the measured window to this file")
	bench.AddCommand(tok, newBenchSTSCmd(), newBenchPDPCmd())
	return bench
}

func runBenchToken(ctx context.Context, out io.Writer, o benchOpts) error {
	if o.concurrency < 1 || o.concurrency > 1024 {
		return fmt.Errorf("--concurrency: must be between 1 and 1024")
	}
	if o.signFor > 0 {
		rate, err := rawSignRate(o.alg, o.signFor)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "raw %s signing: %.0f signatures/s on %d cores\n", o.alg, rate, runtime.GOMAXPROCS(0))
	}
	var srv *benchServer
	if o.server == "" {
		var err error
		srv, err = startBenchServer(ctx, o.alg, "")
		if err != nil {
			return err
		}
		defer srv.stop()
		o.server = srv.issuer
		o.clientID, o.clientSecret, err = srv.createClient(ctx)
		if err != nil {
			return err
		}
	} else if o.clientSecret == "" {
		o.clientSecret = os.Getenv("PORTCULLIS_BENCH_SECRET")
	}
	if err := loopbackOnly(o.server); err != nil {
		return err
	}
	tokenURL := strings.TrimSuffix(o.server, "/") + "/oauth/token"
	body := []byte(url.Values{"grant_type": {"client_credentials"}}.Encode())
	newWorker := netHTTPWorkers(tokenURL, body, o.clientID, o.clientSecret, o.concurrency)
	if o.client == "raw" {
		var err error
		if newWorker, err = rawWorkers(tokenURL, body, o.clientID, o.clientSecret); err != nil {
			return err
		}
	} else if o.client != "net/http" {
		return fmt.Errorf("--client: must be raw or net/http")
	}

	// Warm-up: connections, caches, a settled heap.
	if o.warmup > 0 {
		runLoad(ctx, newWorker, o, o.warmup)
	}
	var before procStats
	if srv != nil {
		before = srv.stats()
		if o.profile != "" {
			if err := srv.startProfile(ctx, o.duration); err != nil {
				return err
			}
		}
	}
	selfBefore := selfCPU()
	res := runLoad(ctx, newWorker, o, o.duration)
	selfUsed := selfCPU() - selfBefore
	if res.ok == 0 {
		return fmt.Errorf("no token was issued (%d errors; first: %v)", res.failed, res.firstErr)
	}
	rate := float64(res.ok) / res.elapsed.Seconds()
	fmt.Fprintf(out, "client_credentials, %d concurrent, %s: %d tokens, %.0f tokens/s, %d errors\n",
		o.concurrency, o.duration, res.ok, rate, res.failed)
	fmt.Fprintf(out, "latency p50 %s  p90 %s  p99 %s  max %s\n",
		res.pct(50), res.pct(90), res.pct(99), res.pct(100))
	fmt.Fprintf(out, "load generator CPU %.1f s over the window\n", selfUsed.Seconds())
	if srv != nil {
		after := srv.stats()
		cpu := after.cpu - before.cpu
		fmt.Fprintf(out, "server RSS %.1f MiB, CPU %.1f s over the window (%.0f tokens per CPU-second)\n",
			float64(after.rss)/(1<<20), cpu, float64(res.ok)/max(cpu, 0.001))
		if o.profile != "" {
			if err := srv.waitProfile(o.profile); err != nil {
				return err
			}
			fmt.Fprintf(out, "CPU profile written to %s (go tool pprof -top %s)\n", o.profile, o.profile)
		}
	}
	return nil
}

func loopbackOnly(server string) error {
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("--server: %w", err)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--server: %q is not a loopback address; the load generator only targets this machine", h)
}

type loadResult struct {
	ok, failed int64
	firstErr   error
	lat        []time.Duration
	elapsed    time.Duration
}

func (r loadResult) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat) - 1) * p / 100
	return r.lat[i].Round(10 * time.Microsecond)
}

// worker sends one token request and checks the answer.
type worker func(ctx context.Context) error

func runLoad(ctx context.Context, newWorker func() (worker, func(), error), o benchOpts, d time.Duration) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		ok, failed atomic.Int64
		mu         sync.Mutex
		first      error
		all        []time.Duration
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	start := time.Now()
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do, closeFn, err := newWorker()
			if err != nil {
				fail(err)
				return
			}
			defer closeFn()
			lat := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := do(ctx)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					fail(err)
					continue
				}
				ok.Add(1)
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return loadResult{ok: ok.Load(), failed: failed.Load(), firstErr: first, lat: all, elapsed: time.Since(start)}
}

// netHTTPWorkers share one net/http client (its connection pool).
func netHTTPWorkers(tokenURL string, body []byte, id, secret string, concurrency int) func() (worker, func(), error) {
	c := &http.Client{Transport: &http.Transport{
		MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, IdleConnTimeout: time.Minute,
	}, Timeout: 10 * time.Second}
	return func() (worker, func(), error) {
		return func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			return checkTokenResponse(resp)
		}, func() {}, nil
	}
}

// rawWorkers each keep one HTTP/1.1 keep-alive connection and write a pre-built request,
// reading the answer with net/http's response parser. Like wrk, this spends as little
// CPU as possible on the generating side, which shares the machine with the server.
func rawWorkers(tokenURL string, body []byte, id, secret string) (func() (worker, func(), error), error) {
	auth := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	return rawPostWorkers(tokenURL, body, "Authorization: Basic "+auth+"\r\n", checkTokenResponse)
}

// rawPostWorkers posts body to target on one keep-alive connection per worker, with
// extra pre-formatted header lines, and checks each answer with check.
func rawPostWorkers(target string, body []byte, headers string, check func(*http.Response) error) (func() (worker, func(), error), error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	req := []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
		u.RequestURI(), u.Host, headers, len(body), body))
	return func() (worker, func(), error) {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			return nil, nil, err
		}
		br := bufio.NewReaderSize(conn, 8<<10)
		return func(ctx context.Context) error {
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(req); err != nil {
				return err
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			return check(resp)
		}, func() { conn.Close() }, nil
	}, nil
}

func checkTokenResponse(resp *http.Response) error {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"access_token"`)) {
		return fmt.Errorf("token endpoint: %s: %.200s", resp.Status, b)
	}
	return nil
}

// rawSignRate signs an access-token-sized claim set on every core for d and returns
// signatures per second: the ceiling the token endpoint is compared with.
func rawSignRate(alg string, d time.Duration) (float64, error) {
	signer, err := benchSigner(alg)
	if err != nil {
		return 0, err
	}
	claims := []byte(`{"iss":"http://127.0.0.1:8080","sub":"bench-client","aud":["bench-client"],"client_id":"bench-client","exp":1900000000,"iat":1800000000,"jti":"0123456789abcdef0123456789abcdef","scope":"read write"}`)
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				jws, err := signer.Sign(claims)
				if err != nil {
					return
				}
				if _, err := jws.CompactSerialize(); err != nil {
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds(), nil
}

// benchSigner is a go-jose at+jwt signer with a fresh key of alg.
func benchSigner(alg string) (jose.Signer, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("--alg: must be RS256, ES256 or EdDSA")
	}
	if err != nil {
		return nil, err
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "bench"))
}

// benchServer is a server process started for one load run.
type benchServer struct {
	cmd     *exec.Cmd
	dir     string
	issuer  string
	token   string
	profile chan error
	profBuf *bytes.Buffer
}

func startBenchServer(ctx context.Context, alg, extraYAML string) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "portcullis-bench-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr
	cfg := fmt.Sprintf("listen: %q\nissuer: %q\ndata_dir: %q\nsigning:\n  algorithm: %s\nlogging:\n  level: warn\n%s", addr, issuer, filepath.Join(dir, "data"), alg, extraYAML)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--config", cfgPath, "--pprof")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, dir: dir, issuer: issuer}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(issuer + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, errors.New("benchmark server did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data", "bootstrap-admin.token"))
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("read bootstrap token: %w", err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s, nil
}

func (s *benchServer) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	_ = os.RemoveAll(s.dir)
}

func (s *benchServer) createClient(ctx context.Context) (string, string, error) {
	body := `{"id":"bench","name":"load generator","grant_types":["client_credentials"]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.issuer+"/admin/v1/clients", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID           string `json:"id"`
		ClientSecret string `json:"client_secret"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("create bench client: %s: %s", resp.Status, b)
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ClientSecret == "" {
		return "", "", fmt.Errorf("create bench client: unexpected answer %s", b)
	}
	return out.ID, out.ClientSecret, nil
}

type procStats struct {
	rss int64
	cpu float64
}

// stats reads the server's RSS and CPU time from /proc (Linux).
func (s *benchServer) stats() procStats {
	var st procStats
	pid := s.cmd.Process.Pid
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				st.rss = kb << 10
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the parenthesised command name; utime and stime are 14th and 15th.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			fields := strings.Fields(string(b[i+1:]))
			if len(fields) > 13 {
				ut, _ := strconv.ParseFloat(fields[11], 64)
				stt, _ := strconv.ParseFloat(fields[12], 64)
				st.cpu = (ut + stt) / 100 // USER_HZ is 100 on Linux
			}
		}
	}
	return st
}

// startProfile asks the server's pprof endpoint (enabled by --pprof, loopback only) for a
// CPU profile covering the measured window.
func (s *benchServer) startProfile(ctx context.Context, d time.Duration) error {
	s.profile = make(chan error, 1)
	s.profBuf = new(bytes.Buffer)
	secs := int(d.Seconds())
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.issuer, secs), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			s.profile <- err
			return
		}
		defer resp.Body.Close()
		_, err = io.Copy(s.profBuf, resp.Body)
		s.profile <- err
	}()
	return nil
}

func (s *benchServer) waitProfile(path string) error {
	if err := <-s.profile; err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	return os.WriteFile(path, s.profBuf.Bytes(), 0o644)
}

// selfCPU is this process's user+system CPU time, to show what the load generator
// itself took from the shared cores.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
