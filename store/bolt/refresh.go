package bolt

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateRefreshToken(ctx context.Context, rt store.RefreshToken) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	if err := t.putNewRefreshToken(rt); err != nil {
		return fmt.Errorf("create refresh token of family %q: %w", rt.FamilyID, err)
	}
	return nil
}

// putNewRefreshToken stores rt with its family and user index entries.
func (t *tx) putNewRefreshToken(rt store.RefreshToken) error {
	for _, p := range [][2]string{{"id", rt.ID}, {"family id", rt.FamilyID}, {"user id", rt.UserID}} {
		if err := checkKeyPart(p[0], p[1]); err != nil {
			return err
		}
	}
	if rt.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: no expiry", errInvalid)
	}
	tokens := t.b(bRefreshTokens)
	if tokens.Get([]byte(rt.ID)) != nil {
		return store.ErrAlreadyExists
	}
	if rt.CreatedAt.IsZero() {
		rt.CreatedAt = t.clock()
	}
	if err := putJSON(tokens, []byte(rt.ID), rt); err != nil {
		return err
	}
	if err := t.b(bRefreshByFamily).Put(compositeKey(rt.FamilyID, rt.ID), nil); err != nil {
		return fmt.Errorf("index family: %w", err)
	}
	if err := t.b(bRefreshByUser).Put(compositeKey(rt.UserID, rt.ID), nil); err != nil {
		return fmt.Errorf("index user: %w", err)
	}
	return nil
}

func (t *tx) GetRefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	if err := t.check(ctx); err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	var rt store.RefreshToken
	if err := loadOrNotFound(t.b(bRefreshTokens), id, &rt); err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return rt, nil
}

// RotateRefreshToken consumes oldID and stores next. On reuse (oldID consumed or
// revoked) it revokes the family and returns store.ErrAlreadyUsed: inside Atomic the
// caller decides whether to keep that revocation; Store.RotateRefreshToken commits it.
// An expired oldID gives store.ErrExpired and changes nothing.
func (t *tx) RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken, now time.Time) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	tokens := t.b(bRefreshTokens)
	var old store.RefreshToken
	if err := loadOrNotFound(tokens, oldID, &old); err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	if !old.ConsumedAt.IsZero() || old.Revoked {
		if err := t.revokeFamily(old.FamilyID); err != nil {
			return fmt.Errorf("rotate refresh token of family %q: revoke family on reuse: %w", old.FamilyID, err)
		}
		return fmt.Errorf("rotate refresh token of family %q: %w", old.FamilyID, store.ErrAlreadyUsed)
	}
	if expired(old.ExpiresAt, now) || expired(old.FamilyExpiresAt, now) {
		return fmt.Errorf("rotate refresh token of family %q: %w", old.FamilyID, store.ErrExpired)
	}
	if next.FamilyID == "" {
		next.FamilyID = old.FamilyID
	}
	if next.FamilyID != old.FamilyID {
		return fmt.Errorf("rotate refresh token of family %q: %w: next token is of family %q", old.FamilyID, errInvalid, next.FamilyID)
	}
	old.ConsumedAt = now.UTC().Round(0)
	if err := putJSON(tokens, []byte(old.ID), old); err != nil {
		return fmt.Errorf("rotate refresh token of family %q: %w", old.FamilyID, err)
	}
	if err := t.putNewRefreshToken(next); err != nil {
		return fmt.Errorf("rotate refresh token of family %q: store next: %w", old.FamilyID, err)
	}
	return nil
}

func (t *tx) RevokeRefreshFamily(ctx context.Context, familyID string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("revoke refresh family %q: %w", familyID, err)
	}
	if err := t.revokeFamily(familyID); err != nil {
		return fmt.Errorf("revoke refresh family %q: %w", familyID, err)
	}
	return nil
}

func (t *tx) revokeFamily(familyID string) error {
	if familyID == "" {
		return nil
	}
	for _, id := range scanSuffixes(t.b(bRefreshByFamily), prefixKey(familyID)) {
		if _, err := t.revokeRefreshTokenFamily(id); err != nil {
			return err
		}
	}
	return nil
}

// revokeRefreshTokenFamily marks one token revoked and returns its family. A token
// already swept (an index entry whose record is gone) is skipped.
func (t *tx) revokeRefreshTokenFamily(id string) (string, error) {
	tokens := t.b(bRefreshTokens)
	var rt store.RefreshToken
	found, err := getJSON(tokens, []byte(id), &rt)
	if err != nil || !found {
		return "", err
	}
	if !rt.Revoked {
		rt.Revoked = true
		if err := putJSON(tokens, []byte(id), rt); err != nil {
			return "", fmt.Errorf("revoke refresh token: %w", err)
		}
	}
	return rt.FamilyID, nil
}

// RevokeUserRefreshTokens revokes every token of the user and returns the families
// they belong to, sorted.
func (t *tx) RevokeUserRefreshTokens(ctx context.Context, userID string) ([]string, error) {
	if err := t.begin(ctx); err != nil {
		return nil, fmt.Errorf("revoke refresh tokens of user %q: %w", userID, err)
	}
	families, err := t.revokeUserRefreshTokens(userID)
	if err != nil {
		return nil, fmt.Errorf("revoke refresh tokens of user %q: %w", userID, err)
	}
	return families, nil
}

func (t *tx) revokeUserRefreshTokens(userID string) ([]string, error) {
	if userID == "" {
		return nil, nil
	}
	var families []string
	for _, id := range scanSuffixes(t.b(bRefreshByUser), prefixKey(userID)) {
		fam, err := t.revokeRefreshTokenFamily(id)
		if err != nil {
			return nil, err
		}
		if fam != "" {
			families = append(families, fam)
		}
	}
	slices.Sort(families)
	return slices.Compact(families), nil
}
