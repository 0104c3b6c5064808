package sts_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

type querySuccess struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result  struct {
		AccessKeyID string `xml:"Credentials>AccessKeyId"`
		Expiration  string `xml:"Credentials>Expiration"`
		Arn         string `xml:"AssumedRoleUser>Arn"`
	} `xml:"AssumeRoleWithWebIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func get(t *testing.T, h *harness, q url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := h.srv.Client().Get(h.srv.URL + "/sts?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestGETQueryIssuesCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, body := get(t, h, url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
		"RoleSessionName": {"from-get"}, "WebIdentityToken": {"tok-main"},
	})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var out querySuccess
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if !accessKeyPattern.MatchString(out.Result.AccessKeyID) || !strings.HasSuffix(out.Result.Arn, "/deploy/from-get") ||
		!strings.HasSuffix(out.Result.Expiration, "Z") {
		t.Errorf("result = %+v", out.Result)
	}
	if id := resp.Header.Get("x-amzn-RequestId"); id == "" || id != out.RequestID {
		t.Errorf("request id header %q, body %q; want the same id", id, out.RequestID)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("credentials response may be cached")
	}
}

func TestQueryProtocolErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := func(kv ...string) url.Values {
		q := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
			"RoleSessionName": {"s1"}, "WebIdentityToken": {"tok-main"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	twice := base()
	twice.Add("RoleSessionName", "s2")
	tests := []struct {
		name string
		q    url.Values
		code string
	}{
		{"unknown action", base("Action", "GetFederationToken"), "InvalidAction"},
		{"missing action", base("Action", ""), "MissingAction"},
		{"missing version", base("Version", ""), "MissingParameter"},
		{"other version", base("Version", "2010-01-01"), "InvalidAction"},
		{"missing token", base("WebIdentityToken", ""), "ValidationError"},
		{"parameter given twice", twice, "ValidationError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, h, tc.q)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			var e queryError
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if e.Error.Code != tc.code || e.Error.Type != "Sender" || e.RequestID == "" ||
				e.RequestID != resp.Header.Get("x-amzn-RequestId") {
				t.Errorf("error = %+v, want code %s from the Sender with the request id", e, tc.code)
			}
		})
	}
	if n := h.verifier.calls.Load(); n != 0 {
		t.Errorf("malformed requests reached the verifier %d times", n)
	}
}
