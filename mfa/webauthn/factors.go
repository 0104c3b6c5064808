package webauthn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/portcullis-id/portcullis/mfa"
	"github.com/portcullis-id/portcullis/store"
)

// List implements mfa.Method: the user's WebAuthn credentials, oldest first.
func (w *WebAuthn) List(ctx context.Context, userID string) ([]mfa.Factor, error) {
	all, err := w.st.ListCredentials(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("webauthn: list credentials of user %q: %w", userID, err)
	}
	var out []mfa.Factor
	for _, c := range all {
		if c.Type == mfa.TypeWebAuthn {
			out = append(out, factorOf(c))
		}
	}
	slices.SortStableFunc(out, func(a, b mfa.Factor) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out, nil
}

// Rename implements mfa.Method.
func (w *WebAuthn) Rename(ctx context.Context, userID, factorID, name string) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	if name == "" {
		return ErrInvalidName
	}
	// A sign-in may update the record between our read and write; retry a few times.
	for range 3 {
		c, err := w.get(ctx, userID, factorID)
		if err != nil {
			return err
		}
		c.Data = copyData(c.Data)
		c.Data[dataName] = name
		_, err = w.st.PutCredential(ctx, c)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("webauthn: rename credential %s of user %q: %w", factorID, userID, err)
		}
		return nil
	}
	return fmt.Errorf("webauthn: rename credential %s of user %q: %w", factorID, userID, store.ErrConflict)
}

// Remove implements mfa.Method. A removed credential can no longer verify or sign in,
// even though the authenticator still holds it.
func (w *WebAuthn) Remove(ctx context.Context, userID, factorID string) error {
	err := w.st.DeleteCredential(ctx, userID, mfa.TypeWebAuthn, factorID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("webauthn: remove credential %s of user %q: %w", factorID, userID, mfa.ErrNotEnrolled)
	}
	if err != nil {
		return fmt.Errorf("webauthn: remove credential %s of user %q: %w", factorID, userID, err)
	}
	return nil
}

func (w *WebAuthn) get(ctx context.Context, userID, factorID string) (store.Credential, error) {
	if userID == "" || factorID == "" {
		return store.Credential{}, fmt.Errorf("webauthn: credential %q of user %q: %w", factorID, userID, mfa.ErrNotEnrolled)
	}
	c, err := w.st.GetCredential(ctx, userID, mfa.TypeWebAuthn, factorID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, fmt.Errorf("webauthn: credential %s of user %q: %w", factorID, userID, mfa.ErrNotEnrolled)
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("webauthn: get credential %s of user %q: %w", factorID, userID, err)
	}
	return c, nil
}

func factorOf(c store.Credential) mfa.Factor {
	f := mfa.Factor{
		ID: c.ID, Type: mfa.TypeWebAuthn, Name: c.Data[dataName], CreatedAt: c.CreatedAt,
		Passkey: c.Data[dataPasskey] == "true",
	}
	if t, err := time.Parse(time.RFC3339, c.Data[dataLastUsed]); err == nil {
		f.LastUsedAt = t
	}
	return f
}
