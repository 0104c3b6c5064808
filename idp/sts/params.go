package sts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/policy"
)

// Limits of AssumeRoleWithWebIdentity (SPEC §1.2, from the STS API model).
const (
	minRoleARN        = 20
	maxRoleARN        = 2048
	minSessionName    = 2
	maxSessionName    = 64
	minToken          = 4
	maxToken          = 20000
	minDuration       = 900
	maxDuration       = 43200
	maxPolicyARNs     = 10
	maxPackedPolicy   = 2048
	maxPolicyPlain    = 10 * maxPackedPolicy
	maxSessionTags    = 50
	maxTagKey         = 128
	maxTagValue       = 256
	sessionNameFormat = `[\w+=,.@-]*`
)

// params reads the query API's form. A parameter given twice is refused: the two
// copies could be read differently by a proxy and by us.
type params struct {
	form url.Values
}

func (p params) one(name string) (string, error) {
	v := p.form[name]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	}
	return "", validationError(fmt.Sprintf("Parameter %s was given %d times; give it once.", name, len(v)))
}

// validation collects constraint violations and reports them all at once, the way
// AWS words them ("2 validation errors detected: ...").
type validation struct {
	msgs []string
}

func (v *validation) add(format string, args ...any) {
	v.msgs = append(v.msgs, fmt.Sprintf(format, args...))
}

func (v *validation) err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return validationError("1 validation error detected: " + v.msgs[0])
	}
	return validationError(fmt.Sprintf("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; ")))
}

// lengthIn checks a required string parameter's length in characters.
func (v *validation) lengthIn(member, value string, lo, hi int) {
	n := len([]rune(value))
	switch {
	case value == "":
		v.add("Value null at '%s' failed to satisfy constraint: Member must not be null", member)
	case n < lo:
		v.add("Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", member, lo)
	case n > hi:
		v.add("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", member, hi)
	}
}

// sessionRequest holds the parameters every Assume* action shares.
type sessionRequest struct {
	roleARN     string
	sessionName string
	// duration is the requested lifetime; zero when DurationSeconds was absent.
	duration time.Duration
	// policy is the inline session policy, compacted; nil without one.
	policy []byte
	// policyARNs are the managed session policies, in member order, with the names
	// they resolve to.
	policyARNs  []string
	policyNames []string
}

// webIdentityRequest is a checked AssumeRoleWithWebIdentity request.
type webIdentityRequest struct {
	sessionRequest
	token      string
	providerID string
}

// packedSize is what counts against the packed-policy limit before session tags.
func (r *sessionRequest) packedSize() int {
	n := len(r.policy)
	for _, a := range r.policyARNs {
		n += len(a)
	}
	return n
}

// formReader reads single-valued parameters and keeps the first error.
type formReader struct {
	p   params
	err error
}

func (f *formReader) get(name string) string {
	s, e := f.p.one(name)
	if e != nil && f.err == nil {
		f.err = e
	}
	return s
}

// sessionParams are the shared parameters as read, before the checks that need them
// all to be well formed.
type sessionParams struct {
	policy    string
	policySet bool
}

// readSessionRequest reads and checks RoleArn, RoleSessionName, DurationSeconds,
// Policy and PolicyArns, adding every constraint violation to v. finish completes the
// checks once v holds no violation. AssumeRoleWithSAML has no RoleSessionName
// parameter (the assertion names the session), so it reads the rest only.
func readSessionRequest(f *formReader, v *validation, account string) (sessionRequest, sessionParams) {
	req, sp := readSessionPolicyRequest(f, v, account)
	req.sessionName = f.get("RoleSessionName")
	if f.err != nil {
		return req, sp
	}
	v.lengthIn("roleSessionName", req.sessionName, minSessionName, maxSessionName)
	if req.sessionName != "" && !validSessionName(req.sessionName) {
		v.add("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
			clip(req.sessionName, maxSessionName), sessionNameFormat)
	}
	return req, sp
}

// readSessionPolicyRequest reads and checks RoleArn, DurationSeconds, Policy and
// PolicyArns.
func readSessionPolicyRequest(f *formReader, v *validation, account string) (sessionRequest, sessionParams) {
	var req sessionRequest
	req.roleARN = f.get("RoleArn")
	durationParam := f.get("DurationSeconds")
	sp := sessionParams{policy: f.get("Policy"), policySet: len(f.p.form["Policy"]) > 0}
	if f.err != nil {
		return req, sp
	}

	v.lengthIn("roleArn", req.roleARN, minRoleARN, maxRoleARN)
	if durationParam != "" {
		n, perr := strconv.Atoi(durationParam)
		switch {
		case perr != nil:
			v.add("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", clip(durationParam, 16))
		case n < minDuration:
			v.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, minDuration)
		case n > maxDuration:
			v.add("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxDuration)
		default:
			req.duration = time.Duration(n) * time.Second
		}
	}
	if sp.policySet {
		switch {
		case sp.policy == "":
			v.add("Value at 'policy' failed to satisfy constraint: Member must have length greater than or equal to 1")
		case len(sp.policy) > maxPolicyPlain:
			// Far past anything that could pack into the limit; finish refuses it
			// without parsing.
		case !validPolicyChars(sp.policy):
			v.add("Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
		}
	}
	arns, arnErr := policyARNParams(f.p.form)
	if arnErr != "" {
		v.add("%s", arnErr)
	}
	for _, a := range arns {
		name, ok := managedPolicyName(a, account)
		if !ok {
			v.add("Value '%s' at 'policyArns' failed to satisfy constraint: Member must be a managed policy ARN of account %s", clip(a, 128), account)
			continue
		}
		req.policyARNs = append(req.policyARNs, a)
		req.policyNames = append(req.policyNames, name)
	}
	return req, sp
}

// finish runs the checks that need well-formed parameters: the role ARN's shape, the
// session policy's grammar and the packed size.
func (r *sessionRequest) finish(sp sessionParams) error {
	if r.roleARN != "" && !isRoleARN(r.roleARN) {
		return validationError("Request ARN is invalid")
	}
	if sp.policySet {
		doc, err := compactPolicy(sp.policy)
		if err != nil {
			return err
		}
		r.policy = doc
	}
	if n := r.packedSize(); n > maxPackedPolicy {
		return packedTooLarge(n)
	}
	return nil
}

// parseWebIdentityRequest checks every parameter that needs no token, role or store,
// so that a request the client must fix fails before its token is spent (a verifier
// with a replay cache accepts each token once).
func parseWebIdentityRequest(p params, account string) (webIdentityRequest, error) {
	var req webIdentityRequest
	var v validation
	f := &formReader{p: p}
	var sp sessionParams
	req.sessionRequest, sp = readSessionRequest(f, &v, account)
	req.token = f.get("WebIdentityToken")
	req.providerID = f.get("ProviderId")
	if f.err != nil {
		return req, f.err
	}
	if sp.policySet && len(sp.policy) > maxPolicyPlain {
		return req, packedTooLarge(len(sp.policy))
	}
	v.lengthIn("webIdentityToken", req.token, minToken, maxToken)
	if err := v.err(); err != nil {
		return req, err
	}
	return req, req.finish(sp)
}

// compactPolicy parses an inline session policy (it may only narrow the role, SPEC
// §2.4; the Session kind refuses a Principal) and returns it compacted, the form whose
// size is packed and whose digest is recorded.
func compactPolicy(text string) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return nil, awsError(http.StatusBadRequest, codeMalformedPolicy, "The policy is not in the valid JSON format.", err)
	}
	if _, err := policy.Parse(b.Bytes(), policy.Session); err != nil {
		return nil, awsError(http.StatusBadRequest, codeMalformedPolicy, policyProblem(err), err)
	}
	return b.Bytes(), nil
}

// policyProblem is the client-facing account of a policy that does not parse: the
// caller's own document, so naming the failing paths gives nothing away.
func policyProblem(err error) string {
	var msgs []string
	collectFieldErrors(err, func(e *policy.FieldError) { msgs = append(msgs, e.Error()) })
	if len(msgs) == 0 {
		return "The policy document is not valid."
	}
	if len(msgs) > 5 {
		msgs = append(msgs[:5], fmt.Sprintf("and %d more", len(msgs)-5))
	}
	return "The policy document is not valid: " + strings.Join(msgs, "; ")
}

func collectFieldErrors(err error, fn func(*policy.FieldError)) {
	if fe, ok := err.(*policy.FieldError); ok {
		fn(fe)
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collectFieldErrors(e, fn)
		}
		return
	}
	if u := errors.Unwrap(err); u != nil {
		collectFieldErrors(u, fn)
	}
}

// packedTooLarge reports session policies (and tags) past the packed limit; the
// message carries the percentage as AWS's does.
func packedTooLarge(size int) error {
	return awsError(http.StatusBadRequest, codePackedPolicyTooLarge,
		fmt.Sprintf("Packed size of consumed session policies and tags exceeds the limit: %d%%", packedPercent(size)), nil)
}

// packedPercent is the PackedPolicySize element: the share of the limit used, rounded
// up. Portcullis packs by compacting the JSON (whitespace does not count) rather than
// by AWS's undisclosed compression, so the figure is comparable, not equal, to AWS's.
func packedPercent(size int) int {
	return (size*100 + maxPackedPolicy - 1) / maxPackedPolicy
}

// policyARNParams collects PolicyArns.member.N.arn (SPEC §1.1: N starts at 1) in
// member order.
func policyARNParams(form url.Values) ([]string, string) {
	type member struct {
		n   int
		arn string
	}
	var members []member
	for key, values := range form {
		rest, ok := strings.CutPrefix(key, "PolicyArns.member.")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(rest, ".arn")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 1 {
			return nil, fmt.Sprintf("Parameter '%s' is not a valid PolicyArns member", clip(key, 64))
		}
		if len(values) != 1 {
			return nil, fmt.Sprintf("Parameter '%s' was given %d times", clip(key, 64), len(values))
		}
		members = append(members, member{n, values[0]})
	}
	if len(members) > maxPolicyARNs {
		return nil, fmt.Sprintf("Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxPolicyARNs)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].n < members[j].n })
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.arn
	}
	return out, ""
}

// managedPolicyName returns the policy name of "arn:<partition>:iam::<account>:policy/
// <path>/<name>". Managed session policies must be in the role's account (SPEC §1.2).
func managedPolicyName(arn, account string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" || parts[4] != account {
		return "", false
	}
	res, ok := strings.CutPrefix(parts[5], "policy/")
	if !ok {
		return "", false
	}
	name := res[strings.LastIndexByte(res, '/')+1:]
	return name, name != ""
}

// isRoleARN reports whether arn has the shape arn:<partition>:iam::<account>:role/...;
// whether such a role exists is decided later, after the token, so that an
// unauthenticated caller cannot probe for roles.
func isRoleARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" || !isAccountID(parts[4]) {
		return false
	}
	name, ok := strings.CutPrefix(parts[5], "role/")
	return ok && name != "" && !strings.HasSuffix(name, "/")
}

// validSessionName checks [\w+=,.@-]* (SPEC §1.2); \w is ASCII letters, digits and _.
func validSessionName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_+=,.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validPolicyChars checks the Policy parameter's character set: tab, LF, CR and
// U+0020 to U+00FF (SPEC §1.2).
func validPolicyChars(s string) bool {
	for _, r := range s {
		if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xFF) {
			return false
		}
	}
	return true
}
