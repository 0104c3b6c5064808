package webauthn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// BeginVerify implements mfa.Method: request options (PublicKeyCredentialRequestOptions
// JSON) listing the user's credentials, with user verification per Options.
func (w *WebAuthn) BeginVerify(ctx context.Context, u store.User) (mfa.Challenge, error) {
	if err := checkUserHandle(u); err != nil {
		return mfa.Challenge{}, err
	}
	recs, err := w.records(ctx, u.ID)
	if err != nil {
		return mfa.Challenge{}, err
	}
	if len(recs) == 0 {
		return mfa.Challenge{}, fmt.Errorf("webauthn: begin verification for user %q: %w", u.ID, mfa.ErrNotEnrolled)
	}
	assertion, session, err := w.rp.BeginLogin(newWAUser(u, recs), gowebauthn.WithUserVerification(w.uv))
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: begin verification for user %q: %w", u.ID, err)
	}
	options, err := json.Marshal(assertion.Response)
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: encode request options: %w", err)
	}
	id, err := w.verifies.Put(verifyState{userID: u.ID, session: *session})
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: hold verification challenge: %w", err)
	}
	return mfa.Challenge{ID: id, Options: options}, nil
}

// FinishVerify implements mfa.Method with the browser's assertion
// (credential.toJSON()). The challenge is spent whatever the outcome. On a sign-count
// regression the error is mfa.ErrInvalid and the returned Result carries FactorID and
// Warning for the audit trail.
func (w *WebAuthn) FinishVerify(ctx context.Context, u store.User, challengeID string, response []byte) (mfa.Result, error) {
	// Peek first: another user's id must not burn this one's challenge.
	if p, ok := w.verifies.Peek(challengeID); !ok || p.userID != u.ID {
		return mfa.Result{}, fmt.Errorf("webauthn: finish verification: %w", mfa.ErrExpired)
	}
	pending, ok := w.verifies.Take(challengeID)
	if !ok {
		return mfa.Result{}, fmt.Errorf("webauthn: finish verification: %w", mfa.ErrExpired)
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return mfa.Result{}, err
	}
	return w.assert(ctx, u, pending.session, parsed, false)
}

// BeginDiscoverable implements mfa.Discoverable: request options without
// allowCredentials (the browser offers every passkey it holds for the RP ID), with user
// verification required, since the passkey is the whole sign-in.
func (w *WebAuthn) BeginDiscoverable(ctx context.Context) (mfa.Challenge, error) {
	if err := ctx.Err(); err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: begin passkey sign-in: %w", err)
	}
	assertion, session, err := w.rp.BeginDiscoverableLogin(gowebauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: begin passkey sign-in: %w", err)
	}
	options, err := json.Marshal(assertion.Response)
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: encode request options: %w", err)
	}
	id, err := w.passkeys.Put(*session)
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("webauthn: hold passkey challenge: %w", err)
	}
	return mfa.Challenge{ID: id, Options: options}, nil
}

// FinishDiscoverable implements mfa.Discoverable: the user comes from the assertion's
// user handle, and the credential must be one of theirs. Unknown users, unknown or
// removed credentials and inactive users are all refused with mfa.ErrInvalid.
func (w *WebAuthn) FinishDiscoverable(ctx context.Context, challengeID string, response []byte) (store.User, mfa.Result, error) {
	session, ok := w.passkeys.Take(challengeID)
	if !ok {
		return store.User{}, mfa.Result{}, fmt.Errorf("webauthn: finish passkey sign-in: %w", mfa.ErrExpired)
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return store.User{}, mfa.Result{}, err
	}
	handle := parsed.Response.UserHandle
	// WebAuthn L2 §7.2 step 6: a discoverable sign-in identifies the user by the handle.
	if len(handle) == 0 || len(handle) > 64 {
		return store.User{}, mfa.Result{}, refused(mfa.ErrInvalid, "finish passkey sign-in: no usable user handle", nil)
	}
	u, err := w.st.GetUser(ctx, string(handle))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, mfa.Result{}, refused(mfa.ErrInvalid, "finish passkey sign-in: user handle names no user", nil)
	}
	if err != nil {
		return store.User{}, mfa.Result{}, fmt.Errorf("webauthn: finish passkey sign-in: get user: %w", err)
	}
	res, err := w.assert(ctx, u, session, parsed, true)
	if err != nil {
		return store.User{}, res, err
	}
	// Checked after the signature so that only the holder of the passkey learns anything.
	if !u.Active {
		return store.User{}, mfa.Result{}, refused(mfa.ErrInvalid, fmt.Sprintf("finish passkey sign-in: user %q is inactive", u.ID), nil)
	}
	return u, res, nil
}

func parseAssertion(response []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(response) > maxResponse {
		return nil, refused(mfa.ErrInvalid, "assertion too large", nil)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused(mfa.ErrInvalid, "parse assertion", err)
	}
	return parsed, nil
}

// assert checks an assertion for u's credential and records its use.
func (w *WebAuthn) assert(ctx context.Context, u store.User, session gowebauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData, passkey bool) (mfa.Result, error) {
	recs, err := w.records(ctx, u.ID)
	if err != nil {
		return mfa.Result{}, err
	}
	id := credentialID(parsed.RawID)
	var rec *record
	for i := range recs {
		if recs[i].stored.ID == id {
			rec = &recs[i]
			break
		}
	}
	if rec == nil {
		return mfa.Result{}, refused(mfa.ErrInvalid, fmt.Sprintf("credential %s is not registered to user %q", id, u.ID), nil)
	}
	wu := newWAUser(u, recs)
	var cred *gowebauthn.Credential
	if passkey {
		_, cred, err = w.rp.ValidatePasskeyLogin(func(_, handle []byte) (gowebauthn.User, error) {
			if !bytes.Equal(handle, wu.WebAuthnID()) {
				return nil, errors.New("user handle changed")
			}
			return wu, nil
		}, session, parsed)
	} else {
		cred, err = w.rp.ValidateLogin(wu, session, parsed)
	}
	if err != nil {
		return mfa.Result{}, refused(mfa.ErrInvalid, fmt.Sprintf("assertion for credential %s of user %q", id, u.ID), err)
	}
	now := w.now().UTC()
	if cred.Authenticator.CloneWarning {
		return w.cloneWarning(ctx, rec, parsed.Response.AuthenticatorData.Counter, now)
	}
	secret, err := json.Marshal(cred)
	if err != nil {
		return mfa.Result{}, fmt.Errorf("webauthn: encode credential: %w", err)
	}
	next := rec.stored
	next.Secret = secret
	next.Data = copyData(rec.stored.Data)
	next.Data[dataLastUsed] = now.Format(time.RFC3339)
	// next.Version is the one read above: a concurrent use of this credential has moved
	// it on, and exactly one of the two wins.
	if _, err := w.st.PutCredential(ctx, next); errors.Is(err, store.ErrConflict) {
		return mfa.Result{}, refused(mfa.ErrReplay, fmt.Sprintf("credential %s of user %q used concurrently", id, u.ID), nil)
	} else if err != nil {
		return mfa.Result{}, fmt.Errorf("webauthn: record use of credential %s of user %q: %w", id, u.ID, err)
	}
	uv := parsed.Response.AuthenticatorData.Flags.HasUserVerified()
	// RFC 8176 §2: "hwk" for the hardware-bound key; "user" only when the authenticator
	// verified the user as well.
	amr := []string{"hwk"}
	if uv {
		amr = append(amr, "user")
	}
	return mfa.Result{FactorID: id, AMR: amr, UserVerified: uv}, nil
}

// cloneWarning refuses an assertion whose sign count did not increase (WebAuthn L2
// §6.1.1): two authenticators may hold the same key. The stored counter is kept, the
// record is marked, and the Result tells the caller what to audit.
func (w *WebAuthn) cloneWarning(ctx context.Context, rec *record, got uint32, now time.Time) (mfa.Result, error) {
	warning := fmt.Sprintf("sign count of credential %s of user %s went from %d to %d: possibly a cloned authenticator",
		rec.stored.ID, rec.stored.UserID, rec.cred.Authenticator.SignCount, got)
	next := rec.stored
	next.Data = copyData(rec.stored.Data)
	next.Data[dataCloneWarning] = now.Format(time.RFC3339)
	if _, err := w.st.PutCredential(ctx, next); err != nil && !errors.Is(err, store.ErrConflict) {
		warning += fmt.Sprintf(" (marking the credential failed: %v)", err)
	}
	return mfa.Result{FactorID: rec.stored.ID, Warning: warning},
		refused(mfa.ErrInvalid, fmt.Sprintf("credential %s of user %q", rec.stored.ID, rec.stored.UserID), errors.New(warning))
}
