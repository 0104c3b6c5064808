package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func TestCSRFTokenBindsToCookie(t *testing.T) {
	t.Parallel()
	c := csrf{key: []byte("0123456789abcdef0123456789abcdef")}
	rec := httptest.NewRecorder()
	tok := c.token(rec, httptest.NewRequest("GET", "/login", nil))
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("csrf cookie flags: %+v", cookie)
	}
	post := func(token string, withCookie bool) *http.Request {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			r.AddCookie(cookie)
		}
		return r
	}
	other := csrf{key: []byte("another key another key another k")}
	tests := []struct {
		name   string
		req    *http.Request
		wantOK bool
	}{
		{"matching token and cookie", post(tok, true), true},
		{"missing token", post("", true), false},
		{"missing cookie", post(tok, false), false},
		{"token of another cookie", post(c.sign(strings.Repeat("x", 43)), true), false},
		{"token signed with another key", post(other.sign(cookie.Value), true), false},
	}
	for _, tc := range tests {
		if got := c.valid(tc.req); got != tc.wantOK {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.wantOK)
		}
	}
}

func TestSecureCookiesUseHostPrefix(t *testing.T) {
	t.Parallel()
	c := csrf{key: []byte("k"), secure: true}
	rec := httptest.NewRecorder()
	c.token(rec, httptest.NewRequest("GET", "/", nil))
	ck := rec.Result().Cookies()[0]
	if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure {
		t.Fatalf("https cookie: %+v", ck)
	}
}

func TestTicketIsBoundToBrowserStageAndTime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	u := &UI{d: Deps{Key: []byte("ticket key ticket key ticket key"), Now: func() time.Time { return now }}, csrf: csrf{key: []byte("k")}}
	browser := func(cookie string) *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		r.AddCookie(&http.Cookie{Name: u.csrf.cookieName(), Value: cookie})
		return r
	}
	mine, theirs := browser(strings.Repeat("a", 43)), browser(strings.Repeat("b", 43))
	tk := u.ticket(mine, pending{Stage: stageSecondFactor, UserID: "user-1", AuthReq: "ar-1", AMR: []string{"pwd"}})
	if p, ok := u.readTicket(mine, tk, stageSecondFactor); !ok || p.UserID != "user-1" || p.AuthReq != "ar-1" {
		t.Fatalf("valid ticket refused: %+v %v", p, ok)
	}
	if _, ok := u.readTicket(theirs, tk, stageSecondFactor); ok {
		t.Fatal("ticket accepted in another browser")
	}
	if _, ok := u.readTicket(mine, tk, stageEnroll); ok {
		t.Fatal("ticket accepted at another stage")
	}
	enc, sig, _ := strings.Cut(tk, ".")
	if _, ok := u.readTicket(mine, enc+"."+sig[:len(sig)-2]+"AA", stageSecondFactor); ok {
		t.Fatal("tampered ticket accepted")
	}
	later := &UI{d: Deps{Key: u.d.Key, Now: func() time.Time { return now.Add(ticketLifetime + time.Second) }}, csrf: u.csrf}
	if _, ok := later.readTicket(mine, tk, stageSecondFactor); ok {
		t.Fatal("expired ticket accepted")
	}
}

func TestNeedsLogin(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	sess := store.Session{AuthTime: now.Add(-10 * time.Minute)}
	five, hour := 5*time.Minute, time.Hour
	tests := []struct {
		name string
		ar   store.AuthRequest
		want bool
	}{
		{"plain request reuses the session", store.AuthRequest{}, false},
		{"prompt=login forces the form", store.AuthRequest{Prompt: []string{"login"}}, true},
		{"max_age exceeded", store.AuthRequest{MaxAge: &five}, true},
		{"max_age satisfied", store.AuthRequest{MaxAge: &hour}, false},
	}
	for _, tc := range tests {
		if got := needsLogin(tc.ar, sess, now); got != tc.want {
			t.Errorf("%s: needsLogin = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzReadTicket: a posted ticket is attacker-controlled; reading it must never panic and
// must accept nothing but a ticket this server issued to this browser.
func FuzzReadTicket(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	u := &UI{d: Deps{Key: []byte("ticket key ticket key ticket key"), Now: func() time.Time { return now }}, csrf: csrf{key: []byte("k")}}
	r := httptest.NewRequest("POST", "/", nil)
	r.AddCookie(&http.Cookie{Name: u.csrf.cookieName(), Value: strings.Repeat("c", 43)})
	good := u.ticket(r, pending{Stage: stageSecondFactor, UserID: "user-1"})
	for _, s := range []string{good, "", ".", "a.b", good + "x", strings.Repeat("e", 4096)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tk string) {
		p, ok := u.readTicket(r, tk, stageSecondFactor, stageEnroll, stagePasswordChange)
		if ok && p.UserID != "user-1" {
			t.Fatalf("forged ticket accepted: %+v", p)
		}
	})
}
