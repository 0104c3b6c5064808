package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/store"
)

type userList struct {
	Items []store.User `json:"items"`
}

// resolveUser finds a user by name through the exact-match filter.
func resolveUser(ctx context.Context, c *apiClient, name string) (store.User, error) {
	var l userList
	if _, err := c.do(ctx, "GET", "/users?user_name="+url.QueryEscape(name), nil, &l); err != nil {
		return store.User{}, err
	}
	if len(l.Items) == 0 {
		return store.User{}, fmt.Errorf("no user named %q", name)
	}
	return l.Items[0], nil
}

func newAdminUsersCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users", Args: cobra.NoArgs}
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List users", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				var l userList
				raw, err := c.do(cmd.Context(), "GET", "/users", nil, &l)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				rows := make([][]string, 0, len(l.Items))
				for _, u := range l.Items {
					rows = append(rows, userRow(u))
				}
				return table(cmd.OutOrStdout(), userHeader, rows)
			},
		},
		newUserCreateCmd(o),
		&cobra.Command{
			Use: "get NAME", Short: "Show a user", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				u, err := resolveUser(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				raw, err := c.do(cmd.Context(), "GET", "/users/"+pathEscape(u.ID), nil, &u)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				return table(cmd.OutOrStdout(), userHeader, [][]string{userRow(u)})
			},
		},
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a user with their credentials, memberships and sessions", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				u, err := resolveUser(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				if _, err := c.do(cmd.Context(), "DELETE", "/users/"+pathEscape(u.ID), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted user %s\n", u.UserName)
				return nil
			},
		},
		newUserSetPasswordCmd(o),
		&cobra.Command{
			Use: "deactivate NAME", Short: "Deactivate a user and revoke their sessions and refresh tokens", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				u, err := resolveUser(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				raw, err := c.do(cmd.Context(), "POST", "/users/"+pathEscape(u.ID)+"/deactivate", nil, nil)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deactivated user %s\n", u.UserName)
				return nil
			},
		},
		newUserMFACmd(o),
		newUserResetMFACmd(o),
	)
	return cmd
}

var userHeader = []string{"USER_NAME", "ID", "DISPLAY_NAME", "EMAILS", "ACTIVE", "ROLES", "SOURCE"}

func userRow(u store.User) []string {
	return []string{u.UserName, u.ID, u.DisplayName, strings.Join(u.Emails, ","), yesNo(u.Active), strings.Join(u.Roles, ","), u.Source}
}

func newUserCreateCmd(o *connOpts) *cobra.Command {
	var (
		displayName string
		emails      []string
		roles       []string
		inactive    bool
		pwStdin     bool
		pwFlag      string
		mustChange  bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a user, optionally with a password",
		Example: `  echo "$PASSWORD" | portcullis admin users create alice --email alice@example.com --password-stdin --must-change
  portcullis admin users create ops-bot --role admin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, pwStdin, pwFlag, false)
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			body := map[string]any{"user_name": args[0], "active": !inactive}
			if displayName != "" {
				body["display_name"] = displayName
			}
			if len(emails) > 0 {
				body["emails"] = emails
			}
			if len(roles) > 0 {
				body["roles"] = roles
			}
			if pw != "" {
				body["password"] = pw
				body["must_change_password"] = mustChange
			}
			var u store.User
			raw, err := c.do(cmd.Context(), "POST", "/users", body, &u)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (id %s)\n", u.UserName, u.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&displayName, "display-name", "", "display name")
	f.StringSliceVar(&emails, "email", nil, "email address (repeatable)")
	f.StringSliceVar(&roles, "role", nil, "built-in role such as admin (repeatable)")
	f.BoolVar(&inactive, "inactive", false, "create the user deactivated")
	f.BoolVar(&mustChange, "must-change", false, "force a password change at the first sign-in")
	addPasswordFlags(cmd, &pwStdin, &pwFlag)
	return cmd
}

func newUserSetPasswordCmd(o *connOpts) *cobra.Command {
	var (
		pwStdin    bool
		pwFlag     string
		mustChange bool
	)
	cmd := &cobra.Command{
		Use:     "set-password NAME",
		Short:   "Set a user's password",
		Example: `  printf '%s\n' "$PASSWORD" | portcullis admin users set-password alice --password-stdin --must-change`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, pwStdin, pwFlag, true)
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			u, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "POST", "/users/"+pathEscape(u.ID)+"/password", map[string]any{"password": pw, "must_change": mustChange}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of user %s set\n", u.UserName)
			return nil
		},
	}
	cmd.Flags().BoolVar(&mustChange, "must-change", false, "force a password change at the next sign-in")
	addPasswordFlags(cmd, &pwStdin, &pwFlag)
	return cmd
}
