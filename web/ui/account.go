package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/directory"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

type accountData struct {
	User           store.User
	Factors        []mfa.Factor
	RecoveryLeft   int
	Sessions       []sessionView
	MFARequired    bool
	CanRemoveLast  bool
	WebAuthnTicket string
}

type sessionView struct {
	store.Session
	Current bool
}

func (u *UI) mountAccount(get, post func(string, http.HandlerFunc)) {
	get("/account", u.accountPage)
	post("/account/password", u.accountPassword)
	post("/account/factors/rename", u.accountRename)
	post("/account/factors/remove", u.accountRemove)
	get("/account/totp", u.accountTOTPPage)
	post("/account/totp", u.accountTOTPPost)
	post("/account/webauthn/begin", u.accountWebAuthnBegin)
	post("/account/webauthn/finish", u.accountWebAuthnFinish)
	post("/account/recovery", u.accountRecovery)
	post("/account/sessions/revoke", u.accountRevokeSession)
	post("/account/signout", u.accountSignOut)
	get("/login/recovery-codes", u.recoveryCodesPage)
}

// accountSession returns the signed-in user, or sends the browser to sign in.
func (u *UI) accountSession(w http.ResponseWriter, r *http.Request) (store.Session, store.User, bool) {
	sess, ok := u.d.Sessions.FromRequest(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return sess, store.User{}, false
	}
	user, err := u.d.Users.GetUser(r.Context(), sess.UserID)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return sess, store.User{}, false
	}
	return sess, user, true
}

// fresh enforces the re-check before a change: a second factor (or, for a user with
// none, the sign-in itself) no older than the step-up age. When it is older it shows
// the second-factor page (or the sign-in form) and returns false.
func (u *UI) fresh(w http.ResponseWriter, r *http.Request, sess store.Session, user store.User) bool {
	now := u.d.Now()
	enrolled, err := u.d.MFA.Enrolled(r.Context(), user.ID)
	if err != nil {
		u.fail(w, r, "list second factors", err)
		return false
	}
	if enrolled {
		if !sess.MFAAt.IsZero() && now.Sub(sess.MFAAt) <= u.d.Policy.StepUpMaxAge {
			return true
		}
		p := pending{Stage: stageSecondFactor, UserID: user.ID, Return: "account", Session: sess.ID}
		u.secondFactorPage(w, r, user, p, "Confirm it is you before changing your account.", http.StatusUnauthorized)
		return false
	}
	if now.Sub(sess.AuthTime) <= u.d.Policy.StepUpMaxAge {
		return true
	}
	u.render(w, http.StatusUnauthorized, "login.html", pageData{
		Title: "Sign in", CSRF: u.csrf.token(w, r), Return: "account", ClientName: "your account",
		UserName: user.UserName, Notice: "Sign in again before changing your account.",
	})
	return false
}

func (u *UI) accountPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountSession(w, r)
	if !ok {
		return
	}
	u.renderAccount(w, r, sess, user, r.URL.Query().Get("done"), "", http.StatusOK)
}

var accountNotices = map[string]string{
	"password": "Your password was changed.",
	"renamed":  "The factor was renamed.",
	"removed":  "The factor was removed.",
	"totp":     "The authenticator app was added.",
	"webauthn": "The security key was added.",
	"revoked":  "The session was signed out.",
}

func (u *UI) renderAccount(w http.ResponseWriter, r *http.Request, sess store.Session, user store.User, notice, msg string, status int) {
	ctx := r.Context()
	factors, err := u.d.MFA.Factors(ctx, user.ID)
	if err != nil {
		u.fail(w, r, "list second factors", err)
		return
	}
	left, err := u.d.Recovery.Remaining(ctx, user.ID)
	if err != nil {
		u.fail(w, r, "count recovery codes", err)
		return
	}
	sessions, err := u.d.Sessions.Store.ListUserSessions(ctx, user.ID, u.d.Now())
	if err != nil {
		u.fail(w, r, "list sessions", err)
		return
	}
	req, err := u.requirement(ctx, user, "")
	if err != nil {
		u.fail(w, r, "mfa policy", err)
		return
	}
	a := &accountData{User: user, RecoveryLeft: left, MFARequired: req.MFA}
	for _, f := range factors {
		if f.Type != mfa.TypeRecovery {
			a.Factors = append(a.Factors, f)
		}
	}
	a.CanRemoveLast = !req.MFA
	for _, s := range sessions {
		a.Sessions = append(a.Sessions, sessionView{Session: s, Current: s.ID == sess.ID})
	}
	u.render(w, status, "account.html", pageData{
		Title: "Your account", CSRF: u.csrf.token(w, r), Account: a, Notice: accountNotices[notice], Error: msg,
	})
}

func (u *UI) accountDone(w http.ResponseWriter, r *http.Request, notice string) {
	http.Redirect(w, r, "/account?done="+notice, http.StatusSeeOther)
}

// accountPost runs the common checks of every account change.
func (u *UI) accountPost(w http.ResponseWriter, r *http.Request) (store.Session, store.User, bool) {
	if !u.parsePost(w, r) {
		return store.Session{}, store.User{}, false
	}
	sess, user, ok := u.accountSession(w, r)
	if !ok || !u.fresh(w, r, sess, user) {
		return sess, user, false
	}
	return sess, user, true
}

func (u *UI) audit(r *http.Request, user store.User, action, outcome string, details map[string]string) {
	u.d.Audit.Record(r.Context(), audit.Event{
		Actor: user.UserName, Action: action, Target: user.ID, Outcome: outcome,
		SourceIP: u.d.ClientIP(r), Details: details,
	})
}

func (u *UI) accountPassword(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountPost(w, r)
	if !ok {
		return
	}
	cur, next, confirm := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	if next != confirm {
		u.renderAccount(w, r, sess, user, "", "The two new passwords do not match.", http.StatusBadRequest)
		return
	}
	// The current password goes through the same regulated check as a sign-in.
	if _, _, err := u.d.Auth.Authenticate(r.Context(), user.UserName, cur, u.d.ClientIP(r)); err != nil {
		u.renderAccount(w, r, sess, user, "", "The current password is incorrect, or too many attempts were made.", http.StatusUnauthorized)
		return
	}
	if err := u.d.Auth.SetPassword(r.Context(), user.ID, next, false); err != nil {
		var pe *directory.PolicyError
		if errors.As(err, &pe) {
			u.renderAccount(w, r, sess, user, "", pe.Error(), http.StatusBadRequest)
			return
		}
		u.fail(w, r, "set password", err)
		return
	}
	u.accountDone(w, r, "password")
}

func (u *UI) factorMethod(w http.ResponseWriter, r *http.Request, sess store.Session, user store.User) (mfa.Method, bool) {
	typ := r.PostFormValue("type")
	m, ok := u.d.MFA.Method(typ)
	if !ok || typ == mfa.TypeRecovery {
		u.renderAccount(w, r, sess, user, "", "Unknown factor type.", http.StatusBadRequest)
		return nil, false
	}
	return m, true
}

func (u *UI) accountRename(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountPost(w, r)
	if !ok {
		return
	}
	m, ok := u.factorMethod(w, r, sess, user)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 64 {
		u.renderAccount(w, r, sess, user, "", "A name of 1 to 64 characters is needed.", http.StatusBadRequest)
		return
	}
	if err := m.Rename(r.Context(), user.ID, r.PostFormValue("id"), name); err != nil {
		u.renderAccount(w, r, sess, user, "", "That factor could not be renamed.", http.StatusBadRequest)
		return
	}
	u.accountDone(w, r, "renamed")
}

func (u *UI) accountRemove(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountPost(w, r)
	if !ok {
		return
	}
	m, ok := u.factorMethod(w, r, sess, user)
	if !ok {
		return
	}
	factors, err := u.d.MFA.Factors(r.Context(), user.ID)
	if err != nil {
		u.fail(w, r, "list second factors", err)
		return
	}
	real := 0
	for _, f := range factors {
		if f.Type != mfa.TypeRecovery {
			real++
		}
	}
	req, err := u.requirement(r.Context(), user, "")
	if err != nil {
		u.fail(w, r, "mfa policy", err)
		return
	}
	if real <= 1 && req.MFA {
		u.renderAccount(w, r, sess, user, "", "This is your last second factor and your account requires one. Add another before removing it.", http.StatusConflict)
		return
	}
	id := r.PostFormValue("id")
	if err := m.Remove(r.Context(), user.ID, id); err != nil {
		u.renderAccount(w, r, sess, user, "", "That factor could not be removed.", http.StatusBadRequest)
		return
	}
	u.audit(r, user, "mfa.remove", audit.Success, map[string]string{"type": m.Type(), "factor": id})
	u.accountDone(w, r, "removed")
}

func (u *UI) accountTOTPPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountSession(w, r)
	if !ok || !u.fresh(w, r, sess, user) {
		return
	}
	m, ok := u.totpMethod(w)
	if !ok {
		return
	}
	e, err := m.BeginEnroll(r.Context(), user, "Authenticator app")
	if err != nil {
		u.fail(w, r, "begin TOTP enrollment", err)
		return
	}
	u.renderTOTPEnroll(w, r, "/account/totp", "", e, "", http.StatusOK)
}

func (u *UI) accountTOTPPost(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountPost(w, r)
	if !ok {
		return
	}
	m, ok := u.totpMethod(w)
	if !ok {
		return
	}
	f, err := m.FinishEnroll(r.Context(), user, r.PostFormValue("enrollment_id"), []byte(r.PostFormValue("code")))
	if err != nil {
		u.renderAccount(w, r, sess, user, "", "That code did not match, or the set-up took too long. Start again.", http.StatusBadRequest)
		return
	}
	u.audit(r, user, "mfa.enroll", audit.Success, map[string]string{"type": f.Type, "factor": f.ID})
	u.afterAccountEnroll(w, r, user, "totp")
}

// afterAccountEnroll shows a first set of recovery codes when the user has none.
func (u *UI) afterAccountEnroll(w http.ResponseWriter, r *http.Request, user store.User, notice string) {
	codes, err := u.firstRecoveryCodes(r, user.ID)
	if err != nil {
		u.fail(w, r, "recovery codes", err)
		return
	}
	if len(codes) > 0 {
		u.render(w, http.StatusOK, "recovery.html", pageData{Title: "Save your recovery codes", RecoveryCodes: codes, Continue: "/account?done=" + notice})
		return
	}
	u.accountDone(w, r, notice)
}

func (u *UI) accountWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	sess, ok := u.d.Sessions.FromRequest(r)
	if !ok {
		jsonError(w, http.StatusUnauthorized, "Sign in again.")
		return
	}
	user, err := u.d.Users.GetUser(r.Context(), sess.UserID)
	if err != nil || !u.freshJSON(w, r, sess, user) {
		return
	}
	u.beginWebAuthnEnroll(w, r, user, strings.TrimSpace(req.Name))
}

// freshJSON is fresh for script calls: the page reloads into the re-check.
func (u *UI) freshJSON(w http.ResponseWriter, r *http.Request, sess store.Session, user store.User) bool {
	enrolled, err := u.d.MFA.Enrolled(r.Context(), user.ID)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "Try again.")
		return false
	}
	now := u.d.Now()
	if (enrolled && (sess.MFAAt.IsZero() || now.Sub(sess.MFAAt) > u.d.Policy.StepUpMaxAge)) ||
		(!enrolled && now.Sub(sess.AuthTime) > u.d.Policy.StepUpMaxAge) {
		jsonError(w, http.StatusUnauthorized, "Confirm it is you first: reload the page and sign in again.")
		return false
	}
	return true
}

func (u *UI) accountWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	sess, ok := u.d.Sessions.FromRequest(r)
	if !ok {
		jsonError(w, http.StatusUnauthorized, "Sign in again.")
		return
	}
	user, err := u.d.Users.GetUser(r.Context(), sess.UserID)
	if err != nil || !u.freshJSON(w, r, sess, user) {
		return
	}
	m, ok := u.webauthnMethod(w)
	if !ok {
		return
	}
	f, err := m.FinishEnroll(r.Context(), user, req.ChallengeID, req.Credential)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "The security key could not be registered. Try again.")
		return
	}
	u.audit(r, user, "mfa.enroll", audit.Success, map[string]string{"type": f.Type, "factor": f.ID})
	u.redirectAfterEnroll(w, r, user.ID, "/account?done=webauthn")
}

func (u *UI) accountRecovery(w http.ResponseWriter, r *http.Request) {
	_, user, ok := u.accountPost(w, r)
	if !ok {
		return
	}
	codes, err := u.d.Recovery.Generate(r.Context(), user.ID)
	if err != nil {
		u.fail(w, r, "generate recovery codes", err)
		return
	}
	u.audit(r, user, "mfa.recovery.generate", audit.Success, nil)
	u.render(w, http.StatusOK, "recovery.html", pageData{Title: "Your new recovery codes", RecoveryCodes: codes, Continue: "/account",
		Notice: "Your previous recovery codes no longer work."})
}

func (u *UI) accountRevokeSession(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := u.accountPost(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("id")
	sessions, err := u.d.Sessions.Store.ListUserSessions(r.Context(), user.ID, u.d.Now())
	if err != nil {
		u.fail(w, r, "list sessions", err)
		return
	}
	for _, s := range sessions {
		if s.ID == id {
			if err := u.d.Sessions.Store.RevokeSession(r.Context(), id); err != nil {
				u.fail(w, r, "revoke session", err)
				return
			}
			u.audit(r, user, "session.revoke", audit.Success, nil)
			if id == sess.ID {
				u.d.Sessions.Clear(w)
				http.Redirect(w, r, "/logged-out", http.StatusSeeOther)
				return
			}
			u.accountDone(w, r, "revoked")
			return
		}
	}
	// Only the user's own sessions can be named here.
	u.renderAccount(w, r, sess, user, "", "No such session.", http.StatusNotFound)
}

func (u *UI) accountSignOut(w http.ResponseWriter, r *http.Request) {
	if !u.parsePost(w, r) {
		return
	}
	if sess, ok := u.d.Sessions.FromRequest(r); ok {
		_ = u.d.Sessions.Store.RevokeSession(r.Context(), sess.ID)
	}
	u.d.Sessions.Clear(w)
	http.Redirect(w, r, "/logged-out", http.StatusSeeOther)
}
