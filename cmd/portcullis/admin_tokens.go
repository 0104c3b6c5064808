package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/web/api"
)

type tokenList struct {
	Items []api.Token `json:"items"`
}

func newAdminTokensCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Manage admin API tokens",
		Long: `Manage admin API tokens. A fresh server writes a one-time bootstrap token to a file;
use it to create a named token, then revoke the bootstrap token:

  portcullis admin --token-file data/bootstrap-admin.token tokens create ops --expires-in 720h
  portcullis admin tokens revoke bootstrap`,
		Args: cobra.NoArgs,
	}
	var (
		roles     []string
		expiresIn string
	)
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a token; it is printed once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			body := map[string]any{"name": args[0], "roles": roles}
			if expiresIn != "" {
				body["expires_in"] = expiresIn
			}
			var t api.Token
			raw, err := c.do(cmd.Context(), "POST", "/tokens", body, &t)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created token %s (id %s), expires %s\n%s\n", t.Name, t.ID, timeOrNever(t.ExpiresAt), t.Token)
			fmt.Fprintln(cmd.OutOrStdout(), "Store the token now: it is shown once and cannot be shown again.")
			return nil
		},
	}
	create.Flags().StringSliceVar(&roles, "role", []string{"admin"}, "role of the token (repeatable)")
	create.Flags().StringVar(&expiresIn, "expires-in", "", fmt.Sprintf("lifetime, e.g. 720h (default %s)", api.DefaultTokenLifetime))
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List tokens (never their secrets)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				var l tokenList
				raw, err := c.do(cmd.Context(), "GET", "/tokens", nil, &l)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				rows := make([][]string, 0, len(l.Items))
				for _, t := range l.Items {
					rows = append(rows, []string{t.ID, t.Name, strings.Join(t.Roles, ","), t.CreatedAt.Format(time.RFC3339), timeOrNever(t.ExpiresAt), yesNo(t.Revoked)})
				}
				return table(cmd.OutOrStdout(), []string{"ID", "NAME", "ROLES", "CREATED", "EXPIRES", "REVOKED"}, rows)
			},
		},
		create,
		&cobra.Command{
			Use: "revoke ID|NAME", Short: "Revoke a token by id, or by name when one live token has it", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				id, err := resolveTokenID(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				if _, err := c.do(cmd.Context(), "DELETE", "/tokens/"+pathEscape(id), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s (id %s)\n", args[0], id)
				return nil
			},
		},
	)
	return cmd
}

// resolveTokenID accepts a token id, or the name of exactly one live (unrevoked) token.
func resolveTokenID(ctx context.Context, c *apiClient, arg string) (string, error) {
	var l tokenList
	if _, err := c.do(ctx, "GET", "/tokens", nil, &l); err != nil {
		return "", err
	}
	var byName []string
	for _, t := range l.Items {
		if t.ID == arg {
			return t.ID, nil
		}
		if t.Name == arg && !t.Revoked {
			byName = append(byName, t.ID)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return "", fmt.Errorf("no token with id or name %q", arg)
	default:
		return "", fmt.Errorf("%d live tokens are named %q: revoke by id (portcullis admin tokens list)", len(byName), arg)
	}
}
