// Package webidentity verifies JSON Web Tokens minted by trusted external
// issuers (GitHub Actions, GitLab CI, Kubernetes service accounts, any OIDC
// provider) so the STS can exchange them for role credentials
// (AssumeRoleWithWebIdentity, RFC 8693 token exchange).
//
// It owns the whole trust decision for a token: issuer configuration, OIDC
// discovery, a per-issuer JWKS cache with rate-limited refresh, signature
// verification with a pinned algorithm list, the registered-claim checks of
// RFC 7519 §4.1 and an optional jti replay cache. It turns the token's
// claims into IAM condition keys (Token.ConditionKeys) but does not evaluate
// trust policies, pick roles or issue credentials: that is idp/sts and
// idp/policy.
//
// It must never trust key material named by the token itself: the jku, jwk,
// x5u and x5c header parameters are ignored (RFC 8725 §3.10), and none/HMAC
// algorithms are refused when the issuer is configured (RFC 8725 §3.1).
// Errors are sentinels for the caller to map to STS error codes; their text
// carries detail for the log and must not be shown to the client.
package webidentity
