package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

// newLoginCmd is a minimal native relying party (RFC 8252): it listens on a loopback
// port, sends the browser to the issuer with PKCE S256, receives the code, verifies the
// id_token and calls userinfo. It is how the README walkthrough signs in, and a working
// example of a public client.
func newLoginCmd() *cobra.Command {
	var issuer, clientID string
	var scopes []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in through the browser as a native OIDC client and print the tokens' claims and userinfo",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return runLogin(ctx, cmd.OutOrStdout(), issuer, clientID, scopes, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&issuer, "issuer", "http://127.0.0.1:8080", "issuer URL")
	f.StringVar(&clientID, "client-id", "", "a public native client registered with redirect URI http://127.0.0.1/callback")
	f.StringSliceVar(&scopes, "scope", []string{"openid", "profile", "email", "groups"}, "scopes to request")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

// runLogin performs the flow. open, when set, is handed the authorization URL instead of
// printing it (tests drive the browser side themselves).
func runLogin(ctx context.Context, out io.Writer, issuer, clientID string, scopes []string, open func(string)) error {
	provider, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		return fmt.Errorf("discover %s: %w", issuer, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://%s/callback", ln.Addr())
	cfg := oauth2.Config{ClientID: clientID, Endpoint: provider.Endpoint(), RedirectURL: redirect, Scopes: scopes}
	verifier := oauth2.GenerateVerifier()
	state, nonce := randomString(), randomString()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))

	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		res := result{code: q.Get("code")}
		switch {
		case q.Get("error") != "":
			res.err = fmt.Errorf("authorization failed: %s: %s", q.Get("error"), q.Get("error_description"))
		case q.Get("state") != state:
			res.err = errors.New("state mismatch: the response was not for this sign-in")
		case q.Get("iss") != "" && q.Get("iss") != issuer:
			res.err = fmt.Errorf("response from issuer %q, expected %q (RFC 9207)", q.Get("iss"), issuer)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			fmt.Fprintf(w, "<p>Sign-in failed: %s</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<p>Signed in. You can close this window and return to the terminal.</p>")
		}
		select {
		case got <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	if open != nil {
		open(authURL)
	} else {
		fmt.Fprintf(out, "Open this URL in your browser to sign in:\n\n  %s\n\nWaiting for the browser...\n", authURL)
	}
	var res result
	select {
	case res = <-got:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the browser: %w", ctx.Err())
	}
	if res.err != nil {
		return res.err
	}
	tok, err := cfg.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("exchange code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return errors.New("token response has no id_token")
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		return fmt.Errorf("verify id_token: %w", err)
	}
	if idt.Nonce != nonce {
		return errors.New("id_token nonce does not match")
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return fmt.Errorf("id_token at_hash: %w", err)
	}
	var claims map[string]any
	_ = idt.Claims(&claims)
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	var infoClaims map[string]any
	_ = info.Claims(&infoClaims)
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	fmt.Fprintln(out, "id_token claims (signature verified):")
	_ = enc.Encode(claims)
	fmt.Fprintln(out, "userinfo:")
	_ = enc.Encode(infoClaims)
	fmt.Fprintf(out, "access token expires %s\n", tok.Expiry.Format(time.RFC3339))
	return nil
}

func randomString() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
