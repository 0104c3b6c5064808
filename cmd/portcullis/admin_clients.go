package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/web/api"
)

type clientList struct {
	Items []api.Client `json:"items"`
}

// resolveClient finds a client by id, else by a unique display name.
func resolveClient(ctx context.Context, c *apiClient, name string) (api.Client, error) {
	var cl api.Client
	_, err := c.do(ctx, "GET", "/clients/"+pathEscape(name), nil, &cl)
	var ae *apiError
	if err == nil || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		return cl, err
	}
	var l clientList
	if _, err := c.do(ctx, "GET", "/clients", nil, &l); err != nil {
		return api.Client{}, err
	}
	var found []api.Client
	for _, x := range l.Items {
		if strings.EqualFold(x.Name, name) {
			found = append(found, x)
		}
	}
	switch len(found) {
	case 0:
		return api.Client{}, fmt.Errorf("no client with id or name %q", name)
	case 1:
		return found[0], nil
	}
	return api.Client{}, fmt.Errorf("several clients are named %q; use the client id", name)
}

func printSecretOnce(w io.Writer, clientID, secret string) {
	fmt.Fprintf(w, "client_id:     %s\nclient_secret: %s\n", clientID, secret)
	fmt.Fprintln(w, "Store the secret now: it is shown once and cannot be shown again.")
}

func newAdminClientsCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Manage OAuth 2.0 / OpenID Connect clients", Args: cobra.NoArgs}
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List clients", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				var l clientList
				raw, err := c.do(cmd.Context(), "GET", "/clients", nil, &l)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				rows := make([][]string, 0, len(l.Items))
				for _, x := range l.Items {
					rows = append(rows, clientRow(x))
				}
				return table(cmd.OutOrStdout(), clientHeader, rows)
			},
		},
		newClientCreateCmd(o),
		&cobra.Command{
			Use: "get NAME", Short: "Show a client (never its secrets)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				cl, err := resolveClient(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				raw, err := c.do(cmd.Context(), "GET", "/clients/"+pathEscape(cl.ID), nil, &cl)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				if err := table(cmd.OutOrStdout(), clientHeader, [][]string{clientRow(cl)}); err != nil {
					return err
				}
				if len(cl.Secrets) > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
					rows := make([][]string, 0, len(cl.Secrets))
					for _, s := range cl.Secrets {
						rows = append(rows, []string{s.ID, s.CreatedAt.Format(time.RFC3339), timeOrNever(s.ExpiresAt)})
					}
					return table(cmd.OutOrStdout(), []string{"SECRET_ID", "CREATED", "EXPIRES"}, rows)
				}
				return nil
			},
		},
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a client", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				cl, err := resolveClient(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				if _, err := c.do(cmd.Context(), "DELETE", "/clients/"+pathEscape(cl.ID), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted client %s\n", cl.ID)
				return nil
			},
		},
		newClientUpdateCmd(o),
		newClientAddSecretCmd(o),
		&cobra.Command{
			Use: "delete-secret NAME SECRET_ID", Short: "Delete one secret of a client", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				cl, err := resolveClient(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				if _, err := c.do(cmd.Context(), "DELETE", "/clients/"+pathEscape(cl.ID)+"/secrets/"+pathEscape(args[1]), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted secret %s of client %s\n", args[1], cl.ID)
				return nil
			},
		},
	)
	return cmd
}

var clientHeader = []string{"ID", "NAME", "TYPE", "SECRETS", "GRANT_TYPES", "REDIRECT_URIS"}

func clientRow(c api.Client) []string {
	typ := "confidential"
	if c.Public {
		typ = "public"
	}
	if c.Native {
		typ += ",native"
	}
	return []string{c.ID, c.Name, typ, fmt.Sprint(len(c.Secrets)), strings.Join(c.GrantTypes, ","), strings.Join(c.RedirectURIs, ",")}
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func newClientCreateCmd(o *connOpts) *cobra.Command {
	var (
		id, displayName                          string
		redirects, postLogout, grants, scopes    []string
		public, native, requireMFA               bool
		tokenFormat                              string
		accessLifetime, idLifetime, refreshLifet string
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a client; a confidential client's secret is printed once",
		Example: `  portcullis admin clients create demo --redirect-uri https://app.example.com/callback
  portcullis admin clients create cli --public --native --redirect-uri http://127.0.0.1/callback
  portcullis admin clients create ci --grant-type client_credentials --scope api`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			if id == "" {
				id = args[0]
			}
			if displayName == "" {
				displayName = args[0]
			}
			body := map[string]any{"id": id, "name": displayName, "public": public, "native": native, "require_mfa": requireMFA}
			for k, v := range map[string][]string{"redirect_uris": redirects, "post_logout_redirect_uris": postLogout, "grant_types": grants, "scopes": scopes} {
				if len(v) > 0 {
					body[k] = v
				}
			}
			for k, v := range map[string]string{"access_token_format": tokenFormat, "access_token_lifetime": accessLifetime, "id_token_lifetime": idLifetime, "refresh_token_lifetime": refreshLifet} {
				if v != "" {
					body[k] = v
				}
			}
			var cl api.Client
			raw, err := c.do(cmd.Context(), "POST", "/clients", body, &cl)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created client %s\n", cl.ID)
			if cl.ClientSecret != "" {
				printSecretOnce(cmd.OutOrStdout(), cl.ID, cl.ClientSecret)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "client_id: %s (public client: no secret; PKCE S256 is required)\n", cl.ID)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "client id (default: NAME)")
	f.StringVar(&displayName, "name", "", "display name (default: NAME)")
	f.StringSliceVar(&redirects, "redirect-uri", nil, "redirect URI, matched exactly (repeatable)")
	f.StringSliceVar(&postLogout, "post-logout-redirect-uri", nil, "post-logout redirect URI (repeatable)")
	f.StringSliceVar(&grants, "grant-type", nil, "grant type, e.g. authorization_code, refresh_token, client_credentials (repeatable)")
	f.StringSliceVar(&scopes, "scope", nil, "allowed scope beyond openid (repeatable)")
	f.BoolVar(&public, "public", false, "public client: no secret, PKCE S256 required")
	f.BoolVar(&native, "native", false, "native app: loopback redirect URIs may use any port")
	f.BoolVar(&requireMFA, "require-mfa", false, "require a second factor from every user signing in to the client")
	f.StringVar(&tokenFormat, "access-token-format", "", "jwt or opaque")
	f.StringVar(&accessLifetime, "access-token-lifetime", "", "e.g. 10m")
	f.StringVar(&idLifetime, "id-token-lifetime", "", "e.g. 1h")
	f.StringVar(&refreshLifet, "refresh-token-lifetime", "", "e.g. 720h")
	return cmd
}

func newClientAddSecretCmd(o *connOpts) *cobra.Command {
	var expireOthers string
	cmd := &cobra.Command{
		Use:   "add-secret NAME",
		Short: "Add a second secret for a zero-downtime rotation; it is printed once",
		Long: `Add a secret to a confidential client. At most two secrets may be live at once.
With --expire-others-in, the existing secrets stop working after that duration, giving
the application time to switch to the new one; then delete the old one with delete-secret.`,
		Example: "  portcullis admin clients add-secret demo --expire-others-in 24h",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			cl, err := resolveClient(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			body := map[string]any{}
			if expireOthers != "" {
				body["expire_others_in"] = expireOthers
			}
			var sc api.SecretCreated
			raw, err := c.do(cmd.Context(), "POST", "/clients/"+pathEscape(cl.ID)+"/secrets", body, &sc)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added secret %s to client %s\n", sc.Secret.ID, cl.ID)
			printSecretOnce(cmd.OutOrStdout(), cl.ID, sc.ClientSecret)
			return nil
		},
	}
	cmd.Flags().StringVar(&expireOthers, "expire-others-in", "", "expire the existing secrets after this duration, e.g. 24h")
	return cmd
}
