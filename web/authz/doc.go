// Package authz serves the policy decision point over HTTP: POST /authz/v1/check for
// services that hold role credentials and want a decision, and POST
// /admin/v1/policy/simulate for administrators asking what a role or a set of draft
// policies would decide.
//
// A decision is the answer, so a deny is a 200 like an allow; 4xx is kept for requests
// that cannot be answered (bad input, unknown role, a caller without the right role).
// Every answered or refused call of an authenticated caller is audited.
//
// It does not authenticate: the caller's identity and roles come from Deps.Authenticate,
// which the server wires to the admin API token check. Decisions are made by idp/authz.
package authz
