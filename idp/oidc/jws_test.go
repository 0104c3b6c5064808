package oidc

import (
	"crypto"
	"io"
	"net/http/httptest"
	"testing"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// opaqueSigner hides the concrete key type, as an HSM or KMS signer does.
type opaqueSigner struct{ k crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.k.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, d, opts)
}

// writeTokenResponse must write what op's JSON writer writes for the same response.
func TestWriteTokenResponseMatchesOp(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		token  string
		exp    uint64
		scopes []string
	}{
		{"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2ln", 599, []string{"api.read", "api.write"}},
		{"pcat_abc-_", 1, nil},
		{"t", 0, []string{}},
		{"t", 18446744073709551615, []string{"a<b>&c", `q"u\o`, "ctl\x01\n", "ünï", "\u2028", "del\x7f", "bad\xff"}},
	} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		writeTokenResponse(got, c.token, c.exp, c.scopes)
		httphelper.MarshalJSON(want, &zoidc.AccessTokenResponse{AccessToken: c.token, TokenType: zoidc.BearerToken,
			ExpiresIn: c.exp, Scope: c.scopes})
		if got.Body.String() != want.Body.String() || got.Code != want.Code ||
			got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || len(got.Header()) != len(want.Header()) {
			t.Errorf("%d %v %q\nop: %d %v %q", got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
