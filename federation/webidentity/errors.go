package webidentity

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by Verify, always wrapped with detail meant for
// the log. Callers map them with errors.Is; the wrapped text must not reach
// the client, which learns only the category (RFC 8725 §3.2 advice applied to
// error channels: a verifier should not become an oracle for forgers).
var (
	// ErrInvalidToken covers malformed tokens, bad signatures, disallowed
	// algorithms, unknown issuers and keys, and missing required claims.
	// STS maps it to InvalidIdentityToken.
	ErrInvalidToken = errors.New("invalid web identity token")

	// ErrNotYetValid is a kind of ErrInvalidToken: nbf or iat lies in the
	// future beyond the allowed skew. errors.Is(err, ErrInvalidToken) holds.
	ErrNotYetValid = fmt.Errorf("%w: not yet valid", ErrInvalidToken)

	// ErrExpired means exp has passed (beyond the allowed skew).
	// STS maps it to ExpiredTokenException.
	ErrExpired = errors.New("web identity token expired")

	// ErrAudience means aud is missing or names none of the issuer's allowed
	// audiences. STS maps it to InvalidIdentityToken.
	ErrAudience = errors.New("web identity token audience not allowed")

	// ErrReplay means the token's jti was already accepted for this issuer
	// (only when the issuer enables JTIReplay), or that the replay cache is
	// full and cannot promise to detect a replay.
	ErrReplay = errors.New("web identity token replayed")

	// ErrIssuerUnavailable means the issuer's keys could not be fetched and
	// no usable cached keys exist. It is temporary; STS maps it to
	// IDPCommunicationError so SDKs retry.
	ErrIssuerUnavailable = errors.New("web identity issuer unavailable")
)
