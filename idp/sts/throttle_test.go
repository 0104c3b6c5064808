package sts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/idp/sts"
)

// TestFailedCredentialsAreThrottledPerAddress: an address that keeps presenting bad
// tokens is refused for a while, even with a good one, like every credential check.
func TestFailedCredentialsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	reg := regulate.New(time.Now)
	h := newHarness(t, func(d *sts.Deps) { d.Regulator = reg })
	ctx := t.Context()
	client := h.client(1)
	var apiErr smithy.APIError
	for i := range sts.FailureLimits().MaxFailures {
		if _, err := client.AssumeRoleWithWebIdentity(ctx, input("tok-forged")); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidIdentityToken" {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	calls := h.verifier.calls.Load()
	if _, err := client.AssumeRoleWithWebIdentity(ctx, input("tok-main")); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
		t.Fatalf("after %d failures: %v, want Throttling", sts.FailureLimits().MaxFailures, err)
	}
	if h.verifier.calls.Load() != calls {
		t.Fatal("a throttled request still reached the token verifier")
	}
}
