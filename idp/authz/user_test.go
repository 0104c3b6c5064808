package authz_test

import (
	"strings"
	"testing"

	"github.com/portcullis-id/portcullis/idp/authz"
	"github.com/portcullis-id/portcullis/idp/policy"
	"github.com/portcullis-id/portcullis/store"
)

func TestCheckUserAllowsThroughAnyRoleAndExplainsDenies(t *testing.T) {
	t.Parallel()
	st, pdp, _ := fixture(t)
	st.putRole(store.Role{ID: "r-2", ARN: "arn:portcullis:iam::000000000000:role/empty", Name: "empty", Path: "/", Meta: store.Meta{Version: 1}})
	ctx := t.Context()
	get := authz.CheckRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::data/a"}

	res, err := pdp.CheckUser(ctx, "u1", []string{"empty", "deploy"}, get)
	if err != nil || res.Decision.Effect != policy.Allow || res.Role != deployARN || len(res.PerRole) != 2 {
		t.Fatalf("allowed through the second role: %+v %v", res, err)
	}
	res, err = pdp.CheckUser(ctx, "u1", []string{"empty"}, get)
	if err != nil || res.Decision.Effect != policy.Deny || !strings.Contains(res.Decision.Reason, "no role of user u1") {
		t.Fatalf("no role allows: %+v %v", res, err)
	}
	res, err = pdp.CheckUser(ctx, "u1", nil, get)
	if err != nil || res.Decision.Effect != policy.Deny || !strings.Contains(res.Decision.Reason, "holds no role") {
		t.Fatalf("no roles: %+v %v", res, err)
	}
	if _, err := pdp.CheckUser(ctx, "u1", nil, authz.CheckRequest{Action: "bad", Resource: "x"}); err == nil {
		t.Fatal("a malformed action was accepted for a user without roles")
	}
	if _, err := pdp.CheckUser(ctx, "u1", []string{"missing"}, get); err == nil {
		t.Fatal("a missing role was skipped instead of reported")
	}
}
