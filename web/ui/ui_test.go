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

func TestPasswordChangeTicket(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	u := &UI{d: Deps{Key: []byte("ticket key ticket key ticket key"), Now: func() time.Time { return now }}}
	tk := u.ticket("user-1", "ar-1")
	if id, ok := u.readTicket(tk, "ar-1"); !ok || id != "user-1" {
		t.Fatalf("valid ticket refused: %q %v", id, ok)
	}
	if _, ok := u.readTicket(tk, "ar-2"); ok {
		t.Fatal("ticket accepted for another auth request")
	}
	enc, sig, _ := strings.Cut(tk, ".")
	if _, ok := u.readTicket(enc+"."+sig[:len(sig)-2]+"AA", "ar-1"); ok {
		t.Fatal("tampered ticket accepted")
	}
	later := &UI{d: Deps{Key: u.d.Key, Now: func() time.Time { return now.Add(ticketLifetime + time.Second) }}}
	if _, ok := later.readTicket(tk, "ar-1"); ok {
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
