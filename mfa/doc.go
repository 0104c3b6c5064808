// Package mfa puts every second factor (TOTP, WebAuthn security keys and passkeys,
// recovery codes) behind one interface, so the sign-in flow and the account page treat
// them alike, and every verification goes through one regulator.
//
// A method only proves possession of a factor. Deciding whether a second factor is
// needed is the sign-in flow's job (idp/login); rendering is the web layer's.
package mfa
