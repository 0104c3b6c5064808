package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

const chromiumPath = "/usr/bin/chromium"

// needBrowser skips without Chromium, loudly, unless CI demands the browser tests.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("PORTCULLIS_REQUIRE_BROWSER") != "" {
			t.Fatalf("%s is missing and PORTCULLIS_REQUIRE_BROWSER is set", chromiumPath)
		}
		t.Skip("SKIPPING BROWSER TEST: " + chromiumPath + " not found (apt-get install chromium); CI runs it")
	}
}

// browserTab starts headless Chromium with a CDP virtual authenticator (CTAP2, internal,
// resident keys, user verification) in one tab.
func browserTab(t *testing.T) (context.Context, cdpwebauthn.AuthenticatorID) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("host-resolver-rules", "MAP localhost 127.0.0.1"),
		chromedp.WindowSize(900, 1100),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	opts := cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
		Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true,
		HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}
	res, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &opts})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return ctx, res.AuthenticatorID
}

// presence turns the virtual authenticator's simulated touch on or off. With it on, the
// login page's passkey autofill (conditional mediation) would sign in at once; the
// password flows turn it off until the key is meant to be used.
func presence(t *testing.T, tab context.Context, id cdpwebauthn.AuthenticatorID, on bool) {
	t.Helper()
	if _, err := chromedp.Call(tab, cdpwebauthn.SetAutomaticPresenceSimulation, cdpwebauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on}); err != nil {
		t.Fatalf("set presence simulation: %v", err)
	}
}

// page helpers: everything is read and written through the DOM, as a person would.

func js(t *testing.T, tab context.Context, expr string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && s != "" {
			return s
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	loc, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	t.Fatalf("timed out waiting for %s (%v)\npage: %s", expr, last, loc)
	return ""
}

func waitFor(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	js(t, tab, fmt.Sprintf(`(function(){var e=document.querySelector(%q); return e && !e.closest("[hidden]") ? "yes" : ""})()`, selector))
}

func navigate(t *testing.T, tab context.Context, u string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil && !strings.Contains(err.Error(), "net::ERR_ABORTED") {
		t.Fatalf("navigate %s: %v", u, err)
	}
}

func fill(t *testing.T, tab context.Context, id, value string) {
	t.Helper()
	waitFor(t, tab, "#"+id)
	js(t, tab, fmt.Sprintf(`(function(){document.getElementById(%q).value=%q; return "ok"})()`, id, value))
}

func clickOn(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	waitFor(t, tab, selector)
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		t.Fatalf("click %s: %v", selector, err)
	}
}

// submit clicks a button that posts a form and waits until the next page has loaded
// (a marker set on the current document is gone).
func submit(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	js(t, tab, `(function(){window.__before = true; return "ok"})()`)
	clickOn(t, tab, selector)
	js(t, tab, `(!window.__before && document.readyState === "complete") ? "loaded" : ""`)
}

func shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PORTCULLIS_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "portcullis-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Right after a navigation the layout can still be empty ("0 width"): retry briefly.
	var png []byte
	var err error
	for range 20 {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// totpCode computes the current code with an independent generator: Debian's oathtool
// when present, else the pquerna/otp library.
func totpCode(t *testing.T, secret string) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err == nil {
		out, err := exec.Command("oathtool", "--totp", "-b", secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// rpCallback is the relying party's redirect endpoint: it hands each code to the test.
type rpCallback struct {
	url   string
	codes chan url.Values
}

func newRPCallback(t *testing.T) *rpCallback {
	t.Helper()
	cb := &rpCallback{codes: make(chan url.Values, 4)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" { // the browser also asks for /favicon.ico
			http.NotFound(w, r)
			return
		}
		cb.codes <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>RP</title><p id="rp-done">signed in</p>`)
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	cb.url = "http://" + ln.Addr().String() + "/cb"
	return cb
}

type claimsAMR struct {
	AMR   []string `json:"amr"`
	ACR   string   `json:"acr"`
	Roles []string `json:"roles"`
}

// signIn starts an authorization at the RP, lets do drive the pages, and returns the
// verified id_token's amr and acr.
func signIn(t *testing.T, tab context.Context, r *rp, cb *rpCallback, do func()) claimsAMR {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	state := randState()
	navigate(t, tab, r.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	do()
	var q url.Values
	select {
	case q = <-cb.codes:
	case <-time.After(30 * time.Second):
		loc, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("the RP got no code; browser at %s", loc)
	}
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback: %v", q)
	}
	ctx := context.Background()
	tok, err := r.cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	var c claimsAMR
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantAMR(t *testing.T, c claimsAMR, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(c.AMR, w) {
			t.Fatalf("amr %v lacks %q (acr %s)", c.AMR, w, c.ACR)
		}
	}
	if slices.Contains(want, "mfa") && c.ACR != "urn:portcullis:acr:mfa" {
		t.Fatalf("acr %q for amr %v", c.ACR, c.AMR)
	}
}

func signOut(t *testing.T, tab context.Context, issuer string) {
	t.Helper()
	navigate(t, tab, issuer+"/account")
	clickOn(t, tab, `form[action="/account/signout"] button`)
	js(t, tab, `location.pathname === "/logged-out" ? "yes" : ""`)
}

func passwordStep(t *testing.T, tab context.Context, shotName string) {
	t.Helper()
	waitFor(t, tab, "#password")
	if shotName != "" {
		shot(t, tab, shotName)
	}
	fill(t, tab, "username", "alice")
	fill(t, tab, "password", alicePassword)
	clickOn(t, tab, `form[action="/login"] button[type=submit]`)
}

// TestBrowserSecondFactors drives the real pages in headless Chromium: a user who must
// have MFA enrolls TOTP while signing in, adds a passkey on the account page, then signs
// in user-name-less with the passkey, with password + security key, with password +
// TOTP, and with a recovery code; a reused TOTP code is refused. The relying party
// (go-oidc) checks amr and acr each time.
func TestBrowserSecondFactors(t *testing.T) {
	needBrowser(t)
	s := startServerAt(t, "localhost", "mfa:\n  required: true\n")
	cb := newRPCallback(t)
	id, secret := s.fixture(t, cb.url)
	s.mfaOnlyRole(t)
	r := newRP(t, context.Background(), s.issuer, id, secret, cb.url)
	r.cfg.Scopes = []string{gooidc.ScopeOpenID, "profile", "roles"}
	tab, authID := browserTab(t)

	// 1. Password, then TOTP enrollment (required by policy), then recovery codes.
	var totpSecret string
	var recoveryCodes []string
	c := signIn(t, tab, r, cb, func() {
		passwordStep(t, tab, "01-login.png")
		waitFor(t, tab, `a[href^="/login/enroll/totp"]`)
		shot(t, tab, "02-enroll-choice.png")
		clickOn(t, tab, `a[href^="/login/enroll/totp"]`)
		waitFor(t, tab, "code.secret")
		shot(t, tab, "03-enroll-totp.png")
		totpSecret = js(t, tab, `document.querySelector("code.secret").textContent`)
		fill(t, tab, "code", totpCode(t, totpSecret))
		clickOn(t, tab, `form button[type=submit]`)
		waitFor(t, tab, "ul.codes")
		shot(t, tab, "04-recovery-codes.png")
		recoveryCodes = strings.Fields(js(t, tab, `Array.from(document.querySelectorAll("ul.codes code")).map(e => e.textContent).join(" ")`))
		clickOn(t, tab, "#continue")
	})
	wantAMR(t, c, "pwd", "otp", "mfa")
	if !slices.Equal(c.Roles, []string{"operator"}) {
		t.Fatalf("a sign-in with MFA lacks the MFA-only role: %v", c.Roles)
	}
	if len(recoveryCodes) != 10 {
		t.Fatalf("recovery codes shown: %v", recoveryCodes)
	}
	enrolledAt := time.Now()

	// 2. Add a passkey from the account page (the session's second factor is fresh).
	navigate(t, tab, s.issuer+"/account")
	clickOn(t, tab, "#add-key")
	js(t, tab, `location.search.includes("done=webauthn") ? "yes" : ""`)
	if page := js(t, tab, `document.body.innerText`); !strings.Contains(page, "Passkey") {
		t.Fatalf("account page after adding a passkey:\n%s", page)
	}
	shot(t, tab, "05-account.png")

	// 3. User-name-less sign-in with the passkey.
	signOut(t, tab, s.issuer)
	presence(t, tab, authID, false)
	c = signIn(t, tab, r, cb, func() {
		// Click first, then let the authenticator answer: turning presence on while the
		// page's autofill request is pending would sign in before the click lands.
		clickOn(t, tab, "#passkey")
		presence(t, tab, authID, true)
	})
	wantAMR(t, c, "hwk", "user", "mfa")

	// 4. Password + the same key as a second factor.
	signOut(t, tab, s.issuer)
	presence(t, tab, authID, false)
	c = signIn(t, tab, r, cb, func() {
		passwordStep(t, tab, "")
		waitFor(t, tab, "#use-key")
		shot(t, tab, "06-second-factor.png")
		clickOn(t, tab, "#use-key")
		presence(t, tab, authID, true)
	})
	wantAMR(t, c, "pwd", "hwk", "mfa")

	// 5. Password + TOTP. The enrollment burned its step, so wait for the next one.
	signOut(t, tab, s.issuer)
	presence(t, tab, authID, false)
	if wait := time.Until(enrolledAt.Truncate(30 * time.Second).Add(30 * time.Second)); wait > 0 {
		time.Sleep(wait + 500*time.Millisecond)
	}
	code := totpCode(t, totpSecret)
	c = signIn(t, tab, r, cb, func() {
		passwordStep(t, tab, "")
		fill(t, tab, "code", code)
		clickOn(t, tab, `form[action="/login/mfa"] button[type=submit]`)
	})
	wantAMR(t, c, "pwd", "otp", "mfa")

	// 6. The same code again is refused; a wrong one too; a recovery code works once.
	signOut(t, tab, s.issuer)
	c = signIn(t, tab, r, cb, func() {
		passwordStep(t, tab, "")
		for _, bad := range []string{code, wrongCode(code)} {
			fill(t, tab, "code", bad)
			submit(t, tab, `form[action="/login/mfa"] button[type=submit]`)
			msg := js(t, tab, `(function(){var e=document.querySelector(".error"); return e ? e.textContent : ""})()`)
			if !strings.Contains(msg, "did not verify") {
				t.Fatalf("code %s: message %q", bad, msg)
			}
		}
		shot(t, tab, "07-second-factor-error.png")
		js(t, tab, `(function(){document.querySelector("details").open = true; return "ok"})()`)
		fill(t, tab, "recovery", recoveryCodes[0])
		submit(t, tab, `#recovery ~ button[type=submit]`)
		if msg := js(t, tab, `document.body.innerText`); !strings.Contains(msg, "9 codes are left") {
			t.Fatalf("recovery notice: %s", msg)
		}
		clickOn(t, tab, "#continue")
	})
	wantAMR(t, c, "pwd", "otp", "mfa")
}

// wrongCode returns a 6-digit code different from code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+5)%10
	return string(b)
}
