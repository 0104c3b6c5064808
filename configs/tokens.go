package configs

import "time"

// TokensConfig holds the lifetime of everything Portcullis issues. Short lifetimes
// limit what a leaked token is worth; the bounds stop a typo ("10h" for "10m") from
// turning into day-long bearer tokens.
type TokensConfig struct {
	// AccessTokenLifetime is how long an access token is accepted.
	AccessTokenLifetime Duration `yaml:"access_token_lifetime"`
	// IDTokenLifetime is the "exp" of an ID token minus its "iat".
	IDTokenLifetime Duration `yaml:"id_token_lifetime"`
	// RefreshTokenLifetime is the idle lifetime: a refresh token unused for this
	// long expires. Each use rotates it and starts a new idle period.
	RefreshTokenLifetime Duration `yaml:"refresh_token_lifetime"`
	// RefreshTokenAbsoluteLifetime caps a refresh token family however often it is
	// used; after it the user signs in again.
	RefreshTokenAbsoluteLifetime Duration `yaml:"refresh_token_absolute_lifetime"`
	// AuthCodeLifetime is how long an authorization code can be redeemed.
	AuthCodeLifetime Duration `yaml:"auth_code_lifetime"`
	// AuthRequestLifetime is how long a pending /authorize request waits for the
	// user to finish logging in.
	AuthRequestLifetime Duration `yaml:"auth_request_lifetime"`
	// SessionLifetime is how long a browser session lasts before the user must
	// sign in again.
	SessionLifetime Duration `yaml:"session_lifetime"`
	// RefreshReuseGrace is how long the previous refresh token of a family is still
	// accepted after rotation, for clients that retry a request whose response was
	// lost. 0 means any reuse revokes the family (RFC 9700 §4.14.2).
	RefreshReuseGrace Duration `yaml:"refresh_reuse_grace"`
}

func defaultTokens() TokensConfig {
	return TokensConfig{
		AccessTokenLifetime:          dur(10 * time.Minute),
		IDTokenLifetime:              dur(10 * time.Minute),
		RefreshTokenLifetime:         dur(24 * time.Hour),
		RefreshTokenAbsoluteLifetime: dur(720 * time.Hour),
		AuthCodeLifetime:             dur(60 * time.Second),
		AuthRequestLifetime:          dur(15 * time.Minute),
		SessionLifetime:              dur(12 * time.Hour),
		RefreshReuseGrace:            0,
	}
}

func (t TokensConfig) validate(p *problems, key string) {
	inRange(p, key+".access_token_lifetime", t.AccessTokenLifetime, dur(time.Minute), dur(24*time.Hour))
	inRange(p, key+".id_token_lifetime", t.IDTokenLifetime, dur(time.Minute), dur(24*time.Hour))
	inRange(p, key+".refresh_token_lifetime", t.RefreshTokenLifetime, dur(5*time.Minute), dur(2160*time.Hour))
	inRange(p, key+".refresh_token_absolute_lifetime", t.RefreshTokenAbsoluteLifetime, dur(5*time.Minute), dur(8760*time.Hour))
	if t.RefreshTokenAbsoluteLifetime < t.RefreshTokenLifetime {
		p.add(key+".refresh_token_absolute_lifetime", "must be at least refresh_token_lifetime (%s), got %s", t.RefreshTokenLifetime, t.RefreshTokenAbsoluteLifetime)
	}
	// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is
	// RECOMMENDED." Under 10s a slow client on a slow network cannot redeem it.
	inRange(p, key+".auth_code_lifetime", t.AuthCodeLifetime, dur(10*time.Second), dur(10*time.Minute))
	inRange(p, key+".auth_request_lifetime", t.AuthRequestLifetime, dur(time.Minute), dur(time.Hour))
	inRange(p, key+".session_lifetime", t.SessionLifetime, dur(5*time.Minute), dur(720*time.Hour))
	// Anything longer than a network retry is a window in which a stolen refresh
	// token can be used alongside the real client without tripping reuse detection.
	inRange(p, key+".refresh_reuse_grace", t.RefreshReuseGrace, 0, dur(10*time.Second))
}
