package webauthn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// Type implements mfa.Method.
func (w *WebAuthn) Type() string { return mfa.TypeWebAuthn }

// BeginEnroll starts registering a credential named name for u. Enrollment.Options is
// the PublicKeyCredentialCreationOptions JSON for PublicKeyCredential.
// parseCreationOptionsFromJSON. The user's existing credentials are excluded, so an
// authenticator is not registered twice; a resident key is preferred and the credProps
// extension asks the browser whether one was made. An empty name is replaced at the end
// by "Passkey" or "Security key".
func (w *WebAuthn) BeginEnroll(ctx context.Context, u store.User, name string) (mfa.Enrollment, error) {
	if err := checkUserHandle(u); err != nil {
		return mfa.Enrollment{}, err
	}
	name, err := cleanName(name)
	if err != nil {
		return mfa.Enrollment{}, err
	}
	recs, err := w.records(ctx, u.ID)
	if err != nil {
		return mfa.Enrollment{}, err
	}
	wu := newWAUser(u, recs)
	creation, session, err := w.rp.BeginRegistration(wu,
		gowebauthn.WithExclusions(gowebauthn.Credentials(wu.creds).CredentialDescriptors()),
		gowebauthn.WithExtensions(gowebauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return mfa.Enrollment{}, fmt.Errorf("webauthn: begin registration for user %q: %w", u.ID, err)
	}
	options, err := json.Marshal(creation.Response)
	if err != nil {
		return mfa.Enrollment{}, fmt.Errorf("webauthn: encode creation options: %w", err)
	}
	id, err := w.enrolls.Put(enrollState{userID: u.ID, name: name, session: *session})
	if err != nil {
		return mfa.Enrollment{}, fmt.Errorf("webauthn: hold registration challenge: %w", err)
	}
	return mfa.Enrollment{ID: id, Options: options}, nil
}

// FinishEnroll verifies the browser's attestation (credential.toJSON()) and stores the
// credential. The challenge is spent whatever the outcome.
func (w *WebAuthn) FinishEnroll(ctx context.Context, u store.User, enrollmentID string, response []byte) (mfa.Factor, error) {
	// Peek first: another user's id must not burn this one's challenge.
	if p, ok := w.enrolls.Peek(enrollmentID); !ok || p.userID != u.ID {
		return mfa.Factor{}, fmt.Errorf("webauthn: finish registration: %w", mfa.ErrExpired)
	}
	pending, ok := w.enrolls.Take(enrollmentID)
	if !ok {
		return mfa.Factor{}, fmt.Errorf("webauthn: finish registration: %w", mfa.ErrExpired)
	}
	if len(response) > maxResponse {
		return mfa.Factor{}, refused(mfa.ErrInvalid, "finish registration: response too large", nil)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return mfa.Factor{}, refused(mfa.ErrInvalid, "finish registration: parse attestation", err)
	}
	recs, err := w.records(ctx, u.ID)
	if err != nil {
		return mfa.Factor{}, err
	}
	cred, err := w.rp.CreateCredential(newWAUser(u, recs), pending.session, parsed)
	if err != nil {
		return mfa.Factor{}, refused(mfa.ErrInvalid, "finish registration: verify attestation", err)
	}
	if len(cred.ID) > maxCredentialID {
		return mfa.Factor{}, refused(mfa.ErrInvalid, fmt.Sprintf("finish registration: credential id of %d bytes", len(cred.ID)), nil)
	}
	if err := w.checkAAGUID(cred.Authenticator.AAGUID); err != nil {
		return mfa.Factor{}, refused(mfa.ErrInvalid, "finish registration", err)
	}
	id := credentialID(cred.ID)
	if slices.ContainsFunc(recs, func(r record) bool { return r.stored.ID == id }) {
		// The exclude list should have stopped the browser; a client that ignores it
		// must not overwrite (and so reset the counter of) a registered credential.
		return mfa.Factor{}, refused(mfa.ErrInvalid, "finish registration: credential already registered", nil)
	}
	passkey := discoverable(parsed, cred)
	name := pending.name
	if name == "" {
		name = "Security key"
		if passkey {
			name = "Passkey"
		}
	}
	secret, err := json.Marshal(cred)
	if err != nil {
		return mfa.Factor{}, fmt.Errorf("webauthn: encode credential: %w", err)
	}
	stored, err := w.st.PutCredential(ctx, store.Credential{
		UserID: u.ID, Type: mfa.TypeWebAuthn, ID: id, Secret: secret,
		Data: map[string]string{dataName: name, dataPasskey: fmt.Sprint(passkey)},
	})
	if err != nil {
		return mfa.Factor{}, fmt.Errorf("webauthn: store credential %s of user %q: %w", id, u.ID, err)
	}
	return factorOf(stored), nil
}

// discoverable reports whether the new credential is a client-side discoverable one.
// The credProps extension answers when the browser reports it (WebAuthn L2 §10.4);
// otherwise a backup-eligible credential is taken as a passkey, since synced credential
// providers only make discoverable credentials. A security key without credProps counts
// as not discoverable, which only costs it the passkey badge.
func discoverable(parsed *protocol.ParsedCredentialCreationData, cred *gowebauthn.Credential) bool {
	if cp := parsed.ClientExtensionResults.CredProps; cp != nil && cp.RK != nil {
		return *cp.RK
	}
	if cred.Extensions.RK != nil {
		return *cred.Extensions.RK
	}
	return cred.Flags.BackupEligible
}

// checkAAGUID applies Options.AllowedAAGUIDs. Unlike go-webauthn's filter it does not
// let the all-zero AAGUID through: an undisclosed model is not an allowed one.
func (w *WebAuthn) checkAAGUID(raw []byte) error {
	if len(w.aaguids) == 0 {
		return nil
	}
	id, err := uuid.FromBytes(raw)
	if err != nil {
		return fmt.Errorf("authenticator AAGUID of %d bytes", len(raw))
	}
	if !slices.Contains(w.aaguids, id) { // never the all-zero one: New refuses to list it
		return fmt.Errorf("authenticator AAGUID %s not allowed", id)
	}
	return nil
}
