// Package policy is Portcullis's IAM policy language: it parses and validates policy
// documents, compiles them once into a form that is cheap to evaluate, and decides
// requests the way IAM does (SPEC §2), returning the statements that decided so that a
// "why was I denied" answer is always available.
//
// The flow is Parse (JSON → Document, every problem reported with its path, risky shapes
// reported as Warnings), Compile (Document → Compiled: wildcard patterns pre-split,
// CIDRs, dates and numbers pre-parsed, action patterns lower-cased) and
// Evaluator.Evaluate (Request + PolicySet → Decision). Trust policies are decided by
// Evaluator.EvaluateTrust.
//
// Evaluation order (SPEC §2.4, §7 item 2): an explicit Deny in any layer wins; otherwise
// the request is allowed only when an identity policy allows it AND the permissions
// boundary (when one is set) allows it AND a session policy (when session policies were
// passed) allows it; anything else is an implicit deny. Boundaries and session policies
// only ever limit. Resource-based policies and SCPs are not evaluated yet: PolicySet has
// no field for them, so callers cannot pass one by mistake and believe it was honoured.
//
// This package does not load policies from storage, does not know which policies are
// attached to whom and does not build the request context from tokens; idp/roles and
// idp/sts do that and hand the results in. It performs no I/O and keeps no package-level
// mutable state: the only shared state is the compiled-policy cache on an Evaluator.
package policy
