package sts

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

const (
	actionAssumeSAML = "sts:AssumeRoleWithSAML"
	// auditSAML names the audit events of AssumeRoleWithSAML.
	auditSAML = "sts.assume_role_with_saml"

	// minSAMLAssertion and maxSAMLAssertion bound the SAMLAssertion parameter in
	// characters (SPEC §1.3); maxSAMLResponse bounds the decoded Response, checked
	// before any XML parser sees it.
	minSAMLAssertion = 4
	maxSAMLAssertion = 100000
	maxSAMLResponse  = 100 << 10

	// samlClockSkew is the leeway on the IdP's clock, crewjam/saml's MaxClockSkew.
	samlClockSkew = 180 * time.Second
	// maxReplayEntries bounds the replay cache. Only validly signed assertions enter
	// it, so filling it takes a trusted IdP issuing that many in a few minutes.
	maxReplayEntries = 100000

	// The AWS attributes of SPEC §1.3. Names are case-sensitive.
	samlAttrRole           = "https://aws.amazon.com/SAML/Attributes/Role"
	samlAttrSessionName    = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	samlAttrSessionDur     = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	samlAttrSourceIdentity = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	samlAttrTagPrefix      = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	samlAttrTransitiveTags = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"

	nameIDFormatPrefix = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
	samlAssertionNS    = "urn:oasis:names:tc:SAML:2.0:assertion"
	samlProtocolNS     = "urn:oasis:names:tc:SAML:2.0:protocol"
	bearerMethod       = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	msgInvalidSAML     = "The SAML assertion that was passed could not be validated."
)

// SAMLProvider is an identity provider whose assertions AssumeRoleWithSAML accepts.
type SAMLProvider struct {
	// ARN names the provider in PrincipalArn, in the Role attribute and in trust
	// policies: arn:portcullis:iam::<account>:saml-provider/<name>. The aws partition
	// spelling of the same ARN is accepted too.
	ARN string
	// MetadataXML is the IdP's SAML metadata (an EntityDescriptor with an
	// IDPSSODescriptor). Its entityID must be the assertions' Issuer; every
	// KeyDescriptor for signing (or without a use) is trusted, so a key rollover
	// lists both certificates.
	MetadataXML []byte
	// Audience is the value the assertion's AudienceRestriction must hold: our
	// entity id as the IdP knows us. Default: <Issuer>/sts. An IdP set up for AWS
	// sends "https://signin.aws.amazon.com/saml" or "urn:amazon:webservices".
	Audience string
	// Recipient is what SubjectConfirmationData/@Recipient (and a Response
	// Destination) must equal byte for byte, and is reported as SAML:aud. Default:
	// <Issuer>/sts.
	Recipient string
	// AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests; by default only the
	// SHA-2 family is.
	AllowSHA1 bool
}

// samlProvider is a checked SAMLProvider.
type samlProvider struct {
	arn       string
	name      string
	metadata  *saml.EntityDescriptor
	audience  string
	recipient url.URL
	allowSHA1 bool
}

// samlProviders are the configured providers by name, and the replay cache they share.
// SetSAMLProviders swaps byName while requests are served; the replay cache stays, so a
// change of providers never reopens a replay window.
type samlProviders struct {
	byName atomic.Pointer[map[string]*samlProvider]
	replay *replayCache
}

func (ps *samlProviders) lookup(name string) *samlProvider {
	if m := ps.byName.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

func newSAMLProviders(list []SAMLProvider, account, issuer string) (*samlProviders, error) {
	ps := &samlProviders{replay: newReplayCache(maxReplayEntries)}
	byName, err := checkSAMLProviders(list, account, issuer)
	if err != nil {
		return nil, err
	}
	ps.byName.Store(&byName)
	return ps, nil
}

// SetSAMLProviders replaces the providers AssumeRoleWithSAML trusts. When any of list
// is invalid the error names it and the providers in force stay.
func (s *Service) SetSAMLProviders(list []SAMLProvider) error {
	byName, err := checkSAMLProviders(list, s.account, s.issuer)
	if err != nil {
		return err
	}
	s.saml.byName.Store(&byName)
	return nil
}

// ValidateSAMLProvider checks one provider as New and SetSAMLProviders would.
func ValidateSAMLProvider(p SAMLProvider, account, issuer string) error {
	_, err := checkSAMLProvider(p, account, issuer)
	return err
}

func checkSAMLProviders(list []SAMLProvider, account, issuer string) (map[string]*samlProvider, error) {
	byName := map[string]*samlProvider{}
	var errs []error
	for i, p := range list {
		sp, err := checkSAMLProvider(p, account, issuer)
		if err != nil {
			errs = append(errs, fmt.Errorf("SAMLProviders[%d]: %w", i, err))
			continue
		}
		if byName[sp.name] != nil {
			errs = append(errs, fmt.Errorf("SAMLProviders[%d]: provider %s is listed twice", i, sp.name))
			continue
		}
		byName[sp.name] = sp
	}
	return byName, errors.Join(errs...)
}

func checkSAMLProvider(p SAMLProvider, account, issuer string) (*samlProvider, error) {
	name, ok := samlProviderName(p.ARN, account)
	if !ok {
		return nil, fmt.Errorf("ARN %q must be arn:portcullis:iam::%s:saml-provider/<name>", p.ARN, account)
	}
	md, err := parseIDPMetadata(p.MetadataXML)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", name, err)
	}
	def := strings.TrimRight(issuer, "/") + "/sts"
	sp := &samlProvider{
		arn: "arn:portcullis:iam::" + account + ":saml-provider/" + name, name: name,
		metadata: md, audience: p.Audience, allowSHA1: p.AllowSHA1,
	}
	if sp.audience == "" {
		sp.audience = def
	}
	recipient := p.Recipient
	if recipient == "" {
		recipient = def
	}
	u, err := url.Parse(recipient)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("provider %s: Recipient %q must be an absolute URL", name, recipient)
	}
	// crewjam/saml compares against AcsURL.String(); a URL that does not print back
	// as written could never match.
	if u.String() != recipient {
		return nil, fmt.Errorf("provider %s: Recipient %q is not in canonical form (%q)", name, recipient, u.String())
	}
	sp.recipient = *u
	return sp, nil
}

// parseIDPMetadata reads an IdP's EntityDescriptor. The round-trip check guards
// encoding/xml against the namespace tricks of SPEC §10.
func parseIDPMetadata(doc []byte) (*saml.EntityDescriptor, error) {
	if len(doc) == 0 {
		return nil, errors.New("MetadataXML is required")
	}
	if err := xrv.Validate(bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(doc, &md); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if md.EntityID == "" || len(md.IDPSSODescriptors) == 0 {
		return nil, errors.New("metadata must be an EntityDescriptor with an entityID and an IDPSSODescriptor")
	}
	var certs int
	for _, d := range md.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use == "" || kd.Use == "signing" {
				certs += len(kd.KeyInfo.X509Data.X509Certificates)
			}
		}
	}
	if certs == 0 {
		return nil, errors.New("metadata names no signing certificate")
	}
	return &md, nil
}

// samlProviderName returns NAME of arn:<portcullis|aws>:iam::<account>:saml-provider/NAME.
func samlProviderName(arn, account string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || (parts[1] != "portcullis" && parts[1] != "aws") ||
		parts[2] != "iam" || parts[3] != "" || parts[4] != account {
		return "", false
	}
	name, ok := strings.CutPrefix(parts[5], "saml-provider/")
	if !ok || name == "" || len(name) > 128 || !validSessionName(name) {
		return "", false
	}
	return name, true
}

// samlRequest is a checked AssumeRoleWithSAML request.
type samlRequest struct {
	sessionRequest
	principalARN string
	assertion    string
}

// parseSAMLRequest checks every parameter that needs no assertion, so that a request
// the client must fix fails before its assertion is spent.
func parseSAMLRequest(p params, account string) (samlRequest, error) {
	var req samlRequest
	var v validation
	f := &formReader{p: p}
	var sp sessionParams
	req.sessionRequest, sp = readSessionPolicyRequest(f, &v, account)
	req.principalARN = f.get("PrincipalArn")
	req.assertion = f.get("SAMLAssertion")
	if f.err != nil {
		return req, f.err
	}
	if sp.policySet && len(sp.policy) > maxPolicyPlain {
		return req, packedTooLarge(len(sp.policy))
	}
	v.lengthIn("principalArn", req.principalARN, minRoleARN, maxRoleARN)
	v.lengthIn("SAMLAssertion", req.assertion, minSAMLAssertion, maxSAMLAssertion)
	if err := v.err(); err != nil {
		return req, err
	}
	if _, ok := samlProviderName(req.principalARN, account); !ok {
		return req, validationError("PrincipalArn must be a SAML provider ARN of this account.")
	}
	return req, req.finish(sp)
}

type samlResponse struct {
	XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithSAMLResponse"`
	Result   samlResult       `xml:"AssumeRoleWithSAMLResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

func (r *samlResponse) setRequestID(id string) { r.Metadata.RequestID = id }

type samlResult struct {
	Credentials      credentialsXML  `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
	Subject          string          `xml:"Subject"`
	SubjectType      string          `xml:"SubjectType"`
	Issuer           string          `xml:"Issuer"`
	Audience         string          `xml:"Audience"`
	NameQualifier    string          `xml:"NameQualifier"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

// samlIdentity is what a verified assertion says.
type samlIdentity struct {
	provider      *samlProvider
	issuer        string
	nameID        string
	nameIDFormat  string
	recipient     string
	nameQualifier string
	// attrs are the attribute values by Name, as sent.
	attrs map[string][]string
	// friendly are the attribute values by FriendlyName.
	friendly map[string][]string
	// sessionNotOnOrAfter is the earliest AuthnStatement SessionNotOnOrAfter, zero
	// without one.
	sessionNotOnOrAfter time.Time
}

// assumeRoleWithSAML runs the whole exchange; every outcome is audited.
func (s *Service) assumeRoleWithSAML(ctx context.Context, p params, sourceIP string) (*samlResponse, error) {
	a := &attempt{action: auditSAML, sourceIP: sourceIP}
	resp, err := s.exchangeSAML(ctx, p, a)
	if err != nil {
		s.recordRefusal(ctx, a, err)
		return nil, err
	}
	return resp, nil
}

func (s *Service) exchangeSAML(ctx context.Context, p params, a *attempt) (*samlResponse, error) {
	req, err := parseSAMLRequest(p, s.account)
	a.req.sessionRequest = req.sessionRequest
	if err != nil {
		return nil, err
	}
	si, err := s.verifySAML(req)
	if err != nil {
		return nil, err
	}
	id, err := samlSessionIdentity(si)
	a.identity = &id
	if err != nil {
		return nil, err
	}
	a.req.sessionName = id.ConditionKeys["sts:RoleSessionName"][0]
	// The IdP must have offered this role through this provider (SPEC §1.3).
	if !roleOffered(si.attrs[samlAttrRole], req.roleARN, req.principalARN) {
		return nil, notAuthorized(actionAssumeSAML, fmt.Errorf("the assertion's Role attribute does not offer %s,%s", req.roleARN, req.principalARN))
	}
	tagSize, err := checkSessionTags(id.Tags)
	if err != nil {
		return nil, err
	}
	packed := req.packedSize() + tagSize
	if packed > maxPackedPolicy {
		return nil, packedTooLarge(packed)
	}
	role, err := s.findRole(ctx, req.roleARN, "")
	if err != nil {
		return nil, samlDenied(err)
	}
	cond := s.samlTrustContext(si, &id, a.sourceIP)
	if err := s.checkFederatedTrust(role, samlPrincipalNames(si.provider.arn), actionAssumeSAML, &id, cond, func(cause error) *httperr.Error {
		return notAuthorized(actionAssumeSAML, cause)
	}); err != nil {
		return nil, err
	}
	duration, err := s.samlDuration(req.duration, role, si)
	if err != nil {
		return nil, err
	}
	if err := s.checkManagedPolicies(ctx, &a.req.sessionRequest); err != nil {
		return nil, err
	}
	m, err := s.issue(ctx, a, role, &id, si.provider.arn, duration)
	if err != nil {
		return nil, err
	}
	res := samlResult{
		Credentials: m.credentials, AssumedRoleUser: m.user,
		Subject: si.nameID, SubjectType: subjectType(si.nameIDFormat), Issuer: si.issuer,
		Audience: si.recipient, NameQualifier: si.nameQualifier, SourceIdentity: id.SourceIdentity,
	}
	if packed > 0 {
		pct := packedPercent(packed)
		res.PackedPolicySize = &pct
	}
	return &samlResponse{Result: res}, nil
}

// samlDenied gives an AccessDenied of the shared helpers this action's message.
func samlDenied(err error) error {
	if he := asHTTPError(err); he != nil && he.Code == codeAccessDenied {
		return notAuthorized(actionAssumeSAML, he.Err)
	}
	return err
}

func invalidSAML(cause error) *httperr.Error {
	return awsError(http.StatusBadRequest, codeInvalidIdentityToken, msgInvalidSAML, cause)
}

// verifySAML checks the assertion: size, XML round trip, exactly one Assertion,
// signature, issuer, audience, recipient, times (crewjam/saml), then what crewjam
// leaves to its caller (LIBRARIES.md): exactly one bearer SubjectConfirmation with a
// Recipient and NotOnOrAfter, a required AudienceRestriction, a NameID, and replay.
func (s *Service) verifySAML(req samlRequest) (*samlIdentity, error) {
	name, _ := samlProviderName(req.principalARN, s.account)
	prov := s.saml.lookup(name)
	if prov == nil {
		return nil, invalidSAML(fmt.Errorf("no SAML provider %s is configured", name))
	}
	raw, err := decodeSAMLResponse(req.assertion)
	if err != nil {
		return nil, invalidSAML(err)
	}
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return nil, invalidSAML(fmt.Errorf("saml response does not survive an XML round trip: %w", err))
	}
	if err := checkResponseShape(raw); err != nil {
		return nil, invalidSAML(err)
	}
	as, err := parseSAMLAssertion(prov, raw)
	if err != nil {
		return nil, invalidSAML(err)
	}
	si, expiry, err := s.checkAssertion(prov, as)
	if err != nil {
		return nil, invalidSAML(err)
	}
	if err := s.saml.replay.claim(prov.arn+"\x00"+as.ID, expiry, s.now()); err != nil {
		return nil, invalidSAML(fmt.Errorf("assertion %s of %s: %w", as.ID, prov.arn, err))
	}
	return si, nil
}

// decodeSAMLResponse decodes the base64 parameter. Line breaks some IdPs put in the
// form value are dropped; the size is capped before anything parses it.
func decodeSAMLResponse(b64 string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	if base64.StdEncoding.DecodedLen(len(clean)) > maxSAMLResponse {
		return nil, fmt.Errorf("saml response exceeds %d bytes", maxSAMLResponse)
	}
	raw, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("SAMLAssertion is not base64: %w", err)
	}
	return raw, nil
}

// checkResponseShape refuses anything but a samlp:Response holding exactly one
// Assertion, counted anywhere in the document: crewjam/saml skips invalid assertions
// and returns the first valid one (CVE-2022-41912), and a wrapped copy in Extensions
// or an Advice is how signature-wrapping attacks smuggle a second identity (SPEC §10).
// Encrypted assertions are refused: no decryption key is configured.
func checkResponseShape(raw []byte) error {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(raw); err != nil {
		return fmt.Errorf("saml response is not XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Response" || root.NamespaceURI() != samlProtocolNS {
		return errors.New("saml response root is not a samlp:Response")
	}
	var assertions, encrypted int
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		switch e.Tag {
		case "Assertion":
			assertions++
		case "EncryptedAssertion":
			encrypted++
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	switch {
	case encrypted > 0:
		return fmt.Errorf("saml response holds %d EncryptedAssertion elements; encrypted assertions are not supported", encrypted)
	case assertions != 1:
		return fmt.Errorf("saml response holds %d Assertion elements, want exactly 1", assertions)
	}
	return nil
}

// parseSAMLAssertion has crewjam/saml verify the response as an IdP-initiated one
// (InResponseTo must be absent), turning its panics on missing elements into refusals.
func parseSAMLAssertion(prov *samlProvider, raw []byte) (as *saml.Assertion, err error) {
	sp := saml.ServiceProvider{
		EntityID:    prov.audience,
		AcsURL:      prov.recipient,
		IDPMetadata: prov.metadata,
	}
	if !prov.allowSHA1 {
		sp.SignatureVerifier = sha2Verifier{}
	}
	defer func() {
		if r := recover(); r != nil {
			as, err = nil, fmt.Errorf("saml response verification panicked (a required element is missing): %v", r)
		}
	}()
	as, err = sp.ParseXMLResponse(raw, []string{""}, prov.recipient)
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			return nil, fmt.Errorf("saml response of %s refused: %w", prov.arn, ire.PrivateErr)
		}
		return nil, fmt.Errorf("saml response of %s refused: %w", prov.arn, err)
	}
	return as, nil
}

// sha2Verifier refuses SHA-1 signature and digest algorithms before verifying.
type sha2Verifier struct{}

func (sha2Verifier) VerifySignature(ctx *dsig.ValidationContext, el *etree.Element) error {
	sig := el.FindElement("./Signature/SignedInfo")
	if sig == nil {
		return errors.New("signature has no SignedInfo")
	}
	var algs []string
	if m := sig.FindElement("./SignatureMethod"); m != nil {
		algs = append(algs, m.SelectAttrValue("Algorithm", ""))
	}
	for _, d := range sig.FindElements("./Reference/DigestMethod") {
		algs = append(algs, d.SelectAttrValue("Algorithm", ""))
	}
	for _, a := range algs {
		if strings.HasSuffix(a, "sha1") {
			return fmt.Errorf("signature algorithm %s is refused: SHA-1", a)
		}
	}
	if _, err := ctx.Validate(el); err != nil {
		return fmt.Errorf("cannot validate signature on %s: %w", el.Tag, err)
	}
	return nil
}

// checkAssertion applies the checks crewjam/saml leaves out and reads the identity.
// It returns when the assertion's replay-cache entry may expire.
func (s *Service) checkAssertion(prov *samlProvider, as *saml.Assertion) (*samlIdentity, time.Time, error) {
	now := s.now()
	if as.ID == "" {
		return nil, time.Time{}, errors.New("assertion has no ID")
	}
	if as.IssueInstant.After(now.Add(samlClockSkew)) {
		return nil, time.Time{}, fmt.Errorf("assertion issued in the future (%s)", as.IssueInstant)
	}
	if as.Subject == nil || as.Subject.NameID == nil || strings.TrimSpace(as.Subject.NameID.Value) == "" {
		return nil, time.Time{}, errors.New("assertion has no NameID")
	}
	// AWS requires exactly one SubjectConfirmation with both NotOnOrAfter and
	// Recipient (SPEC §1.3); crewjam checks none when there are none.
	if n := len(as.Subject.SubjectConfirmations); n != 1 {
		return nil, time.Time{}, fmt.Errorf("assertion has %d SubjectConfirmations, want 1", n)
	}
	sc := as.Subject.SubjectConfirmations[0]
	if sc.Method != bearerMethod || sc.SubjectConfirmationData == nil {
		return nil, time.Time{}, errors.New("assertion's SubjectConfirmation is not a bearer confirmation with data")
	}
	scd := sc.SubjectConfirmationData
	if scd.Recipient != prov.recipient.String() || scd.NotOnOrAfter.IsZero() {
		return nil, time.Time{}, fmt.Errorf("SubjectConfirmationData needs Recipient %s and NotOnOrAfter", prov.recipient.String())
	}
	if !now.Before(scd.NotOnOrAfter.Add(samlClockSkew)) {
		return nil, time.Time{}, fmt.Errorf("assertion's SubjectConfirmationData expired at %s", scd.NotOnOrAfter)
	}
	// crewjam accepts an assertion without an AudienceRestriction; we do not.
	c := as.Conditions
	if c == nil || c.NotOnOrAfter.IsZero() || !slices.ContainsFunc(c.AudienceRestrictions, func(r saml.AudienceRestriction) bool {
		return r.Audience.Value == prov.audience
	}) {
		return nil, time.Time{}, fmt.Errorf("assertion's Conditions need NotOnOrAfter and an AudienceRestriction to %s", prov.audience)
	}
	if !now.Before(c.NotOnOrAfter.Add(samlClockSkew)) {
		return nil, time.Time{}, fmt.Errorf("assertion's Conditions expired at %s", c.NotOnOrAfter)
	}
	si := &samlIdentity{
		provider: prov, issuer: as.Issuer.Value, nameID: as.Subject.NameID.Value,
		nameIDFormat: as.Subject.NameID.Format, recipient: scd.Recipient,
		attrs: map[string][]string{}, friendly: map[string][]string{},
	}
	for _, st := range as.AuthnStatements {
		if t := st.SessionNotOnOrAfter; t != nil && !t.IsZero() && (si.sessionNotOnOrAfter.IsZero() || t.Before(si.sessionNotOnOrAfter)) {
			si.sessionNotOnOrAfter = *t
		}
	}
	for _, st := range as.AttributeStatements {
		for _, at := range st.Attributes {
			var vals []string
			for _, v := range at.Values {
				vals = append(vals, strings.TrimSpace(v.Value))
			}
			si.attrs[at.Name] = append(si.attrs[at.Name], vals...)
			if at.FriendlyName != "" {
				si.friendly[at.FriendlyName] = append(si.friendly[at.FriendlyName], vals...)
			}
		}
	}
	si.nameQualifier = samlNameQualifier(si.issuer, s.account, prov.name)
	// The entry outlives every time check that could still accept the assertion.
	expiry := c.NotOnOrAfter
	for _, t := range []time.Time{scd.NotOnOrAfter, as.IssueInstant.Add(saml.MaxIssueDelay)} {
		if t.After(expiry) {
			expiry = t
		}
	}
	expiry = expiry.Add(samlClockSkew)
	return si, expiry, nil
}

// samlNameQualifier is AWS's SAML:namequalifier and NameQualifier: the base64 SHA-1 of
// issuer + account + "/" + provider name (SPEC §1.4). SHA-1 here is an identifier, as
// AWS computes it, not a security check; it keeps trust policies portable.
func samlNameQualifier(issuer, account, providerName string) string {
	sum := sha1.Sum([]byte(issuer + account + "/" + providerName))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// samlSessionIdentity reads the AWS attributes into an Identity for the shared trust
// and issue code: Subject is the NameID, Issuer the IdP's entity id.
func samlSessionIdentity(si *samlIdentity) (Identity, error) {
	id := Identity{
		Issuer: si.issuer, Subject: si.nameID, Audience: []string{si.recipient},
		ConditionKeys: map[string][]string{},
	}
	names := si.attrs[samlAttrSessionName]
	if len(names) != 1 || len(names[0]) < minSessionName || len(names[0]) > maxSessionName || !validSessionName(names[0]) {
		return id, invalidSAML(fmt.Errorf("the assertion's RoleSessionName attribute must be one value of 2 to 64 characters of %s", sessionNameFormat))
	}
	id.ConditionKeys["sts:RoleSessionName"] = names
	if v := si.attrs[samlAttrSourceIdentity]; len(v) > 0 {
		if len(v) != 1 || len(v[0]) < 2 || len(v[0]) > 64 || !validSessionName(v[0]) {
			return id, invalidSAML(errors.New("the assertion's SourceIdentity attribute must be one value of 2 to 64 characters of " + sessionNameFormat))
		}
		id.SourceIdentity = v[0]
	}
	for name, vals := range si.attrs {
		key, ok := strings.CutPrefix(name, samlAttrTagPrefix)
		if !ok {
			continue
		}
		if len(vals) != 1 {
			return id, invalidSAML(fmt.Errorf("the assertion's PrincipalTag attribute %q must have one value", clip(key, maxTagKey)))
		}
		if id.Tags == nil {
			id.Tags = map[string]string{}
		}
		id.Tags[key] = vals[0]
	}
	id.TransitiveTagKeys = si.attrs[samlAttrTransitiveTags]
	return id, nil
}

// roleOffered reports whether the Role attribute lists the pair "role,provider" (in
// either order, as AWS accepts).
func roleOffered(values []string, roleARN, providerARN string) bool {
	for _, v := range values {
		a, b, ok := strings.Cut(v, ",")
		if !ok {
			continue
		}
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		if (a == roleARN && b == providerARN) || (a == providerARN && b == roleARN) {
			return true
		}
	}
	return false
}

// samlPrincipalNames are the spellings a trust policy may use for the provider.
func samlPrincipalNames(providerARN string) []string {
	return []string{providerARN, strings.Replace(providerARN, "arn:portcullis:", "arn:aws:", 1)}
}

// samlReservedKeys are the SAML: keys the service sets; an attribute of the same name
// must not pose as one of them.
var samlReservedKeys = []string{"aud", "iss", "sub", "sub_type", "namequalifier", "doc"}

// wellKnownSAMLAttributes are the attribute Names whose AWS condition key is a short
// name (SPEC §1.7: eduPerson, X.500 and the like).
var wellKnownSAMLAttributes = map[string]string{
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":  "edupersonaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.6":  "edupersonprincipalname",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.7":  "edupersonentitlement",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.9":  "edupersonscopedaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.10": "edupersontargetedid",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.13": "edupersonuniqueid",
	"urn:oid:0.9.2342.19200300.100.1.1": "uid",
	"urn:oid:0.9.2342.19200300.100.1.3": "mail",
	"urn:oid:2.5.4.3":                   "cn",
	"urn:oid:2.5.4.4":                   "sn",
	"urn:oid:2.5.4.42":                  "givenname",
	"urn:oid:2.16.840.1.113730.3.1.241": "displayname",
}

// samlTrustContext builds the condition keys of the trust decision (SPEC §1.7; the
// package doc lists them).
func (s *Service) samlTrustContext(si *samlIdentity, id *Identity, sourceIP string) policy.Context {
	c := policy.Context{}
	set := func(key string, vals []string) {
		if len(vals) == 0 || slices.Contains(samlReservedKeys, key) {
			return
		}
		c.Add("SAML:"+key, vals...)
	}
	for name, vals := range si.attrs {
		set(name, vals)
		if short, ok := wellKnownSAMLAttributes[name]; ok {
			set(short, vals)
		}
	}
	for name, vals := range si.friendly {
		if _, taken := si.attrs[name]; !taken {
			set(strings.ToLower(name), vals)
		}
	}
	c.Set("SAML:aud", si.recipient)
	c.Set("SAML:iss", si.issuer)
	c.Set("SAML:sub", si.nameID)
	c.Set("SAML:sub_type", subjectType(si.nameIDFormat))
	c.Set("SAML:namequalifier", si.nameQualifier)
	c.Set("SAML:doc", s.account+"/"+si.provider.name)
	c.Set("sts:RoleSessionName", id.ConditionKeys["sts:RoleSessionName"]...)
	if id.SourceIdentity != "" {
		c.Set("sts:SourceIdentity", id.SourceIdentity)
	}
	c.Set("portcullis:FederatedProvider", si.provider.arn)
	if sourceIP != "" {
		c.Set("portcullis:SourceIp", sourceIP)
	}
	if len(id.Tags) > 0 {
		var keys []string
		for k, v := range id.Tags {
			c.Set("portcullis:RequestTag/"+k, v)
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c.Set("portcullis:TagKeys", keys...)
	}
	return c
}

// subjectType is the NameID Format without the SAML 2.0 prefix (SPEC §1.4);
// unspecified when the assertion gives none.
func subjectType(format string) string {
	if format == "" {
		return "unspecified"
	}
	return strings.TrimPrefix(format, nameIDFormatPrefix)
}

// samlDuration is DurationSeconds against the role's maximum, shortened by the
// SessionDuration attribute and by SessionNotOnOrAfter (SPEC §1.3).
func (s *Service) samlDuration(requested time.Duration, role store.Role, si *samlIdentity) (time.Duration, error) {
	d, err := sessionDuration(requested, role.MaxSessionDuration)
	if err != nil {
		return 0, err
	}
	if v := si.attrs[samlAttrSessionDur]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || n < minDuration || n > maxDuration {
			return 0, invalidSAML(fmt.Errorf("the assertion's SessionDuration attribute must be one integer from %d to %d", minDuration, maxDuration))
		}
		d = min(d, time.Duration(n)*time.Second)
	}
	if !si.sessionNotOnOrAfter.IsZero() {
		left := si.sessionNotOnOrAfter.Sub(s.now()).Truncate(time.Second)
		if left <= 0 {
			return 0, invalidSAML(fmt.Errorf("the IdP session ended at %s", si.sessionNotOnOrAfter))
		}
		d = min(d, left)
	}
	return d, nil
}

// replayCache remembers accepted assertion ids until they could no longer pass the
// time checks. It is per process: with several replicas, an assertion could be used
// once on each. When full of live entries it refuses new ones (fails closed).
type replayCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, entries: map[string]time.Time{}}
}

// claim records key until expiry; it fails when key is already there.
func (c *replayCache) claim(key string, expiry, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.entries[key]; ok && now.Before(until) {
		return errors.New("already used (replay)")
	}
	if len(c.entries) >= c.max {
		for k, until := range c.entries {
			if !now.Before(until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			return fmt.Errorf("replay cache holds %d live assertions; refusing more", c.max)
		}
	}
	c.entries[key] = expiry
	return nil
}
