package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/store"
)

type groupList struct {
	Items []store.Group `json:"items"`
}

// resolveGroup finds a group by name through the exact-match filter.
func resolveGroup(ctx context.Context, c *apiClient, name string) (store.Group, error) {
	var l groupList
	if _, err := c.do(ctx, "GET", "/groups?name="+url.QueryEscape(name), nil, &l); err != nil {
		return store.Group{}, err
	}
	if len(l.Items) == 0 {
		return store.Group{}, fmt.Errorf("no group named %q", name)
	}
	return l.Items[0], nil
}

func newAdminGroupsCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "groups", Short: "Manage groups and memberships", Args: cobra.NoArgs}
	var members []string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a group", Args: cobra.ExactArgs(1),
		Example: "  portcullis admin groups create engineering --member alice --member bob",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			ids := make([]string, 0, len(members))
			for _, m := range members {
				u, err := resolveUser(cmd.Context(), c, m)
				if err != nil {
					return err
				}
				ids = append(ids, u.ID)
			}
			var g store.Group
			raw, err := c.do(cmd.Context(), "POST", "/groups", map[string]any{"display_name": args[0], "members": ids}, &g)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created group %s (id %s)\n", g.DisplayName, g.ID)
			return nil
		},
	}
	create.Flags().StringSliceVar(&members, "member", nil, "user name of a member (repeatable)")
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List groups", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				var l groupList
				raw, err := c.do(cmd.Context(), "GET", "/groups", nil, &l)
				if err != nil {
					return err
				}
				if o.json() {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				rows := make([][]string, 0, len(l.Items))
				for _, g := range l.Items {
					rows = append(rows, []string{g.DisplayName, g.ID, strconv.Itoa(len(g.Members)), g.Source})
				}
				return table(cmd.OutOrStdout(), []string{"NAME", "ID", "MEMBERS", "SOURCE"}, rows)
			},
		},
		create,
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a group", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				g, err := resolveGroup(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				if _, err := c.do(cmd.Context(), "DELETE", "/groups/"+pathEscape(g.ID), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted group %s\n", g.DisplayName)
				return nil
			},
		},
		memberCmd(o, "add-member", "Add a user to a group", "PUT", "added %s to %s\n"),
		memberCmd(o, "remove-member", "Remove a user from a group", "DELETE", "removed %s from %s\n"),
	)
	return cmd
}

func memberCmd(o *connOpts, use, short, method, done string) *cobra.Command {
	return &cobra.Command{
		Use: use + " GROUP USER", Short: short, Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			g, err := resolveGroup(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			u, err := resolveUser(cmd.Context(), c, args[1])
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), method, "/groups/"+pathEscape(g.ID)+"/members/"+pathEscape(u.ID), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), done, u.UserName, g.DisplayName)
			return nil
		},
	}
}
