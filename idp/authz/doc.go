// Package authz is the policy decision point: it answers "may this role perform this
// action on this resource?" for services holding role credentials (POST /authz/v1/check)
// and "what would these policies decide?" for administrators (policy simulation).
//
// It loads a role's permission policies from the store (the default version of each
// attached managed policy, the inline policies and the permissions boundary), compiles
// them through the policy.Evaluator's cache and evaluates requests with idp/policy. A
// policy that cannot be loaded or parsed is always an error, never a silent deny: an
// answer computed from part of a role's policies is a wrong answer, and a deny that
// hides a broken policy sends the operator looking in the wrong place.
//
// CheckSession judges a role session issued by idp/sts: it verifies the session token
// offline against our published signing keys, loads the stored session (so that a
// revoked one is refused), and evaluates the role's current policies with the
// session's policies as the session layer and its tags and identity as condition keys.
//
// It does not authenticate callers, issue session tokens, evaluate trust policies or
// speak HTTP; web/authz and idp/sts do those and call in.
package authz
