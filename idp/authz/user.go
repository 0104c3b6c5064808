package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-id/portcullis/idp/policy"
)

// UserResult is the answer for a user principal: the user acts through the roles the
// mapping rules grant, so the request is allowed when one of those roles allows it.
type UserResult struct {
	Result
	User string
	// Roles are the roles considered, in order; PerRole the decision of each.
	Roles   []string
	PerRole []Result
}

// CheckUser decides req (its Role is ignored) for a user holding roles. Each role is
// judged on its own, as separate sessions would be: the first role that allows decides
// an allow; otherwise the answer is a deny that names every role's reason. A user with
// no roles is denied with that reason.
func (p *PDP) CheckUser(ctx context.Context, user string, roles []string, req CheckRequest) (UserResult, error) {
	out := UserResult{User: user, Roles: roles}
	if len(roles) == 0 {
		var probs []error
		checkAction(&probs, "action", req.Action)
		checkResource(&probs, req.Resource)
		buildContext(&probs, req.Context)
		if len(probs) > 0 {
			return out, errors.Join(probs...)
		}
		out.Result = Result{Action: req.Action, Resource: req.Resource, Decision: policy.Decision{
			Effect: policy.Deny, Reason: fmt.Sprintf("user %s holds no role", user), MissingLayer: policy.LayerIdentity,
		}}
		return out, nil
	}
	var reasons []string
	for _, role := range roles {
		r := req
		r.Role, r.Policies = role, nil
		res, err := p.Check(ctx, r)
		if err != nil {
			return out, fmt.Errorf("role %s of user %s: %w", role, user, err)
		}
		out.PerRole = append(out.PerRole, res)
		if res.Decision.Effect == policy.Allow {
			out.Result = res
			return out, nil
		}
		reasons = append(reasons, role+": "+res.Decision.Reason)
	}
	// No role allows: report the first role's deny (its deciding statements), with
	// every role's reason.
	out.Result = out.PerRole[0]
	out.Result.Role = ""
	out.Result.Decision.Reason = "no role of user " + user + " allows it (" + strings.Join(reasons, "; ") + ")"
	return out, nil
}
