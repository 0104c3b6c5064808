package declare

import (
	"fmt"
	"strings"
)

// Entity kinds.
const (
	KindUser        = "user"
	KindGroup       = "group"
	KindClient      = "client"
	KindPolicy      = "policy"
	KindRole        = "role"
	KindRoleMapping = "role_mapping"
)

// Actions.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionDelete    = "delete"
	ActionUnchanged = "unchanged"
)

// Change is one line of the plan.
type Change struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Action string   `json:"action"`
	Fields []string `json:"fields,omitempty"` // what an update changes
}

// Result is the plan of an Apply and, unless it was a dry run, what was done.
type Result struct {
	DryRun  bool     `json:"dry_run"`
	Changes []Change `json:"changes"`
	// ClientSecrets maps the id of each confidential client created without a pinned
	// secret to its generated secret. It is shown once and never stored in clear.
	ClientSecrets map[string]string `json:"client_secrets,omitempty"`
}

// Counts returns how many changes have each action.
func (r Result) Counts() (create, update, del, unchanged int) {
	for _, c := range r.Changes {
		switch c.Action {
		case ActionCreate:
			create++
		case ActionUpdate:
			update++
		case ActionDelete:
			del++
		case ActionUnchanged:
			unchanged++
		}
	}
	return
}

// Changed reports whether the plan creates, updates or deletes anything.
func (r Result) Changed() bool {
	c, u, d, _ := r.Counts()
	return c+u+d > 0
}

// Table renders the plan, one entity a line, and a summary:
//
//   - user alice
//     ~ client demo (redirect_uris)
//   - group old
//     = user bob
//     1 to create, 1 to update, 1 to delete, 1 unchanged
func (r Result) Table() string {
	var b strings.Builder
	for _, c := range r.Changes {
		sign := "?"
		switch c.Action {
		case ActionCreate:
			sign = "+"
		case ActionUpdate:
			sign = "~"
		case ActionDelete:
			sign = "-"
		case ActionUnchanged:
			sign = "="
		}
		fmt.Fprintf(&b, "%s %s %s", sign, c.Kind, c.Name)
		if len(c.Fields) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(c.Fields, ", "))
		}
		b.WriteByte('\n')
	}
	cr, up, del, un := r.Counts()
	fmt.Fprintf(&b, "%d to create, %d to update, %d to delete, %d unchanged\n", cr, up, del, un)
	return b.String()
}
