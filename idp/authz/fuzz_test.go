package authz_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/idp/authz"
)

// FuzzCheckRawPolicy holds the PDP to its promise for request policies: any input is
// either evaluated or refused with problems that point into "policies[0]"; it never
// panics and never turns a broken policy into a silent deny.
func FuzzCheckRawPolicy(f *testing.F) {
	for _, seed := range []string{
		s3ReadV1, denyProd, inline, `{"Version":`, `[]`, `null`, `{"Statement":[]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}}`,
	} {
		f.Add([]byte(seed))
	}
	pdp := authz.New(newFakeStore(), nil)
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, err := pdp.Check(context.Background(), authz.CheckRequest{
			Policies: []json.RawMessage{doc}, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
		})
		if err == nil {
			return
		}
		if !errors.Is(err, authz.ErrInvalidRequest) {
			t.Fatalf("err = %v, want ErrInvalidRequest", err)
		}
		ps := authz.Problems(err)
		if len(ps) == 0 {
			t.Fatalf("err = %v carries no problems", err)
		}
		for _, p := range ps {
			if !strings.HasPrefix(p.Field, "policies[0]") || p.Msg == "" {
				t.Fatalf("problem %+v does not point into policies[0]", p)
			}
		}
	})
}
