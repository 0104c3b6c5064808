package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/web/api"
)

// newAdminRoleSessionsCmd is `portcullis admin role-sessions`: the temporary role
// credentials the STS issued, listed and revoked.
func newAdminRoleSessionsCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role-sessions",
		Short: "List and revoke role sessions (temporary credentials issued by the STS)",
		Long: `List and revoke role sessions: the temporary credentials the STS issued.

A session is named by its access key id (PCIA...), which is also its session token's
jti. Revoking a session refuses its credentials and its session token everywhere at
once: the decision point, token introspection and the revocation list.`,
		Args: cobra.NoArgs,
	}
	var role, subject string
	var all bool
	list := &cobra.Command{
		Use: "list", Short: "List live role sessions (with --all also revoked and expired ones)", Args: cobra.NoArgs,
		Example: "  portcullis admin role-sessions list --role deploy\n" +
			"  portcullis admin role-sessions list --subject repo:acme/app:ref:refs/heads/main --all",
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, _ []string) ([]byte, error) {
			q := url.Values{}
			if role != "" {
				q.Set("role", role)
			}
			if subject != "" {
				q.Set("subject", subject)
			}
			if !all {
				q.Set("active", "true")
			}
			var l struct{ Items []api.RoleSession }
			raw, err := c.do(cmd.Context(), "GET", "/role-sessions?"+q.Encode(), nil, &l)
			if err != nil || o.json() {
				return raw, err
			}
			rows := make([][]string, 0, len(l.Items))
			for _, s := range l.Items {
				rows = append(rows, []string{s.ID, s.RoleARN, s.SessionName, s.Subject,
					s.IssuedAt.UTC().Format(time.RFC3339), s.ExpiresAt.UTC().Format(time.RFC3339), sessionState(s)})
			}
			return nil, table(cmd.OutOrStdout(), []string{"ACCESS_KEY_ID", "ROLE", "SESSION", "SUBJECT", "ISSUED", "EXPIRES", "STATE"}, rows)
		}),
	}
	list.Flags().StringVar(&role, "role", "", "only sessions of this role (name or ARN)")
	list.Flags().StringVar(&subject, "subject", "", "only sessions of this federated subject (the web identity's sub)")
	list.Flags().BoolVar(&all, "all", false, "include revoked and expired sessions not yet swept")

	var revokeRole, revokeSubject string
	revoke := &cobra.Command{
		Use:   "revoke [ID]",
		Short: "Revoke one session by access key id, or every live session of a role and/or a subject",
		Example: "  portcullis admin role-sessions revoke PCIAEXAMPLE1234567\n" +
			"  portcullis admin role-sessions revoke --role deploy\n" +
			"  portcullis admin role-sessions revoke --subject repo:acme/app:ref:refs/heads/main",
		Args: cobra.MaximumNArgs(1),
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			byFilter := revokeRole != "" || revokeSubject != ""
			switch {
			case len(args) == 1 && byFilter:
				return nil, errors.New("give either a session ID or --role/--subject, not both")
			case len(args) == 0 && !byFilter:
				return nil, errors.New("give a session ID, --role or --subject")
			case len(args) == 1:
				var s api.RoleSession
				raw, err := c.do(cmd.Context(), "DELETE", "/role-sessions/"+pathEscape(args[0]), nil, &s)
				if err != nil || o.json() {
					return raw, err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked role session %s (%s, session %s)\n", s.ID, s.RoleARN, s.SessionName)
				return nil, nil
			}
			body := map[string]string{}
			if revokeRole != "" {
				body["role"] = revokeRole
			}
			if revokeSubject != "" {
				body["subject"] = revokeSubject
			}
			var res api.RevokeResult
			raw, err := c.do(cmd.Context(), "POST", "/role-sessions/revoke", body, &res)
			if err != nil || o.json() {
				return raw, err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d role session(s)\n", res.Revoked)
			for _, id := range res.IDs {
				fmt.Fprintln(cmd.OutOrStdout(), "  "+id)
			}
			return nil, nil
		}),
	}
	revoke.Flags().StringVar(&revokeRole, "role", "", "revoke every live session of this role (name or ARN)")
	revoke.Flags().StringVar(&revokeSubject, "subject", "", "revoke every live session of this federated subject")

	cmd.AddCommand(list,
		&cobra.Command{
			Use: "get ID", Short: "Show a role session (never its secret)", Args: cobra.ExactArgs(1),
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
				return c.do(cmd.Context(), "GET", "/role-sessions/"+pathEscape(args[0]), nil, nil)
			}),
		},
		revoke,
	)
	return cmd
}

// sessionState is a session's state in one word.
func sessionState(s api.RoleSession) string {
	switch {
	case s.Revoked:
		return "revoked"
	case !s.Active:
		return "expired"
	}
	return "active"
}
