package webidentity_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/portcullis-id/portcullis/federation/webidentity"
)

// The STS verifies the WebIdentityToken of AssumeRoleWithWebIdentity, maps
// failures to STS error codes without revealing why, and hands the condition
// keys to the trust-policy evaluation. (No Output: this would contact
// GitHub.)
func ExampleVerifier_Verify() {
	v, err := webidentity.NewVerifier([]webidentity.Issuer{
		webidentity.GitHubActions("https://sts.example.com"),
	}, webidentity.Options{})
	if err != nil {
		panic(err)
	}
	var webIdentityToken string // from the request
	tok, err := v.Verify(context.Background(), webIdentityToken)
	if err != nil {
		slog.Warn("web identity token refused", "err", err) // detail for the log only
		switch {
		case errors.Is(err, webidentity.ErrExpired):
			fmt.Println("ExpiredTokenException")
		case errors.Is(err, webidentity.ErrIssuerUnavailable):
			fmt.Println("IDPCommunicationError")
		default: // ErrInvalidToken, ErrAudience, ErrReplay
			fmt.Println("InvalidIdentityToken")
		}
		return
	}
	keys := tok.ConditionKeys()
	fmt.Println(keys["token.actions.githubusercontent.com:repository"])
}
