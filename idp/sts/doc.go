// Package sts is Portcullis's security-token service: the AWS STS query API (SPEC §1)
// mapped onto Portcullis roles (SPEC §8), so that AWS SDKs and tools pointed at
// /sts exchange a federated identity for temporary role credentials.
//
// It implements AssumeRoleWithWebIdentity (and AssumeRoleWithSAML, below): it checks the request's parameters, has the
// web identity token verified through an IdentityVerifier, decides the role's trust
// policy with the token's claims as condition keys, and issues an access key id
// (PCIA...), a secret access key (kept sealed in the store) and a session token, a JWT
// in the RFC 9068 access-token profile signed with the current signing key. Every
// issued credential is stored as a store.RoleSession and audited, and so is every
// refusal.
//
// The credentials it issues sign requests with AWS Signature Version 4, in the
// Authorization header or presigned in the query string (sigv4.go). Two signed actions
// are served: GetCallerIdentity, and AssumeRole, which is always role chaining here
// (the caller is a role session) and so lasts at most an hour. AssumeRole decides the
// target role's trust policy for the calling session, named by its assumed-role ARN or
// its role's ARN (as AWS does); account principals grant nothing, because the caller's
// permission policies are not evaluated here. A source identity once set stays for the
// chain, and only transitive session tags pass on. The refusals of AssumeRole are
// audited as those of AssumeRoleWithWebIdentity are.
//
// TokenExchange serves the same exchange as an RFC 8693 token exchange (SPEC §3.1) for
// the OAuth token endpoint to call: the subject token is the web identity token, the
// role is named by resource, audience (its ARN) or scope (role:<name>), the trust
// policy is decided for sts:AssumeRoleWithWebIdentity, and the answer is JSON with the
// session token as access_token and the key pair as Portcullis extension fields.
//
// Condition keys a trust policy can use, besides the identity's own
// ("token.actions.githubusercontent.com:sub", ":aud", ":repository", ...):
//
//	sts:RoleSessionName           the RoleSessionName parameter
//	sts:SourceIdentity            the token's source-identity claim, when it has one
//	portcullis:FederatedProvider  arn:portcullis:iam::<account>:oidc-provider/<host/path>
//	portcullis:SourceIp           the address of the TCP peer (a proxy, behind one)
//	portcullis:RequestTag/<key>   each session tag the token carries
//	portcullis:TagKeys            the keys of those tags
//
// AssumeRole's trust decisions see sts:RoleSessionName, sts:ExternalId,
// sts:SourceIdentity, portcullis:PrincipalArn (the calling role's ARN),
// portcullis:PrincipalAccount, portcullis:userid, portcullis:PrincipalTag/<key> (the
// calling session's tags), portcullis:SourceIp, and for carried tags
// portcullis:RequestTag/<key>, portcullis:TagKeys and sts:TransitiveTagKeys.
//
// AssumeRoleWithSAML (saml.go) takes a base64 SAML Response from a configured
// SAMLProvider, IdP-initiated as with AWS. The decoded Response is capped at 100 KiB,
// must survive the XML round-trip check, and must hold exactly one Assertion anywhere
// in the document (no EncryptedAssertion); crewjam/saml then checks the signature
// against the metadata's certificates (SHA-1 refused unless the provider allows it),
// the Issuer, Audience, Recipient and times, inside recover(). Beyond crewjam the
// assertion needs exactly one bearer SubjectConfirmation with Recipient and
// NotOnOrAfter, an AudienceRestriction, a NameID, and an IssueInstant not in the
// future. Assertion IDs are remembered per provider until NotOnOrAfter plus three
// minutes of skew, in a bounded per-process cache (several replicas would each
// accept an assertion once). The Role attribute must offer the requested
// "roleArn,providerArn" pair (AccessDenied otherwise); RoleSessionName names the
// session; SessionDuration and AuthnStatement SessionNotOnOrAfter shorten it;
// SourceIdentity and PrincipalTag:<key> / TransitiveTagKeys work as the web identity
// claims do. Its trust decisions see the provider ARN as the Federated principal and:
//
//	SAML:aud            the SubjectConfirmationData Recipient (not the Audience)
//	SAML:iss            the assertion's Issuer
//	SAML:sub            the NameID; SAML:sub_type its Format without the SAML 2.0 prefix
//	SAML:namequalifier  base64(sha1(issuer + account + "/" + provider name)), as AWS
//	SAML:doc            <account>/<provider name>
//	SAML:<Name>         every attribute by its Name as sent (e.g. SAML:urn:oid:...),
//	                    well-known eduPerson/X.500 OIDs also by AWS's short name
//	                    (SAML:edupersonaffiliation, SAML:mail, SAML:uid, SAML:cn, ...),
//	                    and by lower-cased FriendlyName when no Name is the same;
//	                    attributes never override the keys above
//	sts:RoleSessionName, sts:SourceIdentity, portcullis:FederatedProvider (the
//	provider ARN), portcullis:SourceIp, portcullis:RequestTag/<key>, portcullis:TagKeys
//
// Each portcullis: key also answers to its aws: spelling. Identity condition keys in the
// aws:, portcullis:, sts: and saml: namespaces are dropped: a token claim must never pose
// as a key the service sets itself.
//
// This package does not verify web identity tokens itself (federation/webidentity
// does, behind IdentityVerifier), ignores any signature on the unsigned actions (SPEC
// §1.1) and does not decide what a session may do afterwards: that is the decision
// point's job, from the stored RoleSession.
package sts
