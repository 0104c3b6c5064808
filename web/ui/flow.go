package ui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/login"
	"github.com/portcullis-id/portcullis/store"
)

// Ticket purposes: what the browser holding the ticket still has to do.
const (
	stagePasswordChange = "pwchange" // the password must be changed
	stageSecondFactor   = "mfa"      // an enrolled second factor must be verified
	stageEnroll         = "enroll"   // a second factor is required but none is enrolled
)

// pending is the state of a sign-in between its steps. It travels in a form field,
// MACed with a server key and bound to this browser's CSRF cookie, so it can be neither
// forged nor carried to another browser, and it expires quickly.
type pending struct {
	Stage   string   `json:"p"`
	UserID  string   `json:"u"`
	AuthReq string   `json:"a,omitempty"` // the OIDC auth request to complete, or
	Return  string   `json:"r,omitempty"` // "account": back to the account page
	AMR     []string `json:"m,omitempty"` // methods proved so far
	Session string   `json:"s,omitempty"` // step-up of this existing session
	Exp     int64    `json:"e"`
}

const ticketLifetime = 10 * time.Minute

var errAuthRequestGone = errors.New("the authorization request is unknown, expired or already completed")

func (u *UI) ticket(r *http.Request, p pending) string {
	p.Exp = u.d.Now().Add(ticketLifetime).Unix()
	raw, _ := json.Marshal(p)
	enc := base64.RawURLEncoding.EncodeToString(raw)
	return enc + "." + u.ticketMAC(r, enc)
}

func (u *UI) ticketMAC(r *http.Request, enc string) string {
	m := hmac.New(sha256.New, u.d.Key)
	m.Write([]byte("ticket|"))
	if ck, err := r.Cookie(u.csrf.cookieName()); err == nil {
		m.Write([]byte(ck.Value))
	}
	m.Write([]byte("|"))
	m.Write([]byte(enc))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readTicket returns the pending sign-in of the posted ticket if it is genuine, meant
// for this browser, at the expected stage and not expired.
func (u *UI) readTicket(r *http.Request, t string, stages ...string) (pending, bool) {
	enc, sig, ok := strings.Cut(t, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(u.ticketMAC(r, enc))) {
		return pending{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return pending{}, false
	}
	var p pending
	if err := json.Unmarshal(raw, &p); err != nil || u.d.Now().Unix() > p.Exp {
		return pending{}, false
	}
	for _, s := range stages {
		if p.Stage == s {
			return p, true
		}
	}
	return pending{}, false
}

// afterFirstFactor decides what follows a verified password: a forced password change,
// the second factor, enrollment of one, or the end of the sign-in.
func (u *UI) afterFirstFactor(w http.ResponseWriter, r *http.Request, user store.User, p pending, mustChange bool) {
	if mustChange {
		p.Stage = stagePasswordChange
		u.render(w, http.StatusOK, "password.html", pageData{
			Title: "Choose a new password", CSRF: u.csrf.token(w, r), Ticket: u.ticket(r, p), UserName: user.UserName,
		})
		return
	}
	enrolled, err := u.d.MFA.Enrolled(r.Context(), user.ID)
	if err != nil {
		u.fail(w, r, "list second factors", err)
		return
	}
	if enrolled {
		p.Stage = stageSecondFactor
		u.secondFactorPage(w, r, user, p, "", http.StatusOK)
		return
	}
	req, err := u.requirement(r.Context(), user, p.AuthReq)
	if err != nil {
		u.fail(w, r, "mfa policy", err)
		return
	}
	if req.MFA {
		p.Stage = stageEnroll
		u.enrollPage(w, r, p, "")
		return
	}
	u.finish(w, r, user, p, false)
}

// requirement applies the MFA policy to user signing in for the auth request (if any).
func (u *UI) requirement(ctx context.Context, user store.User, authReq string) (login.Requirement, error) {
	groups, err := u.d.Groups(ctx, user.ID)
	if err != nil {
		return login.Requirement{}, err
	}
	var client store.Client
	var acr []string
	if authReq != "" {
		ar, c, err := u.d.Provider.AuthRequest(ctx, authReq)
		if err == nil {
			client, acr = c, ar.ACRValues
		}
	}
	return u.d.Policy.Require(user, groups, client, acr), nil
}

// finish ends a sign-in: it starts (or steps up) the browser session and sends the
// browser on to the client or the account page. withMFA says a second factor was just
// verified.
func (u *UI) finish(w http.ResponseWriter, r *http.Request, user store.User, p pending, withMFA bool) {
	to, err := u.establish(w, r, user, p, withMFA)
	if err != nil {
		u.fail(w, r, "finish sign-in", err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// establish creates or steps up the session and returns where the browser goes next.
func (u *UI) establish(w http.ResponseWriter, r *http.Request, user store.User, p pending, withMFA bool) (string, error) {
	ctx := r.Context()
	now := u.d.Now()
	if p.AuthReq != "" {
		// A request another tab (or a racing passkey prompt) already completed must not
		// start a second session that would then disown the first one's code.
		ar, _, err := u.d.Provider.AuthRequest(ctx, p.AuthReq)
		if err != nil || ar.Done {
			return "", errAuthRequestGone
		}
	}
	var sess store.Session
	if p.Session != "" {
		cur, ok := u.d.Sessions.FromRequest(r)
		if !ok || cur.ID != p.Session || cur.UserID != user.ID {
			return "", errors.New("step-up of a session that is no longer this browser's")
		}
		sess = cur
		sess.AMR = login.CombineAMR(sess.AMR, p.AMR)
		if withMFA {
			sess.MFAAt = now
		}
		sess.ACR = login.ACR(sess.AMR)
		if err := u.d.Sessions.Store.UpdateSession(ctx, sess); err != nil {
			return "", err
		}
	} else {
		var mfaAt time.Time
		if withMFA {
			mfaAt = now
		}
		var err error
		sess, err = u.d.Sessions.Start(w, r, user.ID, p.AMR, mfaAt, login.ACR(p.AMR), u.d.ClientIP(r))
		if err != nil {
			return "", err
		}
		u.touchLastLogin(ctx, user.ID, now)
	}
	u.d.Audit.Record(ctx, audit.Event{
		Actor: user.UserName, Action: "login.session", Target: user.ID, Outcome: audit.Success,
		SourceIP: u.d.ClientIP(r), Details: map[string]string{"amr": strings.Join(sess.AMR, " "), "acr": sess.ACR},
	})
	if p.AuthReq != "" {
		return u.d.Provider.CompleteAuthRequest(ctx, r, p.AuthReq, sess)
	}
	return "/account", nil
}

// touchLastLogin records the sign-in time for the credential report. It is best effort:
// a lost race with an admin edit must not fail the sign-in.
func (u *UI) touchLastLogin(ctx context.Context, userID string, now time.Time) {
	for range 3 {
		cur, err := u.d.Users.GetUser(ctx, userID)
		if err != nil {
			return
		}
		cur.LastLoginAt = now
		if _, err := u.d.Users.UpdateUser(ctx, cur); !errors.Is(err, store.ErrConflict) {
			return
		}
	}
}

func (u *UI) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	u.d.Log.ErrorContext(r.Context(), what, "err", err, "request_id", audit.RequestIDFrom(r.Context()))
	u.errorPage(w, http.StatusInternalServerError, "Signing in failed. Go back to the application and try again.")
}
