package sts_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/sts"
	"github.com/portcullis-id/portcullis/store"
)

const (
	idpEntityID     = "https://idp.example.test/saml"
	samlProviderARN = "arn:portcullis:iam::" + account + ":saml-provider/corp"
	samlRoleARN     = "arn:portcullis:iam::" + account + ":role/saml-admin"
	// samlRecipient is the default Recipient and Audience: <Issuer>/sts.
	samlRecipient  = issuer + "/sts"
	eduAffiliation = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"
)

// trustCorpStaff admits the corp IdP's staff through our recipient.
const trustCorpStaff = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Principal":{"Federated":"` + samlProviderARN + `"},
 "Action":"sts:AssumeRoleWithSAML",
 "Condition":{"StringEquals":{"SAML:aud":"` + samlRecipient + `","SAML:edupersonaffiliation":"staff"}}}]}`

// testIdP signs SAML Responses by hand with goxmldsig (RSA-SHA256, exclusive c14n),
// the way an IdP does, so that the tests can also build what an attacker would.
type testIdP struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	seq  atomic.Int64
}

func (p *testIdP) GetKeyPair() (*rsa.PrivateKey, []byte, error) { return p.key, p.cert.Raw, nil }

func newTestIdP(t testing.TB) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// crewjam checks the certificate's validity by the real clock.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.example.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testIdP{key: key, cert: cert}
}

func (p *testIdP) metadata() []byte {
	return []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + idpEntityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(p.cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`)
}

func (p *testIdP) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw})
}

// assertion is a valid assertion for the corp provider and the saml-admin role;
// tests change it to build the failing cases.
func (p *testIdP) assertion(now time.Time) *saml.Assertion {
	id := fmt.Sprintf("_a%d", p.seq.Add(1))
	session := now.Add(2 * time.Hour)
	attr := func(name string, vals ...string) saml.Attribute {
		a := saml.Attribute{Name: name, NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}
		for _, v := range vals {
			a.Values = append(a.Values, saml.AttributeValue{Type: "xs:string", Value: v})
		}
		return a
	}
	return &saml.Assertion{
		ID: id, IssueInstant: now, Version: "2.0",
		Issuer: saml.Issuer{Value: idpEntityID},
		Subject: &saml.Subject{
			NameID: &saml.NameID{Format: string(saml.PersistentNameIDFormat), Value: "alice@corp.example"},
			SubjectConfirmations: []saml.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &saml.SubjectConfirmationData{
					NotOnOrAfter: now.Add(5 * time.Minute), Recipient: samlRecipient,
				},
			}},
		},
		Conditions: &saml.Conditions{
			NotBefore: now.Add(-30 * time.Second), NotOnOrAfter: now.Add(5 * time.Minute),
			AudienceRestrictions: []saml.AudienceRestriction{{Audience: saml.Audience{Value: samlRecipient}}},
		},
		AuthnStatements: []saml.AuthnStatement{{
			AuthnInstant: now, SessionIndex: id, SessionNotOnOrAfter: &session,
			AuthnContext: saml.AuthnContext{AuthnContextClassRef: &saml.AuthnContextClassRef{
				Value: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}},
		}},
		AttributeStatements: []saml.AttributeStatement{{Attributes: []saml.Attribute{
			attr("https://aws.amazon.com/SAML/Attributes/Role", "arn:portcullis:iam::"+account+":role/other,"+samlProviderARN,
				samlRoleARN+","+samlProviderARN),
			attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", "alice"),
			attr("https://aws.amazon.com/SAML/Attributes/SessionDuration", "1800"),
			attr(eduAffiliation, "staff", "member"),
		}}},
	}
}

// sign signs el enveloped, with the Signature right after the Issuer (SAML core
// §2.3.3), using method.
func (p *testIdP) sign(t testing.TB, el *etree.Element, method string) *etree.Element {
	t.Helper()
	ctx := dsig.NewDefaultSigningContext(p)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(method); err != nil {
		t.Fatal(err)
	}
	if method == dsig.RSASHA1SignatureMethod {
		ctx.Hash = crypto.SHA1
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		t.Fatal(err)
	}
	out := el.Copy()
	out.InsertChildAt(1, sig)
	return out
}

// response wraps assertion elements in a samlp:Response (unsigned, as most IdPs send
// it when the assertion is signed).
func response(now time.Time, assertions ...*etree.Element) *etree.Document {
	doc := etree.NewDocument()
	r := doc.CreateElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	r.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	r.CreateAttr("ID", fmt.Sprintf("_r%d", now.UnixNano()))
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", now.UTC().Format(time.RFC3339))
	r.CreateAttr("Destination", samlRecipient)
	r.CreateElement("saml:Issuer").SetText(idpEntityID)
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	for _, a := range assertions {
		r.AddChild(a)
	}
	return doc
}

func encode(t testing.TB, doc *etree.Document) string {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func newSAMLHarness(t *testing.T) (*harness, *testIdP) {
	t.Helper()
	idp := newTestIdP(t)
	h := newHarness(t, func(d *sts.Deps) {
		d.SAMLProviders = []sts.SAMLProvider{{ARN: samlProviderARN, MetadataXML: idp.metadata()}}
	})
	if _, err := h.st.CreateRole(t.Context(), store.Role{
		ID: "PROASAMLADMIN", Name: "saml-admin", Path: "/", ARN: samlRoleARN,
		TrustPolicy: json.RawMessage(trustCorpStaff), MaxSessionDuration: 4 * time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	return h, idp
}

func samlInput(b64 string) *awssts.AssumeRoleWithSAMLInput {
	return &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(samlRoleARN), PrincipalArn: aws.String(samlProviderARN), SAMLAssertion: aws.String(b64),
	}
}

func TestAssumeRoleWithSAMLIssuesCredentials(t *testing.T) {
	t.Parallel()
	h, idp := newSAMLHarness(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	signed := idp.sign(t, idp.assertion(now).Element(), dsig.RSASHA256SignatureMethod)
	b64 := encode(t, response(now, signed))
	client := h.client(1)

	out, err := client.AssumeRoleWithSAML(ctx, samlInput(b64))
	if err != nil {
		t.Fatal(err)
	}
	if !accessKeyPattern.MatchString(aws.ToString(out.Credentials.AccessKeyId)) {
		t.Errorf("AccessKeyId = %q", aws.ToString(out.Credentials.AccessKeyId))
	}
	// The SessionDuration attribute (1800) shortens the default hour.
	if want := h.now.Add(30 * time.Minute); !out.Credentials.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", out.Credentials.Expiration, want)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:portcullis:sts::"+account+":assumed-role/saml-admin/alice"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
	}
	sum := sha1.Sum([]byte(idpEntityID + account + "/corp"))
	wantNQ := base64.StdEncoding.EncodeToString(sum[:])
	if aws.ToString(out.Subject) != "alice@corp.example" || aws.ToString(out.SubjectType) != "persistent" ||
		aws.ToString(out.Issuer) != idpEntityID || aws.ToString(out.Audience) != samlRecipient ||
		aws.ToString(out.NameQualifier) != wantNQ {
		t.Errorf("subject %q type %q issuer %q audience %q namequalifier %q (want %q)", aws.ToString(out.Subject),
			aws.ToString(out.SubjectType), aws.ToString(out.Issuer), aws.ToString(out.Audience), aws.ToString(out.NameQualifier), wantNQ)
	}
	rs, err := h.st.GetRoleSession(ctx, aws.ToString(out.Credentials.AccessKeyId))
	if err != nil {
		t.Fatal(err)
	}
	if rs.RoleID != "PROASAMLADMIN" || rs.SessionName != "alice" || rs.Subject != "alice@corp.example" || rs.Issuer != idpEntityID {
		t.Errorf("stored session = %+v", rs)
	}
	claims := verifySessionToken(t, h.km, aws.ToString(out.Credentials.SessionToken))
	if claims.Role != samlRoleARN || claims.Provider != idpEntityID || claims.SourceIdentity != "alice@corp.example" {
		t.Errorf("session claims = %+v", claims)
	}

	// The same assertion again is a replay.
	_, err = client.AssumeRoleWithSAML(ctx, samlInput(b64))
	wantSAMLCode(t, err, "InvalidIdentityToken")

	ev := h.audit.all()
	if len(ev) != 2 || ev[0].Action != "sts.assume_role_with_saml" || ev[0].Outcome != audit.Success ||
		ev[0].Actor != "alice@corp.example" || ev[0].Target != samlRoleARN ||
		ev[1].Outcome != audit.Failure || !strings.Contains(ev[1].Reason, "replay") {
		t.Errorf("audit = %+v", ev)
	}
}

func wantSAMLCode(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	if code == "AccessDenied" && apiErr.ErrorMessage() != "Not authorized to perform sts:AssumeRoleWithSAML" {
		t.Errorf("AccessDenied message = %q", apiErr.ErrorMessage())
	}
}

func TestAssumeRoleWithSAMLRefusals(t *testing.T) {
	t.Parallel()
	h, idp := newSAMLHarness(t)
	sha256 := dsig.RSASHA256SignatureMethod
	// signedResponse builds a response around one assertion, changed by edit before
	// it is signed.
	signedResponse := func(t *testing.T, now time.Time, edit func(*saml.Assertion)) string {
		a := idp.assertion(now)
		if edit != nil {
			edit(a)
		}
		return encode(t, response(now, idp.sign(t, a.Element(), sha256)))
	}
	setAttr := func(name string, vals ...string) func(*saml.Assertion) {
		return func(a *saml.Assertion) {
			attrs := a.AttributeStatements[0].Attributes
			for i := range attrs {
				if attrs[i].Name == name {
					attrs[i].Values = nil
					for _, v := range vals {
						attrs[i].Values = append(attrs[i].Values, saml.AttributeValue{Value: v})
					}
				}
			}
		}
	}
	tests := []struct {
		name  string
		build func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput
		code  string
		// why is in the audited reason: the refusal is for the reason the case is about.
		why string
	}{
		{"second unsigned assertion beside a signed one", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			good := idp.sign(t, idp.assertion(now).Element(), sha256)
			evil := idp.assertion(now)
			evil.Subject.NameID.Value = "mallory"
			return samlInput(encode(t, response(now, evil.Element(), good)))
		}, "InvalidIdentityToken", "2 Assertion elements"},
		{"signed assertion moved into Extensions, unsigned one in its place", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			good := idp.sign(t, idp.assertion(now).Element(), sha256)
			evil := idp.assertion(now)
			evil.Subject.NameID.Value = "mallory"
			doc := response(now, evil.Element())
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(good)
			doc.Root().InsertChildAt(1, ext)
			return samlInput(encode(t, doc))
		}, "InvalidIdentityToken", "2 Assertion elements"},
		{"NameID changed after signing", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			el := idp.sign(t, idp.assertion(now).Element(), sha256)
			el.FindElement("./Subject/NameID").SetText("mallory@corp.example")
			return samlInput(encode(t, response(now, el)))
		}, "InvalidIdentityToken", "Signature could not be verified"},
		{"unsigned assertion", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(encode(t, response(now, idp.assertion(now).Element())))
		}, "InvalidIdentityToken", "signature element not present"},
		{"signed by another key", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			other := newTestIdP(t)
			return samlInput(encode(t, response(now, other.sign(t, idp.assertion(now).Element(), sha256))))
		}, "InvalidIdentityToken", "Could not verify certificate"},
		{"RSA-SHA1 signature", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(encode(t, response(now, idp.sign(t, idp.assertion(now).Element(), dsig.RSASHA1SignatureMethod))))
		}, "InvalidIdentityToken", "SHA-1"},
		{"wrong audience", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) {
				a.Conditions.AudienceRestrictions[0].Audience.Value = "https://signin.aws.amazon.com/saml"
			}))
		}, "InvalidIdentityToken", "AudienceRestriction does not contain"},
		{"no audience restriction", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) { a.Conditions.AudienceRestrictions = nil }))
		}, "InvalidIdentityToken", "need NotOnOrAfter and an AudienceRestriction"},
		{"wrong recipient", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) {
				a.Subject.SubjectConfirmations[0].SubjectConfirmationData.Recipient = "https://elsewhere.test/acs"
			}))
		}, "InvalidIdentityToken", "Recipient is not"},
		{"no subject confirmation", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) { a.Subject.SubjectConfirmations = nil }))
		}, "InvalidIdentityToken", "0 SubjectConfirmations"},
		{"no conditions (crewjam panics)", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) { a.Conditions = nil }))
		}, "InvalidIdentityToken", "panicked"},
		{"expired", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) {
				a.Conditions.NotOnOrAfter = now.Add(-10 * time.Minute)
				a.Subject.SubjectConfirmations[0].SubjectConfirmationData.NotOnOrAfter = now.Add(-10 * time.Minute)
			}))
		}, "InvalidIdentityToken", "SubjectConfirmationData is expired"},
		{"issued long ago", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) { a.IssueInstant = now.Add(-10 * time.Minute) }))
		}, "InvalidIdentityToken", "expired on"},
		{"IdP session over", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, func(a *saml.Assertion) {
				past := now.Add(-time.Minute)
				a.AuthnStatements[0].SessionNotOnOrAfter = &past
			}))
		}, "InvalidIdentityToken", "IdP session ended"},
		{"no RoleSessionName attribute", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, setAttr("https://aws.amazon.com/SAML/Attributes/RoleSessionName")))
		}, "InvalidIdentityToken", "RoleSessionName attribute"},
		{"role attribute does not offer the role", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, setAttr("https://aws.amazon.com/SAML/Attributes/Role",
				"arn:portcullis:iam::"+account+":role/other,"+samlProviderARN)))
		}, "AccessDenied", "Role attribute does not offer"},
		{"trust policy denies a student", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput(signedResponse(t, now, setAttr(eduAffiliation, "student")))
		}, "AccessDenied", "denies sts:AssumeRoleWithSAML"},
		{"unknown role offered by the IdP", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			missing := "arn:portcullis:iam::" + account + ":role/missing"
			in := samlInput(signedResponse(t, now, setAttr("https://aws.amazon.com/SAML/Attributes/Role", missing+","+samlProviderARN)))
			in.RoleArn = aws.String(missing)
			return in
		}, "AccessDenied", "does not exist"},
		{"unknown provider", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			in := samlInput(signedResponse(t, now, nil))
			in.PrincipalArn = aws.String("arn:portcullis:iam::" + account + ":saml-provider/nope")
			return in
		}, "InvalidIdentityToken", "no SAML provider nope"},
		{"principal is not a SAML provider", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			in := samlInput(signedResponse(t, now, nil))
			in.PrincipalArn = aws.String("arn:portcullis:iam::" + account + ":oidc-provider/x")
			return in
		}, "ValidationError", "PrincipalArn must be"},
		{"duration above the role's maximum", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			in := samlInput(signedResponse(t, now, nil))
			in.DurationSeconds = aws.Int32(5*3600 - 1)
			return in
		}, "ValidationError", "exceeds the MaxSessionDuration"},
		{"session policy not JSON", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			in := samlInput(signedResponse(t, now, nil))
			in.Policy = aws.String(`{"Version":`)
			return in
		}, "MalformedPolicyDocument", "JSON"},
		{"not base64", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			return samlInput("!!!not-base64!!!")
		}, "InvalidIdentityToken", "not base64"},
		{"not a Response", func(t *testing.T, now time.Time) *awssts.AssumeRoleWithSAMLInput {
			doc := etree.NewDocument()
			doc.SetRoot(idp.sign(t, idp.assertion(now).Element(), sha256))
			return samlInput(encode(t, doc))
		}, "InvalidIdentityToken", "not a samlp:Response"},
	}
	client := h.client(1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.AssumeRoleWithSAML(t.Context(), tc.build(t, time.Now().UTC().Truncate(time.Second)))
			wantSAMLCode(t, err, tc.code)
		})
	}
	sessions, err := h.st.ListRoleSessions(t.Context(), "PROASAMLADMIN")
	if err != nil || len(sessions) != 0 {
		t.Errorf("refused requests stored %d sessions (%v)", len(sessions), err)
	}
	ev := h.audit.all()
	if len(ev) != len(tests) {
		t.Fatalf("audit events = %d, want one per refusal (%d)", len(ev), len(tests))
	}
	for i, tc := range tests {
		if !strings.Contains(ev[i].Reason, tc.why) || ev[i].Action != "sts.assume_role_with_saml" {
			t.Errorf("%s: audited %s %q, want the reason to mention %q", tc.name, ev[i].Action, ev[i].Reason, tc.why)
		}
	}
}

// TestSAMLTestIdPSignaturesVerifyWithXmlsec1 checks the test IdP against an
// independent XML-signature implementation, so the acceptance tests above do not
// rest on goxmldsig agreeing with itself.
func TestSAMLTestIdPSignaturesVerifyWithXmlsec1(t *testing.T) {
	t.Parallel()
	xmlsec, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Skip("SKIPPING independent signature check: xmlsec1 is not installed (apt-get install xmlsec1)")
	}
	idp := newTestIdP(t)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, idp.certPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	verify := func(doc *etree.Document) error {
		b, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("resp%d.xml", idp.seq.Add(1)))
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), xmlsec, "--verify", "--trusted-pem", certFile,
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", f).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	signed := idp.sign(t, idp.assertion(now).Element(), dsig.RSASHA256SignatureMethod)
	if err := verify(response(now, signed)); err != nil {
		t.Errorf("xmlsec1 refuses the test IdP's signature: %v", err)
	}
	tampered := signed.Copy()
	tampered.FindElement("./Subject/NameID").SetText("mallory@corp.example")
	if err := verify(response(now, tampered)); err == nil {
		t.Error("xmlsec1 accepts a tampered assertion")
	}
}

func TestNewRefusesBadSAMLProviders(t *testing.T) {
	t.Parallel()
	idp := newTestIdP(t)
	for name, p := range map[string]sts.SAMLProvider{
		"ARN of another account": {ARN: "arn:portcullis:iam::999999999999:saml-provider/corp", MetadataXML: idp.metadata()},
		"not a provider ARN":     {ARN: "arn:portcullis:iam::" + account + ":role/corp", MetadataXML: idp.metadata()},
		"no metadata":            {ARN: samlProviderARN},
		"metadata without certs": {ARN: samlProviderARN, MetadataXML: []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor/></md:EntityDescriptor>`)},
		"relative recipient":     {ARN: samlProviderARN, MetadataXML: idp.metadata(), Recipient: "/sts"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			_, err := sts.New(sts.Deps{
				Store: nil, SAMLProviders: []sts.SAMLProvider{p}, Account: account, Issuer: issuer,
			})
			if err == nil || !strings.Contains(err.Error(), "SAMLProviders[0]") {
				t.Errorf("New = %v, want an error naming SAMLProviders[0]", err)
			}
		})
	}
}

// SetSAMLProviders swaps the trusted providers while serving: a removed provider's
// assertions are refused, an invalid list is refused whole and changes nothing, and a
// provider put back does not reopen the replay window of assertions already used.
func TestSetSAMLProvidersSwapsTrust(t *testing.T) {
	t.Parallel()
	h, idp := newSAMLHarness(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	b64 := encode(t, response(now, idp.sign(t, idp.assertion(now).Element(), dsig.RSASHA256SignatureMethod)))
	client := h.client(1)

	if err := h.svc.SetSAMLProviders(nil); err != nil {
		t.Fatal(err)
	}
	_, err := client.AssumeRoleWithSAML(ctx, samlInput(b64))
	wantSAMLCode(t, err, "InvalidIdentityToken")

	good := sts.SAMLProvider{ARN: samlProviderARN, MetadataXML: idp.metadata()}
	if err := h.svc.SetSAMLProviders([]sts.SAMLProvider{good, {ARN: samlProviderARN + "-x", MetadataXML: []byte("<nope/>")}}); err == nil {
		t.Fatal("a list with invalid metadata was accepted")
	}
	_, err = client.AssumeRoleWithSAML(ctx, samlInput(b64))
	wantSAMLCode(t, err, "InvalidIdentityToken")

	if err := h.svc.SetSAMLProviders([]sts.SAMLProvider{good}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AssumeRoleWithSAML(ctx, samlInput(b64)); err != nil {
		t.Fatalf("after the provider was put back: %v", err)
	}
	if err := h.svc.SetSAMLProviders([]sts.SAMLProvider{good}); err != nil {
		t.Fatal(err)
	}
	_, err = client.AssumeRoleWithSAML(ctx, samlInput(b64))
	wantSAMLCode(t, err, "InvalidIdentityToken")
}
