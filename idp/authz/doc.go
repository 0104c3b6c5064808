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
// It does not authenticate callers, verify session tokens, evaluate trust policies or
// speak HTTP; web/authz and idp/sts do those and call in.
package authz
