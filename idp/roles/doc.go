// Package roles holds the rules about roles that sit above the store: role ARNs
// (arn:portcullis:iam::<account>:role/<path/><name>), what makes a role, a managed
// policy name or a role mapping valid, and which roles the mapping rules grant to an
// identity.
//
// It does not parse or evaluate policy documents: trust and permission policies are
// checked through the PolicyValidator the caller wires in (idp/policy in the server).
// It does not read the store either; callers load the rules and pass them in, so that
// evaluation is a pure function that is cheap to test and to call per sign-in.
package roles
