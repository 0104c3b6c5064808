// Package ui serves the browser pages of the sign-in flow: the login form, the forced
// password change, and the logged-out page. It turns form posts into calls on the
// directory and the OpenID provider and keeps the browser session cookie; it makes no
// authentication decisions of its own.
//
// Every form carries a CSRF token bound to a per-browser cookie, and every POST also
// passes net/http's cross-origin protection (Sec-Fetch-Site / Origin).
package ui
