package ui

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/login"
	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// secondFactorPage offers the user's enrolled factors.
func (u *UI) secondFactorPage(w http.ResponseWriter, r *http.Request, user store.User, p pending, msg string, status int) {
	factors, err := u.d.MFA.Factors(r.Context(), user.ID)
	if err != nil {
		u.fail(w, r, "list second factors", err)
		return
	}
	data := pageData{Title: "Second factor", CSRF: u.csrf.token(w, r), Ticket: u.ticket(r, p), UserName: user.UserName, Error: msg}
	for _, f := range factors {
		switch f.Type {
		case mfa.TypeTOTP:
			data.HasTOTP = true
		case mfa.TypeWebAuthn:
			data.HasWebAuthn = true
		case mfa.TypeRecovery:
			data.HasRecovery = true
		}
	}
	u.render(w, status, "mfa.html", data)
}

// verifyFailure turns a failed verification into the message the user sees: how long
// to wait when throttled, otherwise one message for every kind of wrong answer.
func verifyFailure(err error) string {
	var te *mfa.ThrottledError
	if errors.As(err, &te) {
		return te.Error() + "."
	}
	return "That did not verify. Check the code (or key) and try again; a code can be used only once."
}

func (u *UI) secondFactorPost(w http.ResponseWriter, r *http.Request) {
	if !u.parsePost(w, r) {
		return
	}
	p, user, ok := u.formTicketUser(w, r, r.PostFormValue("ticket"), stageSecondFactor)
	if !ok {
		return
	}
	typ := r.PostFormValue("method")
	if typ != mfa.TypeTOTP && typ != mfa.TypeRecovery {
		u.errorPage(w, http.StatusBadRequest, "Unknown second-factor method.")
		return
	}
	res, err := u.d.MFA.Verify(r.Context(), user, typ, "", []byte(r.PostFormValue("code")), u.d.ClientIP(r))
	if err != nil {
		u.d.OnLogin("mfa_failure")
		u.secondFactorPage(w, r, user, p, verifyFailure(err), http.StatusUnauthorized)
		return
	}
	u.d.OnLogin("mfa_success")
	p.AMR = login.CombineAMR(p.AMR, res.AMR)
	if typ == mfa.TypeRecovery {
		to, err := u.establish(w, r, user, p, true)
		if err != nil {
			u.fail(w, r, "finish sign-in", err)
			return
		}
		left, _ := u.d.Recovery.Remaining(r.Context(), user.ID)
		u.render(w, http.StatusOK, "notice.html", pageData{
			Title: "Recovery code used", Continue: to,
			Notice: "You signed in with a recovery code. It cannot be used again; " + strconv.Itoa(left) +
				" codes are left. Generate new ones from your account page if you are running low.",
		})
		return
	}
	u.finish(w, r, user, p, true)
}

// formTicketUser reads a page's ticket for stage and loads its user; false means an
// error page was sent.
func (u *UI) formTicketUser(w http.ResponseWriter, r *http.Request, ticket, stage string) (pending, store.User, bool) {
	p, ok := u.readTicket(r, ticket, stage)
	if !ok {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return p, store.User{}, false
	}
	user, err := u.d.Users.GetUser(r.Context(), p.UserID)
	if err != nil {
		u.errorPage(w, http.StatusBadRequest, invalidLink)
		return p, store.User{}, false
	}
	return p, user, true
}

func (u *UI) totpMethod(w http.ResponseWriter) (mfa.Method, bool) {
	m, ok := u.d.MFA.Method(mfa.TypeTOTP)
	if !ok {
		u.errorPage(w, http.StatusNotFound, "Authenticator apps are not enabled.")
	}
	return m, ok
}

// enrollPage asks a user who must have a second factor, and has none, to set one up.
func (u *UI) enrollPage(w http.ResponseWriter, r *http.Request, p pending, msg string) {
	u.render(w, http.StatusOK, "enroll.html", pageData{
		Title: "Set up a second factor", CSRF: u.csrf.token(w, r), Ticket: u.ticket(r, p), Error: msg,
	})
}

func (u *UI) enrollTOTPPage(w http.ResponseWriter, r *http.Request) {
	p, user, ok := u.formTicketUser(w, r, r.URL.Query().Get("ticket"), stageEnroll)
	if !ok {
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
	u.renderTOTPEnroll(w, r, "/login/enroll/totp", u.ticket(r, p), e, "", http.StatusOK)
}

func (u *UI) renderTOTPEnroll(w http.ResponseWriter, r *http.Request, action, ticket string, e mfa.Enrollment, msg string, status int) {
	u.render(w, status, "enroll_totp.html", pageData{
		Title: "Set up an authenticator app", CSRF: u.csrf.token(w, r), Ticket: ticket, Enrollment: e,
		// The QR code is rendered here, never by a third-party service: it encodes the secret.
		QRDataURL: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG)),
		Continue:  action, Error: msg,
	})
}

func (u *UI) enrollTOTPPost(w http.ResponseWriter, r *http.Request) {
	if !u.parsePost(w, r) {
		return
	}
	p, user, ok := u.formTicketUser(w, r, r.PostFormValue("ticket"), stageEnroll)
	if !ok {
		return
	}
	m, ok := u.totpMethod(w)
	if !ok {
		return
	}
	f, err := m.FinishEnroll(r.Context(), user, r.PostFormValue("enrollment_id"), []byte(r.PostFormValue("code")))
	if err != nil {
		if errors.Is(err, mfa.ErrExpired) {
			u.enrollPage(w, r, p, "The set-up took too long. Start again.")
			return
		}
		// Show the same secret again so the user can retry with a fresh code.
		e := mfa.Enrollment{ID: r.PostFormValue("enrollment_id"), Secret: r.PostFormValue("secret"), URI: r.PostFormValue("uri")}
		u.render(w, http.StatusBadRequest, "enroll.html", pageData{
			Title: "Set up a second factor", CSRF: u.csrf.token(w, r), Ticket: r.PostFormValue("ticket"),
			Error: "That code did not match. Start the set-up again and enter the current code.", Enrollment: e,
		})
		return
	}
	u.enrolled(w, r, user, p, f, []string{"otp"})
}

// enrolled finishes a sign-in whose second factor was set up just now: the new factor
// counts as the second factor, and a first set of recovery codes is shown once.
func (u *UI) enrolled(w http.ResponseWriter, r *http.Request, user store.User, p pending, f mfa.Factor, amr []string) {
	u.audit(r, user, "mfa.enroll", audit.Success, map[string]string{"type": f.Type, "factor": f.ID})
	p.AMR = login.CombineAMR(p.AMR, amr)
	to, err := u.establish(w, r, user, p, true)
	if err != nil {
		u.fail(w, r, "finish sign-in", err)
		return
	}
	codes, err := u.firstRecoveryCodes(r, user.ID)
	if err != nil {
		u.fail(w, r, "recovery codes", err)
		return
	}
	if len(codes) == 0 {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	u.render(w, http.StatusOK, "recovery.html", pageData{Title: "Save your recovery codes", RecoveryCodes: codes, Continue: to})
}

// firstRecoveryCodes generates codes when the user has none left.
func (u *UI) firstRecoveryCodes(r *http.Request, userID string) ([]string, error) {
	n, err := u.d.Recovery.Remaining(r.Context(), userID)
	if err != nil || n > 0 {
		return nil, err
	}
	return u.d.Recovery.Generate(r.Context(), userID)
}

// --- WebAuthn JSON endpoints (see static/webauthn.js for the browser side) ---

type webauthnBegin struct {
	ChallengeID string          `json:"challenge_id"`
	Options     json.RawMessage `json:"options"`
}

type webauthnRequest struct {
	Ticket        string          `json:"ticket"`
	AuthRequestID string          `json:"authRequestID"`
	Return        string          `json:"return"`
	ChallengeID   string          `json:"challenge_id"`
	Credential    json.RawMessage `json:"credential"`
	Name          string          `json:"name"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// readJSON decodes a JSON post and checks its CSRF token (header X-CSRF-Token).
func (u *UI) readJSON(w http.ResponseWriter, r *http.Request) (webauthnRequest, bool) {
	var req webauthnRequest
	if !u.csrf.validHeader(r) {
		jsonError(w, http.StatusForbidden, "The page expired. Reload it and try again.")
		return req, false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxForm))
	if err := dec.Decode(&req); err != nil {
		jsonError(w, http.StatusBadRequest, "The request could not be read.")
		return req, false
	}
	return req, true
}

func (u *UI) webauthnMethod(w http.ResponseWriter) (mfa.Method, bool) {
	m, ok := u.d.MFA.Method(mfa.TypeWebAuthn)
	if !ok {
		jsonError(w, http.StatusNotFound, "Security keys are not enabled.")
	}
	return m, ok
}

func (u *UI) ticketUser(w http.ResponseWriter, r *http.Request, ticket string, stage string) (pending, store.User, bool) {
	p, ok := u.readTicket(r, ticket, stage)
	if !ok {
		jsonError(w, http.StatusBadRequest, invalidLink)
		return p, store.User{}, false
	}
	user, err := u.d.Users.GetUser(r.Context(), p.UserID)
	if err != nil {
		jsonError(w, http.StatusBadRequest, invalidLink)
		return p, store.User{}, false
	}
	return p, user, true
}

func (u *UI) webauthnVerifyBegin(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	_, user, ok := u.ticketUser(w, r, req.Ticket, stageSecondFactor)
	if !ok {
		return
	}
	m, ok := u.webauthnMethod(w)
	if !ok {
		return
	}
	c, err := m.BeginVerify(r.Context(), user)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "No security key is registered for this account.")
		return
	}
	writeJSON(w, http.StatusOK, webauthnBegin{ChallengeID: c.ID, Options: c.Options})
}

func (u *UI) webauthnVerifyFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	p, user, ok := u.ticketUser(w, r, req.Ticket, stageSecondFactor)
	if !ok {
		return
	}
	res, err := u.d.MFA.Verify(r.Context(), user, mfa.TypeWebAuthn, req.ChallengeID, req.Credential, u.d.ClientIP(r))
	if err != nil {
		u.d.OnLogin("mfa_failure")
		jsonError(w, http.StatusUnauthorized, verifyFailure(err))
		return
	}
	u.d.OnLogin("mfa_success")
	p.AMR = login.CombineAMR(p.AMR, res.AMR)
	to, err := u.establish(w, r, user, p, true)
	if err != nil {
		u.d.Log.ErrorContext(r.Context(), "finish sign-in", "err", err)
		jsonError(w, http.StatusInternalServerError, "Signing in failed. Try again.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
}

func (u *UI) enrollWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	_, user, ok := u.ticketUser(w, r, req.Ticket, stageEnroll)
	if !ok {
		return
	}
	u.beginWebAuthnEnroll(w, r, user, req.Name)
}

func (u *UI) beginWebAuthnEnroll(w http.ResponseWriter, r *http.Request, user store.User, name string) {
	m, ok := u.webauthnMethod(w)
	if !ok {
		return
	}
	if name == "" {
		name = "Security key"
	}
	e, err := m.BeginEnroll(r.Context(), user, name)
	if err != nil {
		u.d.Log.ErrorContext(r.Context(), "begin webauthn enrollment", "err", err)
		jsonError(w, http.StatusInternalServerError, "The security key set-up could not start.")
		return
	}
	writeJSON(w, http.StatusOK, webauthnBegin{ChallengeID: e.ID, Options: e.Options})
}

// recoveryView is what the recovery-codes page shows after a JSON enrollment.
type recoveryView struct {
	codes []string
	next  string
}

func (u *UI) enrollWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	p, user, ok := u.ticketUser(w, r, req.Ticket, stageEnroll)
	if !ok {
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
	p.AMR = login.CombineAMR(p.AMR, []string{"hwk"})
	to, err := u.establish(w, r, user, p, true)
	if err != nil {
		u.d.Log.ErrorContext(r.Context(), "finish sign-in", "err", err)
		jsonError(w, http.StatusInternalServerError, "Signing in failed. Try again.")
		return
	}
	u.redirectAfterEnroll(w, r, user.ID, to)
}

// redirectAfterEnroll answers a script-driven enrollment: to the page that shows a first
// set of recovery codes once (when the user had none), then on to next.
func (u *UI) redirectAfterEnroll(w http.ResponseWriter, r *http.Request, userID, next string) {
	to := next
	if codes, err := u.firstRecoveryCodes(r, userID); err == nil && len(codes) > 0 {
		if id, err := u.recoveryViews.Put(recoveryView{codes: codes, next: next}); err == nil {
			to = "/login/recovery-codes?id=" + id
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
}

// recoveryCodesPage shows codes generated during a JSON enrollment, exactly once.
func (u *UI) recoveryCodesPage(w http.ResponseWriter, r *http.Request) {
	v, ok := u.recoveryViews.Take(r.URL.Query().Get("id"))
	if !ok {
		u.errorPage(w, http.StatusNotFound, "These recovery codes were already shown. Generate new ones from your account page if you did not save them.")
		return
	}
	u.render(w, http.StatusOK, "recovery.html", pageData{Title: "Save your recovery codes", RecoveryCodes: v.codes, Continue: v.next})
}

// --- passkeys: user-name-less sign-in ---

func (u *UI) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	if _, ok := u.readJSON(w, r); !ok {
		return
	}
	m, ok := u.webauthnMethod(w)
	if !ok {
		return
	}
	d, ok := m.(mfa.Discoverable)
	if !ok {
		jsonError(w, http.StatusNotFound, "Passkeys are not enabled.")
		return
	}
	c, err := d.BeginDiscoverable(r.Context())
	if err != nil {
		u.d.Log.ErrorContext(r.Context(), "begin passkey sign-in", "err", err)
		jsonError(w, http.StatusInternalServerError, "Passkey sign-in could not start.")
		return
	}
	writeJSON(w, http.StatusOK, webauthnBegin{ChallengeID: c.ID, Options: c.Options})
}

func (u *UI) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := u.readJSON(w, r)
	if !ok {
		return
	}
	p := pending{Return: "account"}
	if req.AuthRequestID != "" {
		if _, _, err := u.d.Provider.AuthRequest(r.Context(), req.AuthRequestID); err != nil {
			jsonError(w, http.StatusBadRequest, invalidLink)
			return
		}
		p = pending{AuthReq: req.AuthRequestID}
	}
	user, res, err := u.d.MFA.VerifyDiscoverable(r.Context(), mfa.TypeWebAuthn, req.ChallengeID, req.Credential, u.d.ClientIP(r))
	if err != nil {
		u.d.OnLogin("failure")
		jsonError(w, http.StatusUnauthorized, verifyFailure(err))
		return
	}
	if !res.UserVerified {
		// Possession alone is one factor; a password-less sign-in needs the
		// authenticator to have verified the user too.
		u.d.OnLogin("failure")
		jsonError(w, http.StatusUnauthorized, "This passkey did not verify you (PIN or biometrics). Sign in with your password instead.")
		return
	}
	u.d.OnLogin("success")
	p.UserID, p.AMR = user.ID, login.PasskeyAMR(res.AMR, true)
	to, err := u.establish(w, r, user, p, true)
	if errors.Is(err, errAuthRequestGone) {
		jsonError(w, http.StatusBadRequest, invalidLink)
		return
	}
	if err != nil {
		u.d.Log.ErrorContext(r.Context(), "finish passkey sign-in", "err", err)
		jsonError(w, http.StatusInternalServerError, "Signing in failed. Try again.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
}
