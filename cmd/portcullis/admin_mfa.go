package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/web/api"
)

// newUserMFACmd is `portcullis admin users mfa USER`: list the user's second factors.
func newUserMFACmd(o *connOpts) *cobra.Command {
	return &cobra.Command{
		Use: "mfa NAME", Short: "List a user's second factors (never their secrets)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			u, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			var m api.UserMFA
			raw, err := c.do(cmd.Context(), "GET", "/users/"+pathEscape(u.ID)+"/mfa", nil, &m)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			if len(m.Items) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "user %s has no second factor\n", u.UserName)
				return nil
			}
			rows := make([][]string, 0, len(m.Items))
			for _, f := range m.Items {
				typ := f.Type
				if f.Passkey {
					typ += " (passkey)"
				}
				created := "" // the recovery-codes entry has no date of its own
				if !f.CreatedAt.IsZero() {
					created = f.CreatedAt.UTC().Format(time.RFC3339)
				}
				rows = append(rows, []string{typ, f.Name, f.ID, created, timeOrNever(f.LastUsedAt.UTC())})
			}
			if err := table(cmd.OutOrStdout(), []string{"TYPE", "NAME", "ID", "CREATED", "LAST_USED"}, rows); err != nil {
				return err
			}
			if !m.Enrolled {
				fmt.Fprintf(cmd.OutOrStdout(), "user %s has recovery codes but no second factor to sign in with\n", u.UserName)
			}
			return nil
		},
	}
}

// newUserResetMFACmd is `portcullis admin users reset-mfa USER`.
func newUserResetMFACmd(o *connOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "reset-mfa NAME",
		Short: "Remove every second factor and recovery code of a user; they enroll again at next sign-in",
		Long: `Remove every second factor of a user: authenticator apps, security keys, passkeys
and recovery codes. Use it when a user has lost their devices. Where a second factor
is required, the user enrolls a new one at their next sign-in. The reset is recorded in
the audit log with the factors it removed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			u, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "POST", "/users/"+pathEscape(u.ID)+"/mfa/reset", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed every second factor of user %s; they enroll again at their next sign-in\n", u.UserName)
			return nil
		},
	}
}

// newClientUpdateCmd is `portcullis admin clients update NAME`: change a client's
// name or whether it requires a second factor.
func newClientUpdateCmd(o *connOpts) *cobra.Command {
	var (
		name       string
		requireMFA bool
	)
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a client's display name or whether it requires a second factor",
		Example: `  portcullis admin clients update payroll --require-mfa
  portcullis admin clients update payroll --require-mfa=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("name") {
				body["name"] = name
			}
			if cmd.Flags().Changed("require-mfa") {
				body["require_mfa"] = requireMFA
			}
			if len(body) == 0 {
				return errors.New("nothing to change: pass --name or --require-mfa")
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			cl, err := resolveClient(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			raw, err := c.do(cmd.Context(), "PATCH", "/clients/"+pathEscape(cl.ID), body, &cl)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated client %s (require_mfa: %s)\n", cl.ID, yesNo(cl.RequireMFA))
			if cl.ClientSecret != "" {
				// The client had no live secret left, so the server minted one.
				printSecretOnce(cmd.OutOrStdout(), cl.ID, cl.ClientSecret)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().BoolVar(&requireMFA, "require-mfa", false, "require a second factor from every user signing in to the client")
	return cmd
}
