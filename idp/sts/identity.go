package sts

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
)

type callerIdentityResponse struct {
	XMLName  xml.Name             `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result   callerIdentityResult `xml:"GetCallerIdentityResult"`
	Metadata responseMetadata     `xml:"ResponseMetadata"`
}

func (r *callerIdentityResponse) setRequestID(id string) { r.Metadata.RequestID = id }

type callerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// getCallerIdentity answers who signed the request. Like AWS's, it needs no
// permission: a valid signature is enough.
func (s *Service) getCallerIdentity(ctx context.Context, r *http.Request, body []byte) (*callerIdentityResponse, error) {
	c, err := s.authenticate(ctx, r, body)
	if err != nil {
		return nil, err
	}
	return &callerIdentityResponse{Result: callerIdentityResult{
		Arn:     s.callerARN(c),
		UserID:  c.session.RoleID + ":" + c.session.SessionName,
		Account: s.account,
	}}, nil
}

// callerARN is the assumed-role ARN the caller's session acts as.
func (s *Service) callerARN(c *caller) string {
	return s.assumedRoleARN(roleNameOf(c.session.RoleARN), c.session.SessionName)
}

// roleNameOf is the last segment of a role ARN ("arn:...:role/ci/deploy" is "deploy").
func roleNameOf(roleARN string) string {
	return roleARN[strings.LastIndexByte(roleARN, '/')+1:]
}
