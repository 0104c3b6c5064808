package sts

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/portcullis-id/portcullis/web/httperr"
)

// Errors an IdentityVerifier returns, wrapped with its reason; the service maps them to
// the AWS error codes of SPEC §1.5. Any other error counts as InvalidIdentityToken.
var (
	// ErrInvalidIdentityToken: bad signature or format, unknown issuer, wrong audience,
	// a replayed token. Answered InvalidIdentityToken (400).
	ErrInvalidIdentityToken = errors.New("invalid web identity token")
	// ErrExpiredToken: the token's exp has passed. Answered ExpiredTokenException (400).
	ErrExpiredToken = errors.New("web identity token expired")
	// ErrIDPCommunication: the issuer's discovery document or JWKS could not be fetched.
	// Answered IDPCommunicationError (400); the client should retry.
	ErrIDPCommunication = errors.New("cannot reach the identity provider")
	// ErrIDPRejectedClaim: the provider rejected or revoked the claim. Answered
	// IDPRejectedClaim (403).
	ErrIDPRejectedClaim = errors.New("identity provider rejected the claim")
)

// AWS error codes (SPEC §1.5) and the common query-API codes.
const (
	codeAccessDenied         = "AccessDenied"
	codeValidation           = "ValidationError"
	codeInvalidIdentityToken = "InvalidIdentityToken"
	codeExpiredToken         = "ExpiredTokenException"
	codeIDPCommunication     = "IDPCommunicationError"
	codeIDPRejectedClaim     = "IDPRejectedClaim"
	codeMalformedPolicy      = "MalformedPolicyDocument"
	codePackedPolicyTooLarge = "PackedPolicyTooLarge"
	codeMissingAction        = "MissingAction"
	codeMissingParameter     = "MissingParameter"
	codeInvalidAction        = "InvalidAction"
	codeInternalFailure      = "InternalFailure"
	codeThrottling           = "Throttling"
	msgNotAuthorized         = "Not authorized to perform sts:AssumeRoleWithWebIdentity"

	// The signed actions' authentication errors (AWS common query errors).
	codeMissingAuthentication = "MissingAuthenticationToken"
	codeIncompleteSignature   = "IncompleteSignature"
	codeInvalidClientTokenID  = "InvalidClientTokenId"
	codeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	codeSessionExpired        = "ExpiredToken"
	codeRequestExpired        = "RequestExpired"
	msgInvalidClientToken     = "The security token included in the request is invalid."
	msgSignatureMismatch      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// awsError is the one error type of this package's HTTP edge: Code is the AWS error
// code, Msg goes to the client, Err only to the log.
func awsError(status int, code, msg string, cause error) *httperr.Error {
	return &httperr.Error{Status: status, Code: code, Msg: msg, Err: cause}
}

func validationError(msg string) *httperr.Error {
	return awsError(http.StatusBadRequest, codeValidation, msg, nil)
}

func accessDenied(cause error) *httperr.Error {
	return awsError(http.StatusForbidden, codeAccessDenied, msgNotAuthorized, cause)
}

// notAuthorized is AccessDenied for an action other than AssumeRoleWithWebIdentity.
func notAuthorized(action string, cause error) *httperr.Error {
	return awsError(http.StatusForbidden, codeAccessDenied, "Not authorized to perform "+action, cause)
}

// The answers to a signed request that does not authenticate. None says which check
// failed beyond its code; the cause goes to the log.
func incompleteSignature(msg string, cause error) *httperr.Error {
	return awsError(http.StatusBadRequest, codeIncompleteSignature, msg, cause)
}

func invalidClientToken(cause error) *httperr.Error {
	return awsError(http.StatusForbidden, codeInvalidClientTokenID, msgInvalidClientToken, cause)
}

func signatureMismatch(cause error) *httperr.Error {
	return awsError(http.StatusForbidden, codeSignatureDoesNotMatch, msgSignatureMismatch, cause)
}

func internalError(cause error) *httperr.Error {
	return awsError(http.StatusInternalServerError, codeInternalFailure, "An internal error occurred; try again.", cause)
}

// verifierError maps an IdentityVerifier's error to the answer of SPEC §1.5. The
// client learns the category only; the log gets the reason.
func verifierError(err error) *httperr.Error {
	switch {
	case errors.Is(err, ErrExpiredToken):
		return awsError(http.StatusBadRequest, codeExpiredToken, "Token expired: current date/time is after the token's exp.", err)
	case errors.Is(err, ErrIDPCommunication):
		return awsError(http.StatusBadRequest, codeIDPCommunication, "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements", err)
	case errors.Is(err, ErrIDPRejectedClaim):
		return awsError(http.StatusForbidden, codeIDPRejectedClaim, "The identity provider rejected the claim.", err)
	case errors.Is(err, ErrInvalidIdentityToken):
		return awsError(http.StatusBadRequest, codeInvalidIdentityToken, "The web identity token that was passed could not be validated.", err)
	}
	return awsError(http.StatusBadRequest, codeInvalidIdentityToken, "The web identity token that was passed could not be validated.",
		fmt.Errorf("verifier returned an unclassified error: %w", err))
}

// errorType is the <Type> of an ErrorResponse: Sender for the client's faults,
// Receiver for ours.
func errorType(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}
