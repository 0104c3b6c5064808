package sts

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalQuerySortsAndReencodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw       string
		presigned bool
		want      string
	}{
		{"", false, ""},
		{"b=2&a=1&a=0", false, "a=0&a=1&b=2"},
		// '+' is a space in a form; SigV4 writes %20. Unreserved characters stay.
		{"q=a+b&t=x~y_z.-", false, "q=a%20b&t=x~y_z.-"},
		{"k=%2f%3A", false, "k=%2F%3A"},
		{"flag&x=", false, "flag=&x="},
		{"X-Amz-Signature=ab&Action=GetCallerIdentity", true, "Action=GetCallerIdentity"},
		{"X-Amz-Signature=ab&Action=GetCallerIdentity", false, "Action=GetCallerIdentity&X-Amz-Signature=ab"},
	}
	for _, tc := range tests {
		got, err := canonicalQuery(tc.raw, tc.presigned)
		if err != nil || got != tc.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, %v; want %q", tc.raw, tc.presigned, got, err, tc.want)
		}
	}
	if _, err := canonicalQuery("a=%zz", false); err == nil {
		t.Error("a bad escape was accepted")
	}
}

func TestCanonicalURIEncodesTwice(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/sts":        "/sts",
		"":            "/",
		"/a%2Fb":      "/a%252Fb",
		"/with space": "/with%2520space",
	} {
		u := &url.URL{Path: path}
		if path == "/a%2Fb" {
			u = &url.URL{Path: "/a/b", RawPath: "/a%2Fb"}
		}
		if got := canonicalURI(u); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestCanonicalHeadersTrimAndJoin(t *testing.T) {
	t.Parallel()
	r := &http.Request{Host: "127.0.0.1:8443", Header: http.Header{
		"X-Amz-Date": {"20260101T000000Z"},
		"X-Multi":    {"  a   b ", "c"},
	}, ContentLength: 42}
	got := canonicalHeaders(r, []string{"content-length", "host", "x-amz-date", "x-missing", "x-multi"})
	want := "content-length:42\nhost:127.0.0.1:8443\nx-amz-date:20260101T000000Z\nx-missing:\nx-multi:a b,c\n"
	if got != want {
		t.Errorf("canonicalHeaders =\n%q\nwant\n%q", got, want)
	}
}

func TestExternalIDCharacters(t *testing.T) {
	t.Parallel()
	for id, ok := range map[string]bool{"ext-7": true, "a:b/c=d,e.f@g+h_i": true, "a b": false, "ä": false, "a;b": false} {
		if validExternalID(id) != ok {
			t.Errorf("validExternalID(%q) = %v", id, !ok)
		}
	}
}

// FuzzParseAuthorizationHeader: any Authorization header is refused or yields a
// signature scoped to sts with host signed, sorted signed headers and a 32-byte MAC.
func FuzzParseAuthorizationHeader(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=PCIAAAAAAAAAAAAAAAAA/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("ab", 32), "20260101T000000Z")
	f.Add("AWS4-HMAC-SHA256 Credential=a/20260101/r/s3/aws4_request,SignedHeaders=host,Signature=00", "20260101T000000Z")
	f.Add("AWS4-HMAC-SHA256 Credential=a//r/sts/aws4_request, SignedHeaders=x;host, Signature=zz", "2026")
	f.Add("AWS3 Credential=", "")
	f.Fuzz(func(t *testing.T, header, date string) {
		r := &http.Request{Header: http.Header{"X-Amz-Date": {date}}}
		sig, err := parseAuthorizationHeader(r, header)
		if err != nil {
			return
		}
		if sig.service != sigV4Service || sig.accessKeyID == "" || sig.region == "" || len(sig.signature) != 32 {
			t.Errorf("accepted %+v", sig)
		}
		if !slices.IsSorted(sig.signedHeaders) || !slices.Contains(sig.signedHeaders, "host") || sig.scopeDate != sig.amzDate[:8] {
			t.Errorf("accepted signed headers %v, scope date %q for %q", sig.signedHeaders, sig.scopeDate, sig.amzDate)
		}
	})
}

// FuzzParseAssumeRoleRequest: any query string is refused or yields a request within
// the limits of AssumeRole, and never panics.
func FuzzParseAssumeRoleRequest(f *testing.F) {
	f.Add("RoleArn=arn%3Aportcullis%3Aiam%3A%3A123456789012%3Arole%2Freader&RoleSessionName=hop-1&ExternalId=ext-7&DurationSeconds=900")
	f.Add("RoleArn=arn:portcullis:iam::123456789012:role/x&RoleSessionName=ab&SourceIdentity=alice&Tags.member.1.Key=k")
	f.Add("RoleArn=arn:portcullis:iam::123456789012:role/x&RoleSessionName=ab&ExternalId=a%20b&SourceIdentity=")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := parseAssumeRoleRequest(params{form: form}, "123456789012")
		if err != nil {
			return
		}
		if !isRoleARN(req.roleARN) || !validSessionName(req.sessionName) || len(req.sessionName) < minSessionName {
			t.Errorf("accepted role %q session %q", req.roleARN, req.sessionName)
		}
		if req.externalID != "" && (len(req.externalID) < minExternalID || !validExternalID(req.externalID)) {
			t.Errorf("accepted external id %q", req.externalID)
		}
		if req.sourceIdentity != "" && (len(req.sourceIdentity) < 2 || len(req.sourceIdentity) > 64 || !validSessionName(req.sourceIdentity)) {
			t.Errorf("accepted source identity %q", req.sourceIdentity)
		}
		for name := range form {
			if strings.HasPrefix(name, "Tags.member.") || name == "SerialNumber" {
				t.Errorf("accepted unsupported parameter %s", name)
			}
		}
	})
}
