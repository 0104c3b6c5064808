package ui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/directory"
	"github.com/portcullis-id/portcullis/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Provider is what the pages need from the OpenID provider.
type Provider interface {
	AuthRequest(ctx context.Context, id string) (store.AuthRequest, store.Client, error)
	CompleteAuthRequest(ctx context.Context, r *http.Request, id string, s store.Session) (string, error)
	DenyAuthRequest(ctx context.Context, id string, e *zoidc.Error) (string, error)
}

// Authenticator checks and changes passwords.
type Authenticator interface {
	Authenticate(ctx context.Context, userName, password, sourceIP string) (store.User, directory.AuthResult, error)
	SetPassword(ctx context.Context, userID, password string, mustChange bool) error
}

// Deps are the collaborators of the pages.
type Deps struct {
	Provider Provider
	Auth     Authenticator
	Sessions *Sessions
	ClientIP func(*http.Request) string
	// Key signs CSRF tokens and password-change tickets (derived from the sealing key).
	Key     []byte
	Secure  bool
	Now     func() time.Time
	Log     *slog.Logger
	Audit   audit.Recorder
	OnLogin func(outcome string)
}

// UI serves the sign-in pages.
type UI struct {
	d    Deps
	csrf csrf
	tpl  *template.Template
}

// New parses the embedded templates.
func New(d Deps) (*UI, error) {
	tpl, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	if d.OnLogin == nil {
		d.OnLogin = func(string) {}
	}
	if d.Audit == nil {
		d.Audit = audit.Discard{}
	}
	return &UI{d: d, csrf: csrf{key: d.Key, secure: d.Secure}, tpl: tpl}, nil
}

// Mount registers the pages.
func (u *UI) Mount(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	mux.Handle("GET /login", noStore(http.HandlerFunc(u.loginPage)))
	mux.Handle("POST /login", noStore(cop.Handler(http.HandlerFunc(u.loginPost))))
	mux.Handle("POST /login/password", noStore(cop.Handler(http.HandlerFunc(u.passwordPost))))
	mux.Handle("GET /logged-out", noStore(http.HandlerFunc(u.loggedOut)))
	sub, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
}

// noStore keeps sign-in pages out of every cache: they carry CSRF tokens and errors
// about a particular person's attempt.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		next.ServeHTTP(w, r)
	})
}

type pageData struct {
	Title         string
	CSRF          string
	AuthRequestID string
	ClientName    string
	UserName      string
	Error         string
	Ticket        string
	MinLength     int
}

func (u *UI) render(w http.ResponseWriter, status int, name string, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := u.tpl.ExecuteTemplate(w, name, data); err != nil {
		u.d.Log.Error("render page", "template", name, "err", err)
	}
}

func (u *UI) errorPage(w http.ResponseWriter, status int, msg string) {
	u.render(w, status, "error.html", pageData{Title: "Sign-in problem", Error: msg})
}

const invalidLink = "This sign-in link is invalid or has expired. Go back to the application and start again."

// genericFailure is the one message for a wrong password, an unknown user, a disabled
// account and a throttled attempt, so the page does not tell which user names exist.
const genericFailure = "The user name or password is incorrect, or the account is temporarily locked."

// needsLogin reports whether the request forces a fresh authentication despite a session
// (OIDC Core §3.1.2.1: prompt=login, and max_age older than the session's auth_time).
func needsLogin(ar store.AuthRequest, s store.Session, now time.Time) bool {
	if slices.Contains(ar.Prompt, "login") {
		return true
	}
	if ar.MaxAge != nil && now.Sub(s.AuthTime) > *ar.MaxAge {
		return true
	}
	return false
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	ar, client, err := u.d.Provider.AuthRequest(r.Context(), id)
	if err != nil || id == "" {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	if sess, ok := u.d.Sessions.FromRequest(r); ok && !needsLogin(ar, sess, u.d.Now()) {
		u.complete(w, r, id, sess)
		return
	}
	u.render(w, http.StatusOK, "login.html", pageData{
		Title: "Sign in", CSRF: u.csrf.token(w, r), AuthRequestID: id,
		ClientName: clientName(client), UserName: ar.LoginHint,
	})
}

func clientName(c store.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

func (u *UI) complete(w http.ResponseWriter, r *http.Request, id string, sess store.Session) {
	to, err := u.d.Provider.CompleteAuthRequest(r.Context(), r, id, sess)
	if err != nil {
		u.d.Log.WarnContext(r.Context(), "complete auth request", "err", err, "request_id", audit.RequestIDFrom(r.Context()))
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

const maxForm = 16 << 10

func (u *UI) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		u.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !u.csrf.valid(r) {
		u.errorPage(w, http.StatusForbidden, "The form expired or was not sent from this site. Reload the page and try again.")
		return
	}
	id := r.PostFormValue("authRequestID")
	_, client, err := u.d.Provider.AuthRequest(r.Context(), id)
	if err != nil || id == "" {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	userName := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	user, res, err := u.d.Auth.Authenticate(r.Context(), userName, password, u.d.ClientIP(r))
	if err != nil {
		outcome := "failure"
		switch {
		case errors.Is(err, directory.ErrThrottled):
			outcome = "throttled"
		case errors.Is(err, directory.ErrInvalidCredentials):
		default:
			outcome = "error"
			u.d.Log.ErrorContext(r.Context(), "authenticate", "err", err, "request_id", audit.RequestIDFrom(r.Context()))
		}
		u.d.OnLogin(outcome)
		u.render(w, http.StatusUnauthorized, "login.html", pageData{
			Title: "Sign in", CSRF: u.csrf.token(w, r), AuthRequestID: id,
			ClientName: clientName(client), UserName: userName, Error: genericFailure,
		})
		return
	}
	if res.MustChangePassword {
		u.d.OnLogin("password_change_required")
		u.render(w, http.StatusOK, "password.html", pageData{
			Title: "Choose a new password", CSRF: u.csrf.token(w, r), AuthRequestID: id,
			Ticket: u.ticket(user.ID, id), UserName: user.UserName,
		})
		return
	}
	u.d.OnLogin("success")
	u.startSession(w, r, id, user.ID)
}

func (u *UI) startSession(w http.ResponseWriter, r *http.Request, authRequestID, userID string) {
	// RFC 8176: "pwd" is the only method so far; second factors add theirs.
	sess, err := u.d.Sessions.Start(w, r, userID, []string{"pwd"})
	if err != nil {
		u.d.Log.ErrorContext(r.Context(), "start session", "err", err)
		u.errorPage(w, http.StatusInternalServerError, "Signing in failed. Try again.")
		return
	}
	u.complete(w, r, authRequestID, sess)
}

const ticketLifetime = 10 * time.Minute

// ticket proves, for a short while, that this browser just passed the password check
// for userID on this auth request, so the forced password change needs no session yet.
func (u *UI) ticket(userID, authRequestID string) string {
	exp := strconv.FormatInt(u.d.Now().Add(ticketLifetime).Unix(), 10)
	payload := userID + "|" + authRequestID + "|" + exp
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + u.mac(payload)
}

func (u *UI) mac(payload string) string {
	m := hmac.New(sha256.New, u.d.Key)
	m.Write([]byte("pwchange|"))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (u *UI) readTicket(t, authRequestID string) (string, bool) {
	enc, sig, ok := strings.Cut(t, ".")
	if !ok {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !hmac.Equal([]byte(sig), []byte(u.mac(string(raw)))) {
		return "", false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || parts[1] != authRequestID {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || u.d.Now().Unix() > exp {
		return "", false
	}
	return parts[0], true
}

func (u *UI) passwordPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		u.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !u.csrf.valid(r) {
		u.errorPage(w, http.StatusForbidden, "The form expired or was not sent from this site. Reload the page and try again.")
		return
	}
	id := r.PostFormValue("authRequestID")
	userID, ok := u.readTicket(r.PostFormValue("ticket"), id)
	if !ok {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	pw, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	again := func(msg string) {
		u.render(w, http.StatusBadRequest, "password.html", pageData{
			Title: "Choose a new password", CSRF: u.csrf.token(w, r), AuthRequestID: id,
			Ticket: r.PostFormValue("ticket"), Error: msg,
		})
	}
	if pw != confirm {
		again("The two passwords do not match.")
		return
	}
	if err := u.d.Auth.SetPassword(r.Context(), userID, pw, false); err != nil {
		var pe *directory.PolicyError
		if errors.As(err, &pe) {
			again(pe.Error())
			return
		}
		u.d.Log.ErrorContext(r.Context(), "set password", "err", err)
		u.errorPage(w, http.StatusInternalServerError, "Changing the password failed. Try again.")
		return
	}
	u.startSession(w, r, id, userID)
}

func (u *UI) loggedOut(w http.ResponseWriter, r *http.Request) {
	u.d.Sessions.Clear(w)
	u.render(w, http.StatusOK, "logged_out.html", pageData{Title: "Signed out"})
}
