// Package oidc is Portcullis's OpenID provider: zitadel/oidc's op on top of our store,
// with the parts op leaves open (LIBRARIES.md, "zitadel/oidc v3.51.17 pkg/op") closed
// here.
//
// What it does:
//   - Authorization code flow only (response_type=code, response_mode=query), PKCE S256
//     (plain and a missing method refused; required for public clients), exact
//     redirect_uri match except the port of a native client's loopback URI (RFC 8252
//     §7.3), iss on every authorization response (RFC 9207).
//   - Auth codes stored by SHA-256 digest, one per request, consumed atomically; a
//     replayed code revokes everything issued from it.
//   - Refresh tokens: 256-bit random, stored by digest, rotated on every use; a rotated
//     token presented again revokes its family (RFC 9700 §4.14.2), with an optional
//     grace window. Idle and absolute lifetimes.
//   - Access tokens: RFC 9068 JWTs (typ at+jwt) by default, or opaque per client. No
//     record is written per access token: the claims travel in op's token id and are
//     signed or sealed by the Crypto installed with op.WithCrypto (crypto.go).
//     Revocation writes a record by jti, or "family:<gid>" for a whole grant.
//   - client_credentials with constant-time SHA-256 secret checks through the regulator,
//     two live secrets for rotation, unknown scopes dropped (not refused).
//   - Introspection (RFC 7662) and revocation (RFC 7009) bound to the token's client.
//     Refresh tokens are revocable but not introspectable: introspecting one answers
//     {"active":false}.
//   - Role-session tokens of the STS (at+jwt, client_id and aud "sts", signed with the
//     same keys) are introspectable by confidential clients that list the scope
//     sts:introspect, and active only while the stored role session is live
//     (rolesession.go); to any other caller, and at /userinfo and /revoke, they are
//     not tokens.
//   - RP-initiated logout with exact post_logout_redirect_uri matching.
//   - Hardening: POST only on token, introspection and revocation; no-store on
//     responses with tokens or codes; jwt-bearer, device and token-exchange grants
//     refused; CORS limited to origins of registered redirect URIs, without
//     credentials; discovery and JWKS from pre-rendered bytes.
//
// Contract for the login UI. op redirects the browser to
// issuer path + Config.LoginPath + "?authRequestID=<id>". The UI calls
// Provider.AuthRequest to read the request, then:
//   - re-authenticates the user when the request's Prompt contains "login", or when
//     MaxAge is set and now - session.AuthTime > *MaxAge (OIDC Core §3.1.2.1; max_age=0
//     behaves like prompt=login), and honours ACRValues and LoginHint;
//   - never shows UI for prompt=none: the provider answers those itself, completing
//     the request from the browser session or redirecting login_required;
//   - on success calls CompleteAuthRequest with the (new or existing) browser session
//     and redirects the browser to the URL it returns (op's callback), from the same
//     browser: the callback is refused if Deps.SessionFromRequest does not return the
//     session that completed the request;
//   - on cancel or policy refusal calls DenyAuthRequest and redirects to its URL.
//
// What it must not do: serve tokens for grants other than authorization_code,
// refresh_token and client_credentials; hand op a plain error (op would answer 500 and
// echo the message); write records on the access-token path.
package oidc
