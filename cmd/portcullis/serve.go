package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/configs"
	"github.com/portcullis-id/portcullis/federation/webidentity"
	"github.com/portcullis-id/portcullis/idp/apitoken"
	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/idp/directory"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/idp/login"
	"github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/mfa/recovery"
	"github.com/portcullis-id/portcullis/mfa/totp"
	"github.com/portcullis-id/portcullis/mfa/webauthn"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
	"github.com/portcullis-id/portcullis/web"
	"github.com/portcullis-id/portcullis/web/api"
	webauthz "github.com/portcullis-id/portcullis/web/authz"
	"github.com/portcullis-id/portcullis/web/clientip"
	"github.com/portcullis-id/portcullis/web/ui"
)

func newServeCmd() *cobra.Command {
	var cfgPath string
	var withPprof bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: `Runs the identity provider. Without --config it uses the embedded development
configuration (http://127.0.0.1:8080, data in ./data).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := configs.Load(cfgPath)
			if err != nil {
				return err
			}
			log := newLogger(cfg, os.Stderr)
			// The live heap is small (tens of MiB) and most allocations die with their
			// request; the default GOGC=100 spends ~10% of token-endpoint CPU marking.
			// GOGC in the environment still wins.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(400)
			}
			// The OpenID library logs through slog's default logger.
			slog.SetDefault(log)
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
			}
			return run(cmd.Context(), cfg, ln, runOptions{Log: log, Out: cmd.OutOrStdout(), Pprof: withPprof})
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (default: the embedded dev configuration)")
	cmd.Flags().BoolVar(&withPprof, "pprof", false, "serve /debug/pprof (loopback listen addresses only; for profiling load runs)")
	return cmd
}

func newLogger(cfg configs.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Logging.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

type runOptions struct {
	Log   *slog.Logger
	Out   io.Writer // where the start-up banner goes
	Now   func() time.Time
	Pprof bool
	// Ready, when set, is called once the server accepts requests.
	Ready func()
}

// run builds the object graph explicitly and serves until ctx ends.
func run(ctx context.Context, cfg configs.Config, ln net.Listener, o runOptions) error {
	log := o.Log
	now := o.Now
	if now == nil {
		now = time.Now
	}
	st, err := bolt.Open(ctx, cfg.Storage.Bolt.Path, bolt.Options{Now: now, MaxBatchDelay: 500 * time.Microsecond})
	if err != nil {
		return fmt.Errorf("open store %s: %w", cfg.Storage.Bolt.Path, err)
	}
	defer st.Close()

	key, created, err := seal.LoadKey(cfg.Sealing.KeyFile, cfg.Sealing.KeyEnv)
	if err != nil {
		return fmt.Errorf("load sealing key: %w", err)
	}
	if created {
		log.Info("created sealing key; back it up: without it signing keys and secrets cannot be opened", "file", cfg.Sealing.KeyFile)
	}
	sealer, err := seal.New(key)
	if err != nil {
		return fmt.Errorf("sealing key: %w", err)
	}

	tk := cfg.Tokens
	km, err := keys.New(ctx, st, sealer, keys.Options{
		Algorithm:      cfg.Signing.Algorithm,
		RotationPeriod: cfg.Signing.RotationPeriod.Duration(),
		PublishAhead:   cfg.Signing.PublishAhead.Duration(),
		// Anything signed (access and ID tokens, role-session tokens of up to 12 h) must
		// stay verifiable for its lifetime.
		MaxTokenLifetime: max(tk.AccessTokenLifetime.Duration(), tk.IDTokenLifetime.Duration(), store.MaxRoleSessionDuration) + time.Minute,
		Now:              now,
		Log:              log,
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}

	sec := cfg.Security
	reg := regulate.New(now)
	rec := &audit.StoreRecorder{Sink: st, Now: now, Log: log}
	ips, err := clientip.Parse(sec.TrustedProxies)
	if err != nil {
		return fmt.Errorf("security.trusted_proxies: %w", err)
	}
	window := sec.FailureWindow.Duration()
	dir := directory.New(st, reg, rec, directory.Options{
		Params:      directory.DefaultParams(),
		Policy:      directory.Policy{MinLength: sec.PasswordMinLength, MaxLength: sec.PasswordMaxLength, Common: directory.LoadCommon()},
		UserLimits:  regulate.Limits{MaxFailures: sec.UserMaxFailures, Window: window, Lockout: sec.UserLockout.Duration()},
		IPLimits:    regulate.Limits{MaxFailures: sec.IPMaxFailures, Window: window, Lockout: sec.UserLockout.Duration()},
		MinDuration: sec.LoginMinDuration.Duration(),
		Now:         now,
		Rand:        rand.Reader,
	})

	metrics := web.NewMetrics()
	sessions := &ui.Sessions{Store: st, Users: st, Secure: cfg.IsHTTPS(), Lifetime: tk.SessionLifetime.Duration(), Now: now}
	op, err := oidc.New(ctx, oidc.Config{
		Issuer:                  cfg.Issuer,
		ACRValues:               []string{login.ACRPassword, login.ACRMFA},
		ExtraGrantTypes:         []string{sts.GrantTypeTokenExchange},
		CryptoKey:               sealer.Derive("oidc/code-and-opaque-token"),
		AccessTokenLifetime:     tk.AccessTokenLifetime.Duration(),
		IDTokenLifetime:         tk.IDTokenLifetime.Duration(),
		RefreshTokenLifetime:    tk.RefreshTokenLifetime.Duration(),
		RefreshAbsoluteLifetime: tk.RefreshTokenAbsoluteLifetime.Duration(),
		AuthCodeLifetime:        tk.AuthCodeLifetime.Duration(),
		AuthRequestLifetime:     tk.AuthRequestLifetime.Duration(),
		RefreshReuseGrace:       tk.RefreshReuseGrace.Duration(),
		LoginPath:               "/login",
		LoggedOutPath:           "/logged-out",
		ClientLimits:            regulate.Limits{MaxFailures: sec.UserMaxFailures * 4, Window: window, Lockout: sec.UserLockout.Duration()},
	}, oidc.Deps{
		Store: st, Keys: km, Users: dirUsers{st: st, dir: dir}, Regulator: reg, Audit: rec,
		Now: now, Log: log, OnToken: metrics.Token, SessionFromRequest: sessions.FromRequest,
	})
	if err != nil {
		return fmt.Errorf("openid provider: %w", err)
	}

	passwords := passwordAdapter{dir: dir}
	clients := clientService{}
	trust, err := newFederationTrust(cfg, st, now, log)
	if err != nil {
		return err
	}
	reconciler := declare.New(st, passwords, clients, rec, now, rand.Reader).WithPolicies(policyValidator{}, "").WithProviders(trust)
	if err := applyAtStart(ctx, reconciler, cfg.Apply, log); err != nil {
		return err
	}

	bootstrapped, err := apitoken.Bootstrap(ctx, st, cfg.Admin.BootstrapTokenFile, now(), rand.Reader)
	if err != nil {
		return fmt.Errorf("bootstrap admin credential: %w", err)
	}

	mfaSvc, recoveryCodes, err := newMFA(cfg, st, sealer, reg, rec, now, log)
	if err != nil {
		return err
	}
	mfaPolicy := login.Policy{
		Required: cfg.MFA.Required, Groups: cfg.MFA.RequiredGroups, Roles: cfg.MFA.RequiredRoles,
		StepUpMaxAge: cfg.MFA.StepUpMaxAge.Duration(),
	}

	admin := api.New(api.Deps{
		Store: st, Keys: keyService{km: km, st: st}, Passwords: apiPasswords{dir: dir}, Clients: clients, Declare: reconciler,
		Audit: rec, Now: now, Rand: rand.Reader, Log: log, MFA: mfaSvc, Regulator: reg, ClientIP: ips.From,
		Policies: policyValidator{}, Providers: trust,
	})
	uiKey := sealer.Derive("web/csrf-and-tickets")
	pages, err := ui.New(ui.Deps{
		Provider: op, Auth: dir, MFA: mfaSvc, Recovery: recoveryCodes, Policy: mfaPolicy, Groups: dir.GroupNames, Users: st,
		Sessions: sessions, ClientIP: ips.From, Key: uiKey[:],
		Secure: cfg.IsHTTPS(), Now: now, Log: log, Audit: rec, OnLogin: metrics.Login,
	})
	if err != nil {
		return fmt.Errorf("login pages: %w", err)
	}
	evaluator := policy.NewEvaluator(policy.Options{Now: now})
	pdp := authz.NewWithSessions(st, evaluator, authz.SessionOptions{Keys: km, Issuer: cfg.Issuer, Sessions: st, Now: now})
	tokenService, err := newSTS(cfg, st, trust, sealer, km, evaluator, reg, rec, now, log)
	if err != nil {
		return err
	}
	if err := trust.Reload(ctx); err != nil {
		return err
	}
	users := dirUsers{st: st, dir: dir}
	decisions := webauthz.New(webauthz.Deps{PDP: pdp, Authenticate: admin.Authenticate, Audit: rec, Log: log, Now: now,
		UserRoles: users.Roles, AllowSampleRate: &cfg.STS.AuditAllowSampleRate, ClientIP: ips.From,
		VerifySigned: func(r *http.Request, body []byte) (webauthz.SignedSession, error) {
			s, err := tokenService.VerifySignedRequest(r.Context(), r, body)
			return webauthz.SignedSession{AccessKeyID: s.AccessKeyID, SessionToken: s.SessionToken}, err
		}})
	opHandler := op.Handler()
	groups := []web.Mounter{pages, admin, decisions, tokenService, tokenExchangeRoute{sts: tokenService, op: opHandler}}
	if o.Pprof {
		if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
			return errors.New("--pprof: only allowed when listening on a loopback address")
		}
		log.Warn("profiling endpoints enabled under /debug/pprof/")
		groups = append(groups, pprofRoutes{})
	}
	h := web.Handler(web.Deps{
		Provider: opHandler, Groups: groups,
		Ready: st, Metrics: metrics, HTTPS: cfg.IsHTTPS(), Log: log,
	})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go store.RunSweeper(ctx, st, time.Minute, now, log)
	go km.Run(ctx, time.Minute)
	go trust.Run(ctx, 30*time.Second)

	out := o.Out
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "Portcullis is serving %s on %s\n", cfg.Issuer, ln.Addr())
	fmt.Fprintf(out, "  discovery: %s/.well-known/openid-configuration\n", cfg.Issuer)
	if bootstrapped {
		fmt.Fprintf(out, "  first admin credential (one-time, expires in 24h): %s\n", cfg.Admin.BootstrapTokenFile)
		fmt.Fprintf(out, "  use it:    export PORTCULLIS_TOKEN=$(cat %s)\n", cfg.Admin.BootstrapTokenFile)
	} else if _, err := os.Stat(cfg.Admin.BootstrapTokenFile); err == nil {
		fmt.Fprintf(out, "  bootstrap admin credential file still present: %s (revoke it once you have your own)\n", cfg.Admin.BootstrapTokenFile)
	}
	log.Info("serving", "issuer", cfg.Issuer, "addr", ln.Addr().String(), "signing_alg", km.Current().Algorithm)
	if o.Ready != nil {
		o.Ready()
	}
	return web.Serve(ctx, ln, h, 10*time.Second, log)
}

// newMFA builds the second-factor methods and the service that regulates them.
func newMFA(cfg configs.Config, st *bolt.Store, sealer *seal.Sealer, reg *regulate.Regulator, rec audit.Recorder, now func() time.Time, log *slog.Logger) (*mfa.Service, *recovery.Codes, error) {
	methods := []mfa.Method{totp.New(st, sealer, totp.Options{Issuer: cfg.MFA.TOTP.Issuer, Now: now})}
	iss := cfg.IssuerURL()
	if net.ParseIP(iss.Hostname()) != nil {
		// WebAuthn relying party ids are domain names; browsers refuse IP addresses.
		log.Warn("security keys and passkeys are off: the issuer's host is an IP address; use a name (e.g. http://localhost:8080) to enable them", "issuer", cfg.Issuer)
	} else {
		wa, err := webauthn.New(st, webauthn.Options{
			RPID: iss.Hostname(), RPOrigins: []string{iss.Scheme + "://" + iss.Host},
			RPDisplayName: cfg.MFA.WebAuthn.RPDisplayName, UserVerification: cfg.MFA.WebAuthn.UserVerification,
			AllowedAAGUIDs: cfg.MFA.WebAuthn.AllowedAAGUIDs, Now: now,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("webauthn: %w", err)
		}
		methods = append(methods, wa)
	}
	codes := recovery.New(st, recovery.Options{Now: now})
	limits := regulate.Limits{MaxFailures: cfg.MFA.MaxFailures, Window: cfg.Security.FailureWindow.Duration(), Lockout: cfg.MFA.Lockout.Duration()}
	svc := mfa.NewService(mfa.ServiceOptions{
		Methods: methods, Recovery: codes, Regulator: reg, Audit: rec, Now: now,
		MinDuration: cfg.Security.LoginMinDuration.Duration(),
		UserLimits:  limits,
		IPLimits:    regulate.Limits{MaxFailures: cfg.Security.IPMaxFailures, Window: cfg.Security.FailureWindow.Duration(), Lockout: cfg.Security.UserLockout.Duration()},
	})
	return svc, codes, nil
}

// newSTS builds the security-token service with the trusted issuers and SAML
// providers of trust.
func newSTS(cfg configs.Config, st *bolt.Store, trust *federationTrust, sealer *seal.Sealer, km *keys.Manager, ev *policy.Evaluator, reg *regulate.Regulator, rec audit.Recorder, now func() time.Time, log *slog.Logger) (*sts.Service, error) {
	providers, err := trust.samlProviders(nil)
	if err != nil {
		return nil, err
	}
	svc, err := sts.New(sts.Deps{
		SAMLProviders: providers, Regulator: reg,
		Store: st, Verifier: webIdentity{v: trust.verifier, tags: trust.tags}, Evaluator: ev, Sealer: sealer, Keys: km,
		Issuer: cfg.Issuer, Account: cfg.STS.Account, Now: now, Rand: rand.Reader, Audit: rec, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("sts: %w", err)
	}
	trust.sts = svc
	return svc, nil
}

// trustedIssuer turns a configured issuer into the verifier's form.
func trustedIssuer(c configs.TrustedIssuerConfig) (webidentity.Issuer, error) {
	var is webidentity.Issuer
	if c.Preset == configs.PresetGitHubActions {
		is = webidentity.GitHubActions(c.Audiences[0])
	}
	is.Name, is.Audiences, is.JTIReplay = c.Name, c.Audiences, c.ReplayProtection
	if c.URL != "" {
		is.URL = c.URL
	}
	if len(c.Algorithms) > 0 {
		is.Algorithms = c.Algorithms
	}
	is.JWKSURL = c.JWKSURL
	if c.JWKS != "" {
		is.InlineJWKS = []byte(c.JWKS)
	}
	if c.JWKSFile != "" {
		b, err := os.ReadFile(c.JWKSFile)
		if err != nil {
			return is, fmt.Errorf("jwks_file: %w", err)
		}
		is.InlineJWKS = b
	}
	return is, is.Validate()
}

// pprofRoutes mounts the profiler. Only for load benchmarks on loopback: it is refused
// on any other listen address.
type pprofRoutes struct{}

func (pprofRoutes) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
}

func applyAtStart(ctx context.Context, r *declare.Reconciler, files []string, log *slog.Logger) error {
	if len(files) == 0 {
		return nil
	}
	var docs []declare.Document
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("apply %s: %w", f, err)
		}
		d, err := declare.Parse(b, f)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		docs = append(docs, d...)
	}
	res, err := r.Apply(ctx, docs, declare.Options{Actor: "config"})
	if err != nil {
		return fmt.Errorf("apply %v: %w", files, err)
	}
	log.Info("applied declarative files", "files", files, "plan", res.Table())
	for id := range res.ClientSecrets {
		log.Warn("declarative client created without a pinned secret_sha256; its generated secret is not shown at start-up — add a secret with `portcullis admin clients add-secret`", "client", id)
	}
	return nil
}
