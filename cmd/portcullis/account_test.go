package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// clock is a settable time source shared by the server and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var (
	secretRe     = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)
	enrollmentRe = regexp.MustCompile(`name="enrollment_id" value="([^"]+)"`)
	codesRe      = regexp.MustCompile(`<li><code>([0-9a-z-]+)</code></li>`)
)

// accountBrowser is a cookie-jar client that does not follow redirects, so each step's
// answer can be checked.
type accountBrowser struct {
	t      *testing.T
	c      *http.Client
	issuer string
}

func newAccountBrowser(t *testing.T, issuer string) *accountBrowser {
	jar, _ := cookiejar.New(nil)
	return &accountBrowser{t: t, issuer: issuer, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *accountBrowser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.issuer + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body := readAll(resp)
	return resp.StatusCode, resp.Header.Get("Location"), body
}

func (b *accountBrowser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.issuer+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), readAll(resp)
}

func readAll(resp *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

func (b *accountBrowser) csrf(page string) string { b.t.Helper(); return match(b.t, csrfRe, page) }

// signInToAccount posts the password form without an auth request.
func (b *accountBrowser) signInToAccount(password string) (int, string, string) {
	b.t.Helper()
	_, _, page := b.get("/login")
	return b.post("/login", url.Values{"csrf_token": {b.csrf(page)}, "username": {"alice"}, "password": {password}})
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAccountPageRequiresFreshSecondFactorAndGuardsTheLastOne covers the account page
// over HTTP with a controlled clock: enrollment forced by group policy, the refusal to
// remove the last required factor, the re-check after five minutes, recovery-code
// regeneration, password change with the current password, revoking another browser's
// session, and the lockout after repeated wrong codes.
func TestAccountPageRequiresFreshSecondFactorAndGuardsTheLastOne(t *testing.T) {
	clk := &clock{now: time.Now().Truncate(30 * time.Second)}
	s := startServerClock(t, "127.0.0.1", "mfa:\n  required_groups: [engineering]\n", clk.Now)
	s.fixture(t, "http://127.0.0.1:9/cb")
	b := newAccountBrowser(t, s.issuer)

	// Password, then enrollment is required (alice is in engineering).
	st, _, page := b.signInToAccount(alicePassword)
	if st != http.StatusOK || !strings.Contains(page, "/login/enroll/totp?ticket=") {
		t.Fatalf("expected the enrollment page, got %d:\n%s", st, page)
	}
	ticket := match(t, regexp.MustCompile(`/login/enroll/totp\?ticket=([^"]+)"`), page)
	_, _, page = b.get("/login/enroll/totp?ticket=" + ticket)
	secret := match(t, secretRe, page)
	st, _, page = b.post("/login/enroll/totp", url.Values{
		"csrf_token": {b.csrf(page)}, "ticket": {match(t, ticketR, page)},
		"enrollment_id": {match(t, enrollmentRe, page)}, "code": {code(t, secret, clk.Now())},
	})
	if st != http.StatusOK || len(codesRe.FindAllString(page, -1)) != 10 {
		t.Fatalf("expected 10 recovery codes after enrollment, got %d:\n%s", st, page)
	}
	firstCodes := codesRe.FindAllStringSubmatch(page, -1)

	st, _, page = b.get("/account")
	if st != http.StatusOK || !strings.Contains(page, "Authenticator app") {
		t.Fatalf("account page: %d\n%s", st, page)
	}
	factorID := match(t, regexp.MustCompile(`action="/account/factors/remove"[\s\S]*?name="id" value="([^"]+)"`), page)

	// The last factor of a user who must have one cannot be removed.
	st, _, _ = b.post("/account/factors/remove", url.Values{"csrf_token": {b.csrf(page)}, "id": {factorID}, "type": {"totp"}})
	if st != http.StatusConflict {
		t.Fatalf("removing the last required factor: %d", st)
	}

	// Six minutes later a change asks for the second factor again.
	clk.Add(6 * time.Minute)
	st, _, page = b.post("/account/recovery", url.Values{"csrf_token": {b.csrf(page)}})
	if st != http.StatusUnauthorized || !strings.Contains(page, "Confirm it is you") {
		t.Fatalf("stale second factor not re-checked: %d\n%s", st, page)
	}
	st, loc, _ := b.post("/login/mfa", url.Values{
		"csrf_token": {b.csrf(page)}, "ticket": {match(t, ticketR, page)}, "method": {"totp"}, "code": {code(t, secret, clk.Now())},
	})
	if st != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("step-up: %d %s", st, loc)
	}
	_, _, page = b.get("/account")
	st, _, page = b.post("/account/recovery", url.Values{"csrf_token": {b.csrf(page)}})
	newCodes := codesRe.FindAllStringSubmatch(page, -1)
	if st != http.StatusOK || len(newCodes) != 10 || newCodes[0][1] == firstCodes[0][1] {
		t.Fatalf("regenerated recovery codes: %d %v", st, newCodes)
	}

	// The password change needs the current password.
	_, _, page = b.get("/account")
	st, _, _ = b.post("/account/password", url.Values{"csrf_token": {b.csrf(page)}, "current_password": {"not my password at all"},
		"new_password": {"an entirely new passphrase"}, "confirm_password": {"an entirely new passphrase"}})
	if st != http.StatusUnauthorized {
		t.Fatalf("password change with a wrong current password: %d", st)
	}
	st, loc, _ = b.post("/account/password", url.Values{"csrf_token": {b.csrf(page)}, "current_password": {alicePassword},
		"new_password": {"an entirely new passphrase"}, "confirm_password": {"an entirely new passphrase"}})
	if st != http.StatusSeeOther || loc != "/account?done=password" {
		t.Fatalf("password change: %d %s", st, loc)
	}

	// A second browser signs in (password + TOTP at a later step, and an old recovery
	// code no longer works); the first revokes it.
	other := newAccountBrowser(t, s.issuer)
	_, _, page = other.signInToAccount("an entirely new passphrase")
	st, _, page = other.post("/login/mfa", url.Values{
		"csrf_token": {other.csrf(page)}, "ticket": {match(t, ticketR, page)}, "method": {"recovery"}, "code": {firstCodes[0][1]},
	})
	if st != http.StatusUnauthorized {
		t.Fatalf("a recovery code of the replaced set worked: %d", st)
	}
	clk.Add(30 * time.Second)
	st, loc, _ = other.post("/login/mfa", url.Values{
		"csrf_token": {other.csrf(page)}, "ticket": {match(t, ticketR, page)}, "method": {"totp"}, "code": {code(t, secret, clk.Now())},
	})
	if st != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("second browser sign-in: %d %s", st, loc)
	}
	_, _, page = b.get("/account")
	ids := regexp.MustCompile(`action="/account/sessions/revoke"[^>]*>\s*<input[^>]*>\s*<input type="hidden" name="id" value="([0-9a-f]+)"`).FindAllStringSubmatch(page, -1)
	if len(ids) != 2 {
		t.Fatalf("sessions listed: %v", ids)
	}
	_, _, otherPage := other.get("/account")
	mine := match(t, regexp.MustCompile(`<strong>\(this browser\)</strong>[\s\S]*?name="id" value="([0-9a-f]+)"`), otherPage)
	st, loc, _ = b.post("/account/sessions/revoke", url.Values{"csrf_token": {b.csrf(page)}, "id": {mine}})
	if st != http.StatusSeeOther || loc != "/account?done=revoked" {
		t.Fatalf("revoke the other session: %d %s", st, loc)
	}
	if st, loc, _ := other.get("/account"); st != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("revoked browser still signed in: %d %s", st, loc)
	}

	// Repeated wrong codes lock the second factor for a while, with a clear message.
	_, _, page = other.signInToAccount("an entirely new passphrase")
	tk := match(t, ticketR, page)
	var last string
	for range 6 {
		_, _, last = other.post("/login/mfa", url.Values{"csrf_token": {other.csrf(page)}, "ticket": {tk}, "method": {"totp"}, "code": {"000000"}})
	}
	if !strings.Contains(last, "too many failed second-factor attempts; try again in") {
		t.Fatalf("no lockout message after repeated wrong codes:\n%s", extractError(last))
	}
	clk.Add(30 * time.Second)
	_, _, last = other.post("/login/mfa", url.Values{"csrf_token": {other.csrf(page)}, "ticket": {tk}, "method": {"totp"}, "code": {code(t, secret, clk.Now())}})
	if !strings.Contains(last, "too many failed") {
		t.Fatal("the right code was accepted during the lockout")
	}
}
