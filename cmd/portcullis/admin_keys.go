package main

import (
	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/web/api"
)

type keyList struct {
	Items []api.KeyInfo `json:"items"`
}

func newAdminKeysCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Show and rotate token-signing keys", Args: cobra.NoArgs}
	show := func(cmd *cobra.Command, method, path string) error {
		c, err := o.client()
		if err != nil {
			return err
		}
		var l keyList
		raw, err := c.do(cmd.Context(), method, path, nil, &l)
		if err != nil {
			return err
		}
		if o.json() {
			return printJSON(cmd.OutOrStdout(), raw)
		}
		rows := make([][]string, 0, len(l.Items))
		for _, k := range l.Items {
			na := ""
			if !k.NotAfter.IsZero() {
				na = timeOrNever(k.NotAfter)
			}
			rows = append(rows, []string{k.ID, k.Algorithm, k.State, na})
		}
		return table(cmd.OutOrStdout(), []string{"KID", "ALGORITHM", "STATE", "NOT_AFTER"}, rows)
	}
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List signing keys", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return show(cmd, "GET", "/keys") },
		},
		&cobra.Command{
			Use: "rotate", Short: "Rotate signing keys now (the next key becomes active)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return show(cmd, "POST", "/keys/rotate") },
		},
	)
	return cmd
}
