package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// csrf implements a signed double-submit token: the browser holds a random cookie and
// every form carries HMAC(key, cookie). A cross-site attacker can neither read the
// cookie nor compute the HMAC; an attacker who can plant cookies (a sibling subdomain)
// still cannot forge a matching token without the server key.
type csrf struct {
	key    []byte
	secure bool
}

func (c csrf) cookieName() string {
	if c.secure {
		return "__Host-portcullis_csrf"
	}
	return "portcullis_csrf"
}

func (c csrf) sign(v string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("csrf|"))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// token returns the form token for this browser, setting the cookie when absent.
func (c csrf) token(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookieName()); err == nil && len(ck.Value) >= 32 {
		return c.sign(ck.Value)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(), Value: v, Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteStrictMode,
	})
	// Let the current response's form use the new cookie.
	r.AddCookie(&http.Cookie{Name: c.cookieName(), Value: v})
	return c.sign(v)
}

// valid reports whether the posted token matches this browser's cookie.
func (c csrf) valid(r *http.Request) bool {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || len(ck.Value) < 32 {
		return false
	}
	got := r.PostFormValue("csrf_token")
	if got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(c.sign(ck.Value)))
}

// validHeader checks the token a script sends in the X-CSRF-Token header.
func (c csrf) validHeader(r *http.Request) bool {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || len(ck.Value) < 32 {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	return got != "" && hmac.Equal([]byte(got), []byte(c.sign(ck.Value)))
}
