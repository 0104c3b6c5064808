package ui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/directory"
	"github.com/portcullis-id/portcullis/idp/login"
	"github.com/portcullis-id/portcullis/mfa"
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

// MFA is the second-factor service (mfa.Service).
type MFA interface {
	Enrolled(ctx context.Context, userID string) (bool, error)
	Factors(ctx context.Context, userID string) ([]mfa.Factor, error)
	Method(typ string) (mfa.Method, bool)
	Verify(ctx context.Context, u store.User, typ, challengeID string, response []byte, sourceIP string) (mfa.Result, error)
	VerifyDiscoverable(ctx context.Context, typ, challengeID string, response []byte, sourceIP string) (store.User, mfa.Result, error)
}

// RecoveryCodes issues a fresh set of one-time recovery codes.
type RecoveryCodes interface {
	Generate(ctx context.Context, userID string) ([]string, error)
	Remaining(ctx context.Context, userID string) (int, error)
}

// UserStore reads users and records their last sign-in.
type UserStore interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	UpdateUser(ctx context.Context, u store.User) (store.User, error)
}

// Deps are the collaborators of the pages.
type Deps struct {
	Provider Provider
	Auth     Authenticator
	MFA      MFA
	Recovery RecoveryCodes
	Policy   login.Policy
	Groups   func(ctx context.Context, userID string) ([]string, error)
	Users    UserStore
	Sessions *Sessions
	ClientIP func(*http.Request) string
	// Key signs CSRF tokens and sign-in tickets (derived from the sealing key).
	Key     []byte
	Secure  bool
	Now     func() time.Time
	Log     *slog.Logger
	Audit   audit.Recorder
	OnLogin func(outcome string)
}

// UI serves the sign-in and account pages.
type UI struct {
	d    Deps
	csrf csrf
	tpl  *template.Template
	// recoveryViews holds codes generated during a script-driven enrollment until the
	// page that shows them once is loaded.
	recoveryViews *mfa.Pending[recoveryView]
}

// New parses the embedded templates.
func New(d Deps) (*UI, error) {
	tpl, err := template.New("").Funcs(template.FuncMap{
		"since": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	if d.OnLogin == nil {
		d.OnLogin = func(string) {}
	}
	if d.Audit == nil {
		d.Audit = audit.Discard{}
	}
	if d.Policy.StepUpMaxAge == 0 {
		d.Policy.StepUpMaxAge = 5 * time.Minute
	}
	return &UI{
		d: d, csrf: csrf{key: d.Key, secure: d.Secure}, tpl: tpl,
		recoveryViews: mfa.NewPending[recoveryView](5*time.Minute, 10_000, d.Now),
	}, nil
}

// Mount registers the pages.
func (u *UI) Mount(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	get := func(pattern string, h http.HandlerFunc) { mux.Handle("GET "+pattern, noStore(h)) }
	post := func(pattern string, h http.HandlerFunc) { mux.Handle("POST "+pattern, noStore(cop.Handler(h))) }
	get("/login", u.loginPage)
	post("/login", u.loginPost)
	post("/login/password", u.passwordPost)
	post("/login/mfa", u.secondFactorPost)
	post("/login/mfa/webauthn/begin", u.webauthnVerifyBegin)
	post("/login/mfa/webauthn/finish", u.webauthnVerifyFinish)
	get("/login/enroll/totp", u.enrollTOTPPage)
	post("/login/enroll/totp", u.enrollTOTPPost)
	post("/login/enroll/webauthn/begin", u.enrollWebAuthnBegin)
	post("/login/enroll/webauthn/finish", u.enrollWebAuthnFinish)
	post("/login/passkey/begin", u.passkeyBegin)
	post("/login/passkey/finish", u.passkeyFinish)
	get("/logged-out", u.loggedOut)
	u.mountAccount(get, post)
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
	Return        string
	ClientName    string
	UserName      string
	Error         string
	Notice        string
	Ticket        string
	// second factor and enrollment
	HasTOTP, HasWebAuthn, HasRecovery bool
	Enrollment                        mfa.Enrollment
	QRDataURL                         template.URL
	RecoveryCodes                     []string
	Continue                          string
	// account page
	Account *accountData
	// WebAuthn is on (the issuer has a host name): pages offer keys and passkeys.
	WebAuthn bool
}

func (u *UI) render(w http.ResponseWriter, status int, name string, data pageData) {
	_, data.WebAuthn = u.d.MFA.Method(mfa.TypeWebAuthn)
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

func clientName(c store.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// loginPage shows the form, or reuses the browser's session when the request allows.
// Without an auth request it signs in to the account page.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	data := pageData{Title: "Sign in", CSRF: u.csrf.token(w, r), AuthRequestID: id}
	if id == "" {
		if _, ok := u.d.Sessions.FromRequest(r); ok {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return
		}
		data.Return, data.ClientName = "account", "your account"
		u.render(w, http.StatusOK, "login.html", data)
		return
	}
	ar, client, err := u.d.Provider.AuthRequest(r.Context(), id)
	if err != nil {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	if sess, ok := u.d.Sessions.FromRequest(r); ok && !needsLogin(ar, sess, u.d.Now()) {
		u.reuseSession(w, r, sess, ar, client)
		return
	}
	data.ClientName, data.UserName = clientName(client), ar.LoginHint
	u.render(w, http.StatusOK, "login.html", data)
}

// reuseSession completes the request with the existing session, first asking for a
// second factor when this request needs one the session has not proved (step-up).
func (u *UI) reuseSession(w http.ResponseWriter, r *http.Request, sess store.Session, ar store.AuthRequest, client store.Client) {
	user, err := u.d.Users.GetUser(r.Context(), sess.UserID)
	if err != nil {
		u.fail(w, r, "load session user", err)
		return
	}
	if !login.HasMFA(sess) {
		groups, err := u.d.Groups(r.Context(), user.ID)
		if err != nil {
			u.fail(w, r, "load groups", err)
			return
		}
		if u.d.Policy.Require(user, groups, client, ar.ACRValues).MFA {
			p := pending{UserID: user.ID, AuthReq: ar.ID, Session: sess.ID}
			enrolled, err := u.d.MFA.Enrolled(r.Context(), user.ID)
			if err != nil {
				u.fail(w, r, "list second factors", err)
				return
			}
			if !enrolled {
				p.Stage = stageEnroll
				u.enrollPage(w, r, p, "")
				return
			}
			p.Stage = stageSecondFactor
			u.secondFactorPage(w, r, user, p, "", http.StatusOK)
			return
		}
	}
	to, err := u.d.Provider.CompleteAuthRequest(r.Context(), r, ar.ID, sess)
	if err != nil {
		u.d.Log.WarnContext(r.Context(), "complete auth request", "err", err, "request_id", audit.RequestIDFrom(r.Context()))
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

const maxForm = 64 << 10

// parsePost reads a form post and checks its CSRF token; false means a response was sent.
func (u *UI) parsePost(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		u.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	if !u.csrf.valid(r) {
		u.errorPage(w, http.StatusForbidden, "The form expired or was not sent from this site. Reload the page and try again.")
		return false
	}
	return true
}

func (u *UI) loginPost(w http.ResponseWriter, r *http.Request) {
	if !u.parsePost(w, r) {
		return
	}
	p := pending{AMR: []string{"pwd"}}
	data := pageData{Title: "Sign in"}
	if id := r.PostFormValue("authRequestID"); id != "" {
		_, client, err := u.d.Provider.AuthRequest(r.Context(), id)
		if err != nil {
			u.errorPage(w, http.StatusBadRequest, invalidLink)
			return
		}
		p.AuthReq, data.AuthRequestID, data.ClientName = id, id, clientName(client)
	} else {
		p.Return, data.Return, data.ClientName = "account", "account", "your account"
	}
	userName := strings.TrimSpace(r.PostFormValue("username"))
	user, res, err := u.d.Auth.Authenticate(r.Context(), userName, r.PostFormValue("password"), u.d.ClientIP(r))
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
		data.CSRF, data.UserName, data.Error = u.csrf.token(w, r), userName, genericFailure
		u.render(w, http.StatusUnauthorized, "login.html", data)
		return
	}
	u.d.OnLogin("success")
	p.UserID = user.ID
	u.afterFirstFactor(w, r, user, p, res.MustChangePassword)
}

func (u *UI) passwordPost(w http.ResponseWriter, r *http.Request) {
	if !u.parsePost(w, r) {
		return
	}
	p, ok := u.readTicket(r, r.PostFormValue("ticket"), stagePasswordChange)
	if !ok {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return
	}
	pw, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	again := func(msg string) {
		u.render(w, http.StatusBadRequest, "password.html", pageData{
			Title: "Choose a new password", CSRF: u.csrf.token(w, r), Ticket: r.PostFormValue("ticket"), Error: msg,
		})
	}
	if pw != confirm {
		again("The two passwords do not match.")
		return
	}
	if err := u.d.Auth.SetPassword(r.Context(), p.UserID, pw, false); err != nil {
		var pe *directory.PolicyError
		if errors.As(err, &pe) {
			again(pe.Error())
			return
		}
		u.fail(w, r, "set password", err)
		return
	}
	user, err := u.d.Users.GetUser(r.Context(), p.UserID)
	if err != nil {
		u.fail(w, r, "load user", err)
		return
	}
	u.afterFirstFactor(w, r, user, p, false)
}

func (u *UI) loggedOut(w http.ResponseWriter, r *http.Request) {
	u.d.Sessions.Clear(w)
	u.render(w, http.StatusOK, "logged_out.html", pageData{Title: "Signed out"})
}
