// Package authz serves the policy decision point over HTTP: POST /authz/v1/check for
// services that hold role credentials and want a decision, and POST
// /admin/v1/policy/simulate for administrators asking what a role or a set of draft
// policies would decide.
//
// The check endpoint has two modes. With "role", the caller asks for the role it acts
// as. With "session_token", it asks about a role session whose credentials it was
// handed: the API token still authenticates the service asking, while the session
// token, verified offline and looked up in the store by idp/authz, is what is judged.
// A revoked or expired session, or a token that is not ours, is a deny like any other.
//
// A decision is the answer, so a deny is a 200 like an allow; 4xx is kept for requests
// that cannot be answered (bad input, unknown role, a caller without the right role).
// Every answered or refused call of an authenticated caller is audited.
//
// It does not authenticate: the caller's identity and roles come from Deps.Authenticate,
// which the server wires to the admin API token check. Decisions are made by idp/authz.
package authz
