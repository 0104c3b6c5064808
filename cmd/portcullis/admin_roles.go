package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/api"
)

// readDocument reads a JSON policy document from a file, or from standard input for "-".
func readDocument(cmd *cobra.Command, flag, path string) (json.RawMessage, error) {
	if path == "" {
		return nil, fmt.Errorf("--%s is required (a file, or - for standard input)", flag)
	}
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--%s %s: not valid JSON", flag, path)
	}
	return json.RawMessage(b), nil
}

// withConn runs fn with an API client and prints JSON output when asked for.
func withConn(o *connOpts, fn func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := o.client()
		if err != nil {
			return err
		}
		raw, err := fn(cmd, c, args)
		if err != nil || raw == nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), raw)
	}
}

func newAdminRolesCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "roles", Short: "Manage roles (assumable identities with trust and permission policies)", Args: cobra.NoArgs}
	var (
		trustFile, path, description, boundary, maxSession string
		policies                                           []string
		requireMFA                                         bool
	)
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a role", Args: cobra.ExactArgs(1),
		Example: "  portcullis admin roles create deploy --path /ci/ --trust-policy trust.json --policy ReadOnly --max-session 2h",
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			trust, err := readDocument(cmd, "trust-policy", trustFile)
			if err != nil {
				return nil, err
			}
			body := map[string]any{"name": args[0], "trust_policy": trust, "managed_policies": policies, "require_mfa": requireMFA}
			for k, v := range map[string]string{"path": path, "description": description, "permission_boundary": boundary, "max_session_duration": maxSession} {
				if v != "" {
					body[k] = v
				}
			}
			var ro api.Role
			raw, err := c.do(cmd.Context(), "POST", "/roles", body, &ro)
			if err != nil || o.json() {
				return raw, err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created role %s (%s)\n", ro.Name, ro.ARN)
			return nil, nil
		}),
	}
	f := create.Flags()
	f.StringVar(&trustFile, "trust-policy", "", "file holding the trust policy JSON (- for standard input)")
	f.StringSliceVar(&policies, "policy", nil, "managed policy to attach (repeatable)")
	f.StringVar(&boundary, "boundary", "", "managed policy used as permission boundary")
	f.StringVar(&path, "path", "", `role path such as "/ci/" (default "/")`)
	f.StringVar(&description, "description", "", "what the role is for")
	f.StringVar(&maxSession, "max-session", "", "maximum session duration, 15m to 12h (default 1h)")
	f.BoolVar(&requireMFA, "require-mfa", false, "sessions of this role need a second factor")

	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List roles", Args: cobra.NoArgs,
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, _ []string) ([]byte, error) {
				var l struct{ Items []api.Role }
				raw, err := c.do(cmd.Context(), "GET", "/roles", nil, &l)
				if err != nil || o.json() {
					return raw, err
				}
				rows := make([][]string, 0, len(l.Items))
				for _, r := range l.Items {
					rows = append(rows, []string{r.Name, r.ARN, strings.Join(r.ManagedPolicies, ","), r.MaxSessionDuration, yesNo(r.RequireMFA), r.Source})
				}
				return nil, table(cmd.OutOrStdout(), []string{"NAME", "ARN", "POLICIES", "MAX_SESSION", "MFA", "SOURCE"}, rows)
			}),
		},
		&cobra.Command{
			Use: "get NAME", Short: "Show a role with its policies", Args: cobra.ExactArgs(1),
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
				// Policy documents do not fit a table: always JSON.
				return c.do(cmd.Context(), "GET", "/roles/"+pathEscape(args[0]), nil, nil)
			}),
		},
		create,
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a role", Args: cobra.ExactArgs(1),
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
				if _, err := c.do(cmd.Context(), "DELETE", "/roles/"+pathEscape(args[0]), nil, nil); err != nil {
					return nil, err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted role %s\n", args[0])
				return nil, nil
			}),
		},
	)
	return cmd
}

func newAdminPoliciesCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "policies", Short: "Manage managed permission policies and their versions", Args: cobra.NoArgs}
	var docFile, description string
	var setDefault bool
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a managed policy, or with --new-version add a version to one", Args: cobra.ExactArgs(1),
		Example: "  portcullis admin policies create ReadOnly --document readonly.json\n" +
			"  portcullis admin policies create ReadOnly --document v2.json --new-version --set-default",
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			doc, err := readDocument(cmd, "document", docFile)
			if err != nil {
				return nil, err
			}
			var p store.ManagedPolicy
			var raw []byte
			if newVersion, _ := cmd.Flags().GetBool("new-version"); newVersion {
				raw, err = c.do(cmd.Context(), "POST", "/policies/"+pathEscape(args[0])+"/versions", map[string]any{"document": doc, "set_default": setDefault}, &p)
			} else {
				raw, err = c.do(cmd.Context(), "POST", "/policies", map[string]any{"name": args[0], "description": description, "document": doc}, &p)
			}
			if err != nil || o.json() {
				return raw, err
			}
			latest := p.Versions[len(p.Versions)-1].Version
			fmt.Fprintf(cmd.OutOrStdout(), "policy %s: version %d stored, default is %d\n", p.Name, latest, p.DefaultVersion)
			return nil, nil
		}),
	}
	create.Flags().StringVar(&docFile, "document", "", "file holding the policy JSON (- for standard input)")
	create.Flags().StringVar(&description, "description", "", "what the policy grants")
	create.Flags().Bool("new-version", false, "add the document as a new version of an existing policy")
	create.Flags().BoolVar(&setDefault, "set-default", false, "with --new-version: make the new version the default")

	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List managed policies", Args: cobra.NoArgs,
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, _ []string) ([]byte, error) {
				var l struct{ Items []store.ManagedPolicy }
				raw, err := c.do(cmd.Context(), "GET", "/policies", nil, &l)
				if err != nil || o.json() {
					return raw, err
				}
				rows := make([][]string, 0, len(l.Items))
				for _, p := range l.Items {
					kept := make([]string, 0, len(p.Versions))
					for _, v := range p.Versions {
						kept = append(kept, strconv.Itoa(v.Version))
					}
					rows = append(rows, []string{p.Name, strconv.Itoa(p.DefaultVersion), strings.Join(kept, ","), p.Description, p.Source})
				}
				return nil, table(cmd.OutOrStdout(), []string{"NAME", "DEFAULT", "VERSIONS", "DESCRIPTION", "SOURCE"}, rows)
			}),
		},
		&cobra.Command{
			Use: "get NAME", Short: "Show a managed policy with every kept version", Args: cobra.ExactArgs(1),
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
				return c.do(cmd.Context(), "GET", "/policies/"+pathEscape(args[0]), nil, nil)
			}),
		},
		create,
		&cobra.Command{
			Use: "set-default NAME VERSION", Short: "Make a kept version the default (roll back or forward)", Args: cobra.ExactArgs(2),
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
				v, err := strconv.Atoi(args[1])
				if err != nil || v < 1 {
					return nil, fmt.Errorf("VERSION %q: must be a positive number", args[1])
				}
				var p store.ManagedPolicy
				raw, err := c.do(cmd.Context(), "PUT", "/policies/"+pathEscape(args[0])+"/default", map[string]any{"version": v}, &p)
				if err != nil || o.json() {
					return raw, err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "policy %s: default version is now %d\n", p.Name, p.DefaultVersion)
				return nil, nil
			}),
		},
	)
	return cmd
}

type mappingList struct {
	Items []store.RoleMapping `json:"items"`
}

// resolveMapping finds a role mapping by name through the exact-match filter.
func resolveMapping(ctx context.Context, c *apiClient, name string) (store.RoleMapping, error) {
	var l mappingList
	if _, err := c.do(ctx, "GET", "/role-mappings?name="+url.QueryEscape(name), nil, &l); err != nil {
		return store.RoleMapping{}, err
	}
	if len(l.Items) == 0 {
		return store.RoleMapping{}, fmt.Errorf("no role mapping named %q", name)
	}
	return l.Items[0], nil
}

func describeMatch(m store.MappingMatch) string {
	var parts []string
	if m.Group != "" {
		parts = append(parts, "group="+m.Group)
	}
	if m.Claim != "" {
		parts = append(parts, m.Claim+"="+m.Value)
	}
	return strings.Join(parts, " ")
}

func newAdminRoleMappingsCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "role-mappings", Short: "Manage the rules that grant roles to users and upstream identities", Args: cobra.NoArgs}
	var (
		m          store.RoleMapping
		roleNames  []string
		cidrs      []string
		requireMFA bool
	)
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a role mapping rule", Args: cobra.ExactArgs(1),
		Example: "  portcullis admin role-mappings create eng --source local --group 'eng-*' --role developer\n" +
			"  portcullis admin role-mappings create gh-main --source github --claim sub --value 'repo:acme/*:ref:refs/heads/main' --role deploy",
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			body := map[string]any{
				"name": args[0], "source": m.Source, "match": m.Match, "roles": roleNames,
				"require_mfa": requireMFA, "source_cidrs": cidrs,
			}
			var out store.RoleMapping
			raw, err := c.do(cmd.Context(), "POST", "/role-mappings", body, &out)
			if err != nil || o.json() {
				return raw, err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created role mapping %s (id %s)\n", out.Name, out.ID)
			return nil, nil
		}),
	}
	f := create.Flags()
	f.StringVar(&m.Source, "source", store.MappingSourceLocal, `where identities come from: "local", a connector id, a SCIM client id, or "*"`)
	f.StringVar(&m.Match.Group, "group", "", "group name or glob (* and ?), case-insensitive")
	f.StringVar(&m.Match.Claim, "claim", "", "upstream claim to match")
	f.StringVar(&m.Match.Value, "value", "", "glob one of the claim's values must match")
	f.StringSliceVar(&roleNames, "role", nil, "role to grant (repeatable)")
	f.StringSliceVar(&cidrs, "cidr", nil, "only from this network (repeatable)")
	f.BoolVar(&requireMFA, "require-mfa", false, "only after a second factor")

	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List role mappings", Args: cobra.NoArgs,
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, _ []string) ([]byte, error) {
				var l mappingList
				raw, err := c.do(cmd.Context(), "GET", "/role-mappings", nil, &l)
				if err != nil || o.json() {
					return raw, err
				}
				rows := make([][]string, 0, len(l.Items))
				for _, m := range l.Items {
					rows = append(rows, []string{m.Name, m.Source, describeMatch(m.Match), strings.Join(m.Roles, ","), yesNo(m.RequireMFA), strings.Join(m.SourceCIDRs, ",")})
				}
				return nil, table(cmd.OutOrStdout(), []string{"NAME", "SOURCE", "MATCH", "ROLES", "MFA", "CIDRS"}, rows)
			}),
		},
		create,
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a role mapping", Args: cobra.ExactArgs(1),
			RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
				m, err := resolveMapping(cmd.Context(), c, args[0])
				if err != nil {
					return nil, err
				}
				if _, err := c.do(cmd.Context(), "DELETE", "/role-mappings/"+pathEscape(m.ID), nil, nil); err != nil {
					return nil, err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted role mapping %s\n", m.Name)
				return nil, nil
			}),
		},
	)
	return cmd
}

// newUserRolesCmd is `admin users roles USER`: the roles the mapping rules grant.
func newUserRolesCmd(o *connOpts) *cobra.Command {
	return &cobra.Command{
		Use: "roles USER", Short: "Show the roles the mapping rules grant a user, with the rule behind each", Args: cobra.ExactArgs(1),
		Long: "Show the roles the role mapping rules grant a user now, one line per role and rule.\n" +
			"Rules that require a second factor or a source network are left out: they depend on the sign-in.",
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			u, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return nil, err
			}
			var ur api.UserRoles
			raw, err := c.do(cmd.Context(), "GET", "/users/"+pathEscape(u.ID)+"/roles", nil, &ur)
			if err != nil || o.json() {
				return raw, err
			}
			rows := make([][]string, 0, len(ur.Items))
			for _, g := range ur.Items {
				rows = append(rows, []string{g.Role, g.Rule})
			}
			return nil, table(cmd.OutOrStdout(), []string{"ROLE", "RULE"}, rows)
		}),
	}
}
