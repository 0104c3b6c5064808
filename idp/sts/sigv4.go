package sts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/store"
)

// Signature Version 4, as AWS documents it ("Create a signed AWS API request"):
//
//	canonical request = method \n canonical URI \n canonical query \n
//	                    canonical headers \n signed headers \n payload hash
//	string to sign    = "AWS4-HMAC-SHA256" \n X-Amz-Date \n scope \n hex(SHA-256(canonical request))
//	scope             = <yyyymmdd>/<region>/sts/aws4_request
//	signing key       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, yyyymmdd), region), "sts"), "aws4_request")
//	signature         = hex(HMAC(signing key, string to sign))
//
// A request carries it in the Authorization header or, presigned, in the X-Amz-*
// query parameters. Only credentials this service issued sign: the access key id names
// a RoleSession, whose sealed secret is the HMAC key.
const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Terminator = "aws4_request"
	sigV4Service    = "sts"
	amzDateFormat   = "20060102T150405Z"
	// maxClockSkew is how far a request's date may be from our clock.
	maxClockSkew = 5 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires AWS accepts (seven days).
	maxPresignExpiry = 7 * 24 * time.Hour
	// presignLifetime is how long a presigned URL is good for at most. AWS's STS keeps
	// presigned requests for 15 minutes whatever X-Amz-Expires says (the SDK's presign
	// client sends none); a shorter X-Amz-Expires is honoured. A presigned
	// GetCallerIdentity proves an identity to whoever holds the URL, so it is kept short.
	presignLifetime = 15 * time.Minute
	// maxSessionTokenLen bounds the X-Amz-Security-Token parsed: a session token is a
	// JWS of well under this.
	maxSessionTokenLen = 16 << 10
	// unsignedPayload is the payload hash of a request that does not sign its body.
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// caller is the principal of an authenticated request: a live role session and its
// verified session token.
type caller struct {
	session store.RoleSession
	claims  SessionClaims
	token   string // the verified session token
}

// sigV4 is a request's signature as parsed from either form.
type sigV4 struct {
	accessKeyID   string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     []byte
	amzDate       string
	date          time.Time
	securityToken string
	presigned     bool
	expires       time.Duration
}

func (v *sigV4) scope() string {
	return v.scopeDate + "/" + v.region + "/" + v.service + "/" + sigV4Terminator
}

// authenticate checks a signed request: its form, its date, its signature with the
// secret of the session its access key id names, the session token and the session's
// state. The checks that tell a session's state run only after the signature proved
// the caller holds its secret.
func (s *Service) authenticate(ctx context.Context, r *http.Request, body []byte) (*caller, error) {
	return s.authenticateFor(ctx, r, body, sigV4Service)
}

// authenticateFor is authenticate for requests to service: a signature is scoped to
// one service, so one made for the decision point cannot be replayed at the STS, nor
// the other way round.
func (s *Service) authenticateFor(ctx context.Context, r *http.Request, body []byte, service string) (*caller, error) {
	sig, err := parseSigV4(r)
	if err != nil {
		return nil, err
	}
	if sig.service != service {
		return nil, signatureMismatchMsg("Credential should be scoped to correct service: '" + service + "'.")
	}
	if err := s.checkDate(sig); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(sig.accessKeyID, AccessKeyPrefix) {
		return nil, invalidClientToken(fmt.Errorf("access key id %q is not a role session's", clip(sig.accessKeyID, 32)))
	}
	rs, err := s.st.GetRoleSession(ctx, sig.accessKeyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidClientToken(fmt.Errorf("no role session %s", sig.accessKeyID))
	case err != nil:
		return nil, internalError(fmt.Errorf("look up role session %s: %w", sig.accessKeyID, err))
	}
	secret, err := s.sealer.Open(rs.SecretSealed, []byte("role_sessions/"+rs.ID))
	if err != nil {
		return nil, internalError(fmt.Errorf("open secret of role session %s: %w", rs.ID, err))
	}
	want, err := signature(r, body, sig, secret)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(want, sig.signature) {
		return nil, signatureMismatch(fmt.Errorf("signature of role session %s does not match", rs.ID))
	}
	if sig.securityToken == "" {
		return nil, invalidClientToken(fmt.Errorf("request signed by role session %s has no security token", rs.ID))
	}
	claims, err := s.verifySessionToken(sig.securityToken, rs)
	if err != nil {
		return nil, invalidClientToken(fmt.Errorf("security token of role session %s: %w", rs.ID, err))
	}
	if rs.Revoked {
		return nil, invalidClientToken(fmt.Errorf("role session %s is revoked", rs.ID))
	}
	if !s.now().Before(rs.ExpiresAt) {
		return nil, awsError(http.StatusForbidden, codeSessionExpired, "The security token included in the request is expired",
			fmt.Errorf("role session %s expired at %s", rs.ID, rs.ExpiresAt.Format(time.RFC3339)))
	}
	return &caller{session: rs, claims: claims, token: sig.securityToken}, nil
}

// SigV4ServicePDP is the service name in the credential scope of SigV4-signed requests
// to the decision point (/authz/v1/check).
const SigV4ServicePDP = "portcullis"

// SignedSession is the role session that signed a request.
type SignedSession struct {
	AccessKeyID  string
	RoleARN      string
	SessionToken string
}

// VerifySignedRequest checks a request to the decision point signed with SigV4 (header
// or presigned form, scope service SigV4ServicePDP) with credentials we issued, as the
// STS checks its own: date within five minutes, signature, session token, and a live,
// unrevoked session. body is the request body, already read. Errors are
// *httperr.Error values with AWS's codes (SignatureDoesNotMatch, InvalidClientTokenId,
// ExpiredToken...).
func (s *Service) VerifySignedRequest(ctx context.Context, r *http.Request, body []byte) (SignedSession, error) {
	c, err := s.authenticateFor(ctx, r, body, SigV4ServicePDP)
	if err != nil {
		return SignedSession{}, err
	}
	return SignedSession{AccessKeyID: c.session.ID, RoleARN: c.session.RoleARN, SessionToken: c.token}, nil
}

// IsSigV4 reports whether r carries a SigV4 signature, in the Authorization header or
// presigned in the query.
func IsSigV4(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), sigV4Algorithm+" ") ||
		r.URL.Query().Get("X-Amz-Algorithm") == sigV4Algorithm
}

// checkDate applies the clock-skew window, and a presigned request's own expiry.
func (s *Service) checkDate(sig *sigV4) error {
	now := s.now().UTC()
	early, late := sig.date.Add(-maxClockSkew), sig.date.Add(maxClockSkew)
	if now.Before(early) {
		return signatureMismatchMsg(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			sig.amzDate, now.Add(maxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}
	if sig.presigned {
		if now.After(sig.date.Add(sig.expires)) {
			return awsError(http.StatusBadRequest, codeRequestExpired, "Request has expired.",
				fmt.Errorf("presigned at %s for %s", sig.amzDate, sig.expires))
		}
		return nil
	}
	if now.After(late) {
		return signatureMismatchMsg(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			sig.amzDate, now.Add(-maxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}
	return nil
}

// signatureMismatchMsg is SignatureDoesNotMatch with AWS's account of a date outside
// the window: it names only the times, which the client sent or can read off a clock.
func signatureMismatchMsg(msg string) error {
	return awsError(http.StatusForbidden, codeSignatureDoesNotMatch, msg, errors.New(msg))
}

// parseSigV4 reads the signature from the Authorization header or the presigned
// query parameters.
func parseSigV4(r *http.Request) (*sigV4, error) {
	auth := r.Header.Values("Authorization")
	query := r.URL.Query()
	_, presigned := query["X-Amz-Algorithm"]
	switch {
	case len(auth) > 0 && presigned:
		return nil, incompleteSignature("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.", nil)
	case len(auth) > 1:
		return nil, incompleteSignature("The Authorization header was given more than once.", nil)
	case len(auth) == 1:
		return parseAuthorizationHeader(r, auth[0])
	case presigned:
		return parsePresigned(query)
	}
	return nil, awsError(http.StatusForbidden, codeMissingAuthentication, "Request is missing Authentication Token", nil)
}

// parseAuthorizationHeader reads
// "AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=a;b, Signature=<hex>".
func parseAuthorizationHeader(r *http.Request, header string) (*sigV4, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if alg != sigV4Algorithm {
		return nil, incompleteSignature("Unsupported AWS 'algorithm': '"+clip(alg, 32)+"'", nil)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, incompleteSignature("Authorization header requires each component to be of the form key=value.", nil)
		}
		if _, dup := fields[k]; dup {
			return nil, incompleteSignature("Authorization header names "+clip(k, 32)+" twice.", nil)
		}
		fields[k] = v
	}
	var missing []string
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			missing = append(missing, "'"+k+"'")
		}
	}
	if len(missing) > 0 || len(fields) != 3 {
		return nil, incompleteSignature("Authorization header requires "+strings.Join(missing, ", ")+
			" parameters and no others: 'Credential', 'SignedHeaders', 'Signature'.", nil)
	}
	amzDate := r.Header.Values("X-Amz-Date")
	if len(amzDate) != 1 {
		return nil, incompleteSignature("Authorization header requires existence of a 'X-Amz-Date' header.", nil)
	}
	tokens := r.Header.Values("X-Amz-Security-Token")
	if len(tokens) > 1 {
		return nil, incompleteSignature("The X-Amz-Security-Token header was given more than once.", nil)
	}
	sig := &sigV4{}
	if len(tokens) == 1 {
		sig.securityToken = tokens[0]
	}
	if err := sig.fill(fields["Credential"], fields["SignedHeaders"], fields["Signature"], amzDate[0]); err != nil {
		return nil, err
	}
	return sig, nil
}

// parsePresigned reads the X-Amz-* query parameters of a presigned URL.
func parsePresigned(q url.Values) (*sigV4, error) {
	get := func(name string) (string, error) {
		v := q[name]
		if len(v) > 1 {
			return "", incompleteSignature("Query parameter "+name+" was given more than once.", nil)
		}
		if len(v) == 0 {
			return "", nil
		}
		return v[0], nil
	}
	vals := map[string]string{}
	var missing []string
	for _, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
		v, err := get(name)
		if err != nil {
			return nil, err
		}
		if v == "" && name != "X-Amz-Security-Token" && name != "X-Amz-Expires" {
			missing = append(missing, name)
		}
		vals[name] = v
	}
	if len(missing) > 0 {
		return nil, incompleteSignature("The presigned request lacks "+strings.Join(missing, ", ")+".", nil)
	}
	if vals["X-Amz-Algorithm"] != sigV4Algorithm {
		return nil, incompleteSignature("Unsupported AWS 'algorithm': '"+clip(vals["X-Amz-Algorithm"], 32)+"'", nil)
	}
	expires := presignLifetime
	if e := vals["X-Amz-Expires"]; e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 || time.Duration(n)*time.Second > maxPresignExpiry {
			return nil, incompleteSignature(fmt.Sprintf("X-Amz-Expires must be an integer from 1 to %d.", int(maxPresignExpiry.Seconds())), err)
		}
		expires = min(expires, time.Duration(n)*time.Second)
	}
	sig := &sigV4{presigned: true, expires: expires, securityToken: vals["X-Amz-Security-Token"]}
	if err := sig.fill(vals["X-Amz-Credential"], vals["X-Amz-SignedHeaders"], vals["X-Amz-Signature"], vals["X-Amz-Date"]); err != nil {
		return nil, err
	}
	return sig, nil
}

// fill checks and stores the parts both forms share.
func (sig *sigV4) fill(credential, signedHeaders, signature, amzDate string) error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" {
		return incompleteSignature("Credential must have the form <access key id>/<date>/<region>/<service>/aws4_request.", nil)
	}
	sig.accessKeyID, sig.scopeDate, sig.region, sig.service = parts[0], parts[1], parts[2], parts[3]
	if parts[4] != sigV4Terminator {
		return signatureMismatchMsg("Credential should be scoped with a valid terminator: 'aws4_request', not '" + clip(parts[4], 32) + "'.")
	}
	date, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return incompleteSignature("X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'.", err)
	}
	sig.amzDate, sig.date = amzDate, date
	if sig.scopeDate != amzDate[:8] {
		return signatureMismatchMsg("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			clip(sig.scopeDate, 16) + "' != '" + amzDate[:8] + "'.")
	}
	names := strings.Split(signedHeaders, ";")
	for i, n := range names {
		if n == "" || n != strings.ToLower(n) || (i > 0 && names[i-1] >= n) {
			return incompleteSignature("SignedHeaders must be lower-case header names, sorted, each once, separated by ';'.", nil)
		}
	}
	if !slices.Contains(names, "host") {
		return signatureMismatchMsg("'Host' must be a signed header.")
	}
	sig.signedHeaders = names
	raw, err := hex.DecodeString(signature)
	if err != nil || len(raw) != sha256.Size {
		return incompleteSignature("Signature must be 64 hexadecimal digits.", err)
	}
	sig.signature = raw
	return nil
}

// signature computes what the request's signature must be.
func signature(r *http.Request, body []byte, sig *sigV4, secret []byte) ([]byte, error) {
	payload, err := payloadHash(r, body)
	if err != nil {
		return nil, err
	}
	query, err := canonicalQuery(r.URL.RawQuery, sig.presigned)
	if err != nil {
		return nil, incompleteSignature("The query string is not well formed.", err)
	}
	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		query,
		canonicalHeaders(r, sig.signedHeaders),
		strings.Join(sig.signedHeaders, ";"),
		payload,
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := sigV4Algorithm + "\n" + sig.amzDate + "\n" + sig.scope() + "\n" + hex.EncodeToString(sum[:])

	key := hmacSHA256([]byte("AWS4"+string(secret)), sig.scopeDate)
	key = hmacSHA256(key, sig.region)
	key = hmacSHA256(key, sig.service)
	key = hmacSHA256(key, sigV4Terminator)
	return hmacSHA256(key, toSign), nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// payloadHash is the hex SHA-256 of the body. A client may declare it in
// X-Amz-Content-Sha256; a declared hash must be the body's, so that the signature
// covers the parameters in the body. UNSIGNED-PAYLOAD is accepted only without a body.
func payloadHash(r *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	declared := r.Header.Values("X-Amz-Content-Sha256")
	switch {
	case len(declared) == 0:
		return computed, nil
	case len(declared) > 1:
		return "", incompleteSignature("The X-Amz-Content-Sha256 header was given more than once.", nil)
	case declared[0] == unsignedPayload && len(body) == 0:
		return unsignedPayload, nil
	case strings.EqualFold(declared[0], computed):
		return declared[0], nil
	}
	return "", signatureMismatchMsg("The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// canonicalURI is the path URI-encoded once more: every service but S3 encodes the
// already-escaped path a second time.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery decodes each name and value, encodes them as SigV4 does (RFC 3986
// unreserved characters kept, everything else %XX) and sorts by name, then value. A
// presigned request's X-Amz-Signature is not part of what it signs.
func canonicalQuery(raw string, presigned bool) (string, error) {
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return "", err
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", err
		}
		if presigned && dk == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(dk, true), uriEncode(dv, true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String(), nil
}

// canonicalHeaders renders each signed header as "name:value\n": several values are
// joined with commas, each trimmed with inner runs of spaces collapsed. Go's server
// keeps Host apart from the header map, so it is read from the request.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			values = r.Header.Values(name)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(collapseSpaces(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func collapseSpaces(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(v[i])
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the unreserved characters of RFC 3986
// §2.3, with upper-case hex as SigV4 requires; '/' is kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// verifySessionToken checks that token is the session token issued with rs: signed by
// one of our published keys, for this issuer, and naming rs's access key id, role and
// session. Only one token is ever issued per access key id, so this is the token.
func (s *Service) verifySessionToken(token string, rs store.RoleSession) (SessionClaims, error) {
	var claims SessionClaims
	if len(token) > maxSessionTokenLen {
		return claims, fmt.Errorf("session token of %d bytes", len(token))
	}
	pub := s.keys.PublicKeys()
	var algs []jose.SignatureAlgorithm
	for _, k := range pub {
		algs = append(algs, jose.SignatureAlgorithm(k.Algorithm))
	}
	jws, err := jose.ParseSigned(token, algs)
	if err != nil {
		return claims, fmt.Errorf("parse session token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return claims, errors.New("session token must carry one signature")
	}
	hdr := jws.Signatures[0].Header
	if hdr.ExtraHeaders[jose.HeaderType] != typATJWT {
		return claims, fmt.Errorf("session token typ %v", hdr.ExtraHeaders[jose.HeaderType])
	}
	i := slices.IndexFunc(pub, func(k keys.Key) bool { return k.ID == hdr.KeyID })
	if i < 0 {
		return claims, fmt.Errorf("session token key %q is not published", clip(hdr.KeyID, 64))
	}
	if hdr.Algorithm != pub[i].Algorithm {
		return claims, fmt.Errorf("session token alg %s, key %s is %s", hdr.Algorithm, pub[i].ID, pub[i].Algorithm)
	}
	payload, err := jws.Verify(pub[i].Public)
	if err != nil {
		return claims, fmt.Errorf("verify session token: %w", err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return claims, fmt.Errorf("session token claims: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(claims.JWTID), []byte(rs.ID)) != 1 {
		return claims, errors.New("session token was issued for another access key id")
	}
	if claims.Issuer != s.issuer || claims.RoleID != rs.RoleID || claims.Role != rs.RoleARN || claims.SessionName != rs.SessionName {
		return claims, errors.New("session token does not describe the role session")
	}
	return claims, nil
}
