package webauthn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

const (
	chromiumPath = "/usr/bin/chromium"
	testCSRF     = "csrf-token-for-the-test-page"
	// The production policy of the UI: the helper must work without inline script.
	pageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// outcome is what one finish endpoint call did.
type outcome struct {
	kind   string // register | verify | login
	user   store.User
	factor mfa.Factor
	res    mfa.Result
	err    error
}

// browserHarness serves a page that loads webauthn.js, and begin/finish endpoints
// backed by the method, the way the UI will.
type browserHarness struct {
	st      *bolt.Store
	methods map[string]*WebAuthn // by user-verification setting
	js      []byte
	page    *template.Template

	outcomes chan outcome
	mu       sync.Mutex
	finishes map[string][]byte // last finish body per kind
	begins   map[string]int    // begin calls per kind
}

type harnessRequest struct {
	User        string          `json:"user"`
	RP          string          `json:"rp"`
	CSRF        string          `json:"csrf_token"`
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

var harnessPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WebAuthn test page</title>
<script src="/static/webauthn.js" defer></script></head>
<body>
<h1>Portcullis WebAuthn test page</h1>
<p>{{.User}} on {{.RP}} user verification</p>
{{if .Autofill}}<label>User name <input id="username" autocomplete="username webauthn"></label>{{end}}
<div hidden data-webauthn-only id="ui">
{{range .Kinds}}<button type="button" id="{{.}}" data-webauthn="{{.}}" data-begin="/begin/{{.}}" data-finish="/finish/{{.}}"
 data-csrf="{{$.CSRF}}" data-extra='{"user":"{{$.User}}","rp":"{{$.RP}}"}' data-error="err">{{.}}</button>
{{end}}</div>
<p id="err" role="alert" hidden></p>
</body></html>`))

func (h *browserHarness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", pageCSP)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/static/webauthn.js":
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(h.js)
	case r.Method == http.MethodGet && r.URL.Path == "/page":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = harnessPage.Execute(w, map[string]any{
			"User": r.URL.Query().Get("user"), "RP": r.URL.Query().Get("rp"), "CSRF": testCSRF,
			"Kinds": []string{"register", "verify", "login"}, "Autofill": r.URL.Query().Has("autofill"),
		})
	case r.Method == http.MethodGet && r.URL.Path == "/done":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>done</title><h1 id="done">%s</h1>`, template.HTMLEscapeString(r.URL.Query().Get("msg")))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/begin/"):
		h.begin(w, r, strings.TrimPrefix(r.URL.Path, "/begin/"))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/finish/"):
		h.finish(w, r, strings.TrimPrefix(r.URL.Path, "/finish/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *browserHarness) read(w http.ResponseWriter, r *http.Request) (harnessRequest, []byte, bool) {
	var req harnessRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request: " + err.Error()})
		return req, nil, false
	}
	// The helper must send the token both ways.
	if r.Header.Get("X-CSRF-Token") != testCSRF || req.CSRF != testCSRF {
		writeTestJSON(w, http.StatusForbidden, map[string]string{"error": "csrf"})
		return req, nil, false
	}
	return req, body, true
}

func (h *browserHarness) user(ctx context.Context, name string) (store.User, error) {
	if name == "" {
		return store.User{}, nil
	}
	return h.st.GetUserByName(ctx, name)
}

func (h *browserHarness) begin(w http.ResponseWriter, r *http.Request, kind string) {
	req, _, ok := h.read(w, r)
	if !ok {
		return
	}
	h.mu.Lock()
	h.begins[kind]++
	h.mu.Unlock()
	m := h.methods[req.RP]
	u, err := h.user(r.Context(), req.User)
	var id string
	var options []byte
	if err == nil {
		switch kind {
		case "register":
			var en mfa.Enrollment
			en, err = m.BeginEnroll(r.Context(), u, "")
			id, options = en.ID, en.Options
		case "verify":
			var ch mfa.Challenge
			ch, err = m.BeginVerify(r.Context(), u)
			id, options = ch.ID, ch.Options
		case "login":
			var ch mfa.Challenge
			ch, err = m.BeginDiscoverable(r.Context())
			id, options = ch.ID, ch.Options
		default:
			err = errors.New("unknown ceremony")
		}
	}
	if err != nil {
		writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "begin: " + err.Error()})
		return
	}
	writeTestJSON(w, http.StatusOK, map[string]any{"challenge_id": id, "options": json.RawMessage(options)})
}

func (h *browserHarness) finish(w http.ResponseWriter, r *http.Request, kind string) {
	req, body, ok := h.read(w, r)
	if !ok {
		return
	}
	h.mu.Lock()
	h.finishes[kind] = body
	h.mu.Unlock()
	out := h.complete(r.Context(), kind, req)
	h.outcomes <- out
	if out.err != nil {
		writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "refused: " + out.err.Error()})
		return
	}
	msg := kind + " ok"
	if kind == "register" {
		msg = fmt.Sprintf("registered %q for %s (passkey: %v)", out.factor.Name, out.user.UserName, out.factor.Passkey)
	}
	writeTestJSON(w, http.StatusOK, map[string]string{"redirect": "/done?msg=" + url.QueryEscape(msg)})
}

func (h *browserHarness) complete(ctx context.Context, kind string, req harnessRequest) outcome {
	m := h.methods[req.RP]
	out := outcome{kind: kind}
	u, err := h.user(ctx, req.User)
	if err != nil {
		out.err = err
		return out
	}
	switch kind {
	case "register":
		out.user = u
		out.factor, out.err = m.FinishEnroll(ctx, u, req.ChallengeID, req.Credential)
	case "verify":
		out.user = u
		out.res, out.err = m.FinishVerify(ctx, u, req.ChallengeID, req.Credential)
	case "login":
		out.user, out.res, out.err = m.FinishDiscoverable(ctx, req.ChallengeID, req.Credential)
	default:
		out.err = errors.New("unknown ceremony")
	}
	return out
}

func (h *browserHarness) beginCount(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.begins[kind]
}

// lastFinish returns the body the browser last posted to a finish endpoint.
func (h *browserHarness) lastFinish(kind string) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.finishes[kind]
}

// next waits for the next finish outcome.
func (h *browserHarness) next(t *testing.T) outcome {
	t.Helper()
	select {
	case out := <-h.outcomes:
		t.Logf("%s finished: user %q, factor %q, result %+v, err %v", out.kind, out.user.UserName, out.factor.ID, out.res, out.err)
		return out
	case <-time.After(30 * time.Second):
		t.Fatal("no finish request reached the server")
		return outcome{}
	}
}

// noOutcome asserts that no finish request arrived.
func (h *browserHarness) noOutcome(t *testing.T) {
	t.Helper()
	select {
	case out := <-h.outcomes:
		t.Fatalf("unexpected finish request: %+v", out)
	default:
	}
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// localServer serves h on 127.0.0.1, to be reached by the browser as localhost (the
// RP ID must be a domain name).
func localServer(t *testing.T, h http.Handler) (origin string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// newBrowser starts one headless Chromium for the whole test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		// localhost goes to 127.0.0.1 only, never ::1 or a resolver.
		chromedp.Flag("host-resolver-rules", "MAP localhost 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// newTab opens a tab with its own virtual authenticator (WebAuthn.enable must come
// first; presence simulation must be explicit).
func newTab(t *testing.T, browser context.Context, opts cdpwebauthn.VirtualAuthenticatorOptions) (context.Context, cdpwebauthn.AuthenticatorID) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	opts.AutomaticPresenceSimulation = true
	res, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &opts})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return ctx, res.AuthenticatorID
}

func platformAuthenticator() cdpwebauthn.VirtualAuthenticatorOptions {
	return cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol:            cdpwebauthn.AuthenticatorProtocolCtap2,
		Ctap2version:        cdpwebauthn.Ctap2versionCtap21,
		Transport:           cdpwebauthn.AuthenticatorTransportInternal,
		HasResidentKey:      true,
		HasUserVerification: true,
		IsUserVerified:      true,
	}
}

// open loads the test page and waits for the helper to have shown the buttons.
func open(t *testing.T, tab context.Context, page string) {
	t.Helper()
	navigate(t, tab, page)
	if got := waitJS(t, tab, `document.getElementById("ui") && !document.getElementById("ui").hidden ? "shown" : ""`); got != "shown" {
		t.Fatalf("webauthn.js did not show the buttons on %s", page)
	}
}

func navigate(t *testing.T, tab context.Context, page string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
}

// click presses a button of the test page.
func click(t *testing.T, tab context.Context, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#"+id))); err != nil {
		t.Fatalf("click %s: %v", id, err)
	}
}

// waitJS evaluates expr until it yields a non-empty string; evaluation errors while the
// page navigates are retried.
func waitJS(t *testing.T, tab context.Context, expr string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && s != "" {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", expr)
	return ""
}

func waitDone(t *testing.T, tab context.Context) {
	t.Helper()
	waitJS(t, tab, `location.pathname === "/done" && document.getElementById("done") ? "done" : ""`)
}

func waitPageError(t *testing.T, tab context.Context) string {
	t.Helper()
	return waitJS(t, tab, `(function(){ var e = document.getElementById("err"); return e && !e.hidden ? e.textContent : ""; })()`)
}

func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PORTCULLIS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// postFinish replays a finish body from outside the browser.
func postFinish(t *testing.T, origin, kind string, body []byte) int {
	t.Helper()
	// The server listens on 127.0.0.1; the Go client does not resolve localhost itself.
	target := strings.Replace(origin, "localhost", "127.0.0.1", 1) + "/finish/" + kind
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", testCSRF)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestBrowserPasskeyCeremonies drives webauthn.js and the method with a CDP virtual
// authenticator in headless Chromium: registration, second factor, passkey sign-in,
// and the attacks the relying party must refuse.
func TestBrowserPasskeyCeremonies(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("SKIPPING THE REAL-BROWSER WEBAUTHN TEST: " + chromiumPath + " not found. " +
			"Install it (apt-get install chromium); CI does, and this test must run there.")
	}
	js, err := os.ReadFile(filepath.Join("..", "..", "web", "ui", "static", "webauthn.js"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	alice, err := st.CreateUser(t.Context(), store.User{UserName: "alice", DisplayName: "Alice", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(t.Context(), store.User{UserName: "bob", Active: true}); err != nil {
		t.Fatal(err)
	}

	h := &browserHarness{st: st, js: js, outcomes: make(chan outcome, 16), finishes: map[string][]byte{}, begins: map[string]int{}}
	// The real origin, and a look-alike on another port: same RP ID (ports do not
	// count), different origin, as a phishing proxy would be.
	var handler http.Handler = h
	origin := localServer(t, handler)
	phishing := localServer(t, handler)
	h.methods = map[string]*WebAuthn{}
	for _, uv := range []string{"preferred", "required"} {
		m, err := New(st, Options{RPID: "localhost", RPOrigins: []string{origin}, RPDisplayName: "Portcullis test", UserVerification: uv})
		if err != nil {
			t.Fatal(err)
		}
		h.methods[uv] = m
	}
	alicePage := origin + "/page?user=alice&rp=preferred"

	browser := newBrowser(t)
	tab, _ := newTab(t, browser, platformAuthenticator())

	var factor mfa.Factor
	t.Run("RegisterPasskey", func(t *testing.T) {
		open(t, tab, alicePage)
		click(t, tab, "register")
		out := h.next(t)
		if out.err != nil {
			t.Fatalf("FinishEnroll: %v", out.err)
		}
		factor = out.factor
		if !factor.Passkey || factor.Name != "Passkey" || factor.Type != mfa.TypeWebAuthn {
			t.Errorf("factor = %+v, want a discoverable credential named Passkey", factor)
		}
		waitDone(t, tab)
		screenshot(t, tab, "webauthn-after-registration.png")
	})
	if factor.ID == "" {
		t.Fatal("registration failed; the rest needs the credential")
	}

	t.Run("RegisterSameAuthenticatorAgainExcluded", func(t *testing.T) {
		open(t, tab, alicePage)
		click(t, tab, "register")
		msg := waitPageError(t, tab)
		if !strings.Contains(msg, "already registered") {
			t.Errorf("page error = %q, want the excluded-credential message", msg)
		}
		h.noOutcome(t)
	})

	t.Run("SecondFactor", func(t *testing.T) {
		open(t, tab, alicePage)
		click(t, tab, "verify")
		out := h.next(t)
		if out.err != nil {
			t.Fatalf("FinishVerify: %v", out.err)
		}
		if out.res.FactorID != factor.ID || !out.res.UserVerified || !slices.Equal(out.res.AMR, []string{"hwk", "user"}) {
			t.Errorf("result = %+v", out.res)
		}
		waitDone(t, tab)
	})

	t.Run("ReplayedAssertionRefused", func(t *testing.T) {
		captured := h.lastFinish("verify")
		if code := postFinish(t, origin, "verify", captured); code != http.StatusBadRequest {
			t.Errorf("replay answered %d", code)
		}
		if out := h.next(t); !errors.Is(out.err, mfa.ErrExpired) {
			t.Errorf("replay with the spent challenge: %v, want ErrExpired", out.err)
		}
		// The same assertion under a fresh challenge: the signed challenge differs.
		ch, err := h.methods["preferred"].BeginVerify(t.Context(), alice)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(captured, &body); err != nil {
			t.Fatal(err)
		}
		body["challenge_id"] = ch.ID
		replay, _ := json.Marshal(body)
		if code := postFinish(t, origin, "verify", replay); code != http.StatusBadRequest {
			t.Errorf("replay under a new challenge answered %d", code)
		}
		if out := h.next(t); !errors.Is(out.err, mfa.ErrInvalid) {
			t.Errorf("replay under a new challenge: %v, want ErrInvalid", out.err)
		}
	})

	t.Run("DiscoverableSignInFindsTheUser", func(t *testing.T) {
		open(t, tab, origin+"/page?rp=preferred")
		click(t, tab, "login")
		out := h.next(t)
		if out.err != nil {
			t.Fatalf("FinishDiscoverable: %v", out.err)
		}
		if out.user.ID != alice.ID || !out.res.UserVerified || out.res.FactorID != factor.ID {
			t.Errorf("signed in %q with %+v, want alice with UV", out.user.UserName, out.res)
		}
		waitDone(t, tab)
	})

	t.Run("AutofillOffersThePasskey", func(t *testing.T) {
		// With an <input autocomplete="username webauthn"> the page starts a conditional
		// request by itself; the virtual authenticator, present and holding one passkey,
		// answers it as a user picking it from the autofill would.
		before := h.beginCount("login")
		navigate(t, tab, origin+"/page?rp=preferred&autofill=1") // may leave for /done at once
		select {
		case out := <-h.outcomes:
			if out.kind != "login" || out.err != nil || out.user.ID != alice.ID {
				t.Fatalf("autofill sign-in: %+v", out)
			}
		case <-time.After(10 * time.Second):
			if h.beginCount("login") == before {
				t.Fatal("the page started no conditional request")
			}
			t.Skip("this Chromium does not answer conditional requests from a virtual authenticator")
		}
		waitDone(t, tab)
		h.noOutcome(t)
	})

	t.Run("OtherOriginRefused", func(t *testing.T) {
		open(t, tab, phishing+"/page?user=alice&rp=preferred")
		for _, kind := range []string{"verify", "login"} {
			click(t, tab, kind)
			if out := h.next(t); !errors.Is(out.err, mfa.ErrInvalid) {
				t.Errorf("%s from %s: %v, want ErrInvalid", kind, phishing, out.err)
			}
			if msg := waitPageError(t, tab); !strings.Contains(msg, "refused") {
				t.Errorf("page error = %q", msg)
			}
		}
	})

	t.Run("UserVerificationRequired", func(t *testing.T) {
		bobTab, authID := newTab(t, browser, platformAuthenticator())
		bobPage := origin + "/page?user=bob&rp=required"
		open(t, bobTab, bobPage)
		click(t, bobTab, "register")
		if out := h.next(t); out.err != nil {
			t.Fatalf("register bob: %v", out.err)
		}
		waitDone(t, bobTab)

		// The authenticator answers but says it did not verify the user.
		if _, err := chromedp.Call(bobTab, cdpwebauthn.SetResponseOverrideBits, cdpwebauthn.SetResponseOverrideBitsParams{
			AuthenticatorID: authID, IsBadUV: ptrTo(true),
		}); err != nil {
			t.Fatal(err)
		}
		open(t, bobTab, bobPage)
		click(t, bobTab, "verify")
		if out := h.next(t); !errors.Is(out.err, mfa.ErrInvalid) {
			t.Errorf("assertion without UV under required: %v, want ErrInvalid", out.err)
		}
		waitPageError(t, bobTab)
		if _, err := chromedp.Call(bobTab, cdpwebauthn.SetResponseOverrideBits, cdpwebauthn.SetResponseOverrideBitsParams{AuthenticatorID: authID}); err != nil {
			t.Fatal(err)
		}

		// The authenticator cannot verify the user at all: nothing gets through.
		if _, err := chromedp.Call(bobTab, cdpwebauthn.SetUserVerified, cdpwebauthn.SetUserVerifiedParams{AuthenticatorID: authID, IsUserVerified: false}); err != nil {
			t.Fatal(err)
		}
		open(t, bobTab, bobPage)
		click(t, bobTab, "verify")
		t.Logf("page error without UV: %q", waitPageError(t, bobTab))
		select {
		case out := <-h.outcomes:
			if out.err == nil {
				t.Errorf("verification without UV accepted: %+v", out.res)
			}
		case <-time.After(500 * time.Millisecond):
			// Refused by the browser before reaching the server.
		}

		// Control: the same authenticator verifying the user passes.
		if _, err := chromedp.Call(bobTab, cdpwebauthn.SetUserVerified, cdpwebauthn.SetUserVerifiedParams{AuthenticatorID: authID, IsUserVerified: true}); err != nil {
			t.Fatal(err)
		}
		open(t, bobTab, bobPage)
		click(t, bobTab, "verify")
		if out := h.next(t); out.err != nil || !out.res.UserVerified {
			t.Errorf("verification with UV: %+v %v", out.res, out.err)
		}
		waitDone(t, bobTab)
	})

	t.Run("RemovedCredentialRefused", func(t *testing.T) {
		if err := h.methods["preferred"].Remove(t.Context(), alice.ID, factor.ID); err != nil {
			t.Fatal(err)
		}
		// The authenticator still offers the passkey; the server no longer knows it.
		open(t, tab, origin+"/page?rp=preferred")
		click(t, tab, "login")
		if out := h.next(t); !errors.Is(out.err, mfa.ErrInvalid) || out.user.ID != "" {
			t.Errorf("sign-in with a removed passkey: %+v, want ErrInvalid", out)
		}
		waitPageError(t, tab)
		open(t, tab, alicePage)
		click(t, tab, "verify")
		if msg := waitPageError(t, tab); !strings.Contains(msg, mfa.ErrNotEnrolled.Error()) {
			t.Errorf("second factor after removal: page says %q", msg)
		}
		h.noOutcome(t)
	})
}

func ptrTo[T any](v T) *T { return &v }
