// Package web is the HTTP edge of Portcullis: it builds the router, wraps every route in
// the common middleware (request ids, structured access logs, security headers, panic
// recovery, metrics) and serves health, readiness and Prometheus endpoints.
//
// It holds no domain logic: sign-in decisions live in idp/*, the OpenID provider in
// idp/oidc, and this package only adapts them to HTTP.
package web
