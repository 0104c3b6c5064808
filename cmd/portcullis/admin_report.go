package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/web/api"
)

// clientFor is connOpts.client for commands whose --output accepts other formats
// than table and json.
func (o *connOpts) clientFor(formats ...string) (*apiClient, error) {
	if !slices.Contains(formats, o.output) {
		return nil, fmt.Errorf("--output %q: must be %s", o.output, strings.Join(formats, ", "))
	}
	tok, err := resolveToken(o.tokenFile, o.getenv)
	if err != nil {
		return nil, err
	}
	return newAPIClient(o.server, tok)
}

// newAdminReportCmd is `portcullis admin report`.
func newAdminReportCmd(o *connOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Reports on the directory", Args: cobra.NoArgs}
	cmd.AddCommand(newReportCredentialsCmd(o))
	return cmd
}

func newReportCredentialsCmd(o *connOpts) *cobra.Command {
	var mfaFilter string
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "One line per user: password age, second factors, recovery codes, last sign-in",
		Long: `Print the credential report: for every user, whether a password is set and how
old it is, which second factors are enrolled, how many recovery codes are left and
when they last signed in. Reading it is recorded in the audit log.

-o csv writes the report as CSV for a spreadsheet; cells that a spreadsheet would run
as a formula (starting with = + - @) are prefixed with a single quote.`,
		Example: `  portcullis admin report credentials --mfa none
  portcullis admin report credentials -o csv > credentials.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.clientFor("table", "json", "csv")
			if err != nil {
				return err
			}
			q := url.Values{}
			if mfaFilter != "" {
				q.Set("mfa", mfaFilter)
			}
			if o.output == "csv" {
				q.Set("format", "csv")
			}
			path := "/reports/credentials"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var rep api.CredentialReport
			var out any = &rep
			if o.output == "csv" {
				out = nil // raw bytes, written as they came
			}
			raw, err := c.do(cmd.Context(), "GET", path, nil, out)
			if err != nil {
				return err
			}
			switch o.output {
			case "csv":
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			case "json":
				return printJSON(cmd.OutOrStdout(), raw)
			}
			rows := make([][]string, 0, len(rep.Items))
			for _, r := range rep.Items {
				rows = append(rows, credentialRow(r))
			}
			return table(cmd.OutOrStdout(), credentialHeader, rows)
		},
	}
	cmd.Flags().StringVar(&mfaFilter, "mfa", "", `only users with ("enrolled") or without ("none") a second factor`)
	return cmd
}

var credentialHeader = []string{"USER_NAME", "ACTIVE", "ROLES", "PASSWORD_AGE", "MFA", "FACTORS", "RECOVERY_CODES", "LAST_LOGIN"}

func credentialRow(r api.CredentialReportRow) []string {
	age := "none"
	if r.PasswordSet && r.PasswordAgeDays != nil {
		age = strconv.Itoa(*r.PasswordAgeDays) + "d"
	}
	last := "never"
	if r.LastLoginAt != nil {
		last = r.LastLoginAt.UTC().Format(time.RFC3339)
	}
	return []string{
		r.UserName, yesNo(r.Active), strings.Join(r.Roles, ","), age, yesNo(r.MFAEnrolled),
		strings.Join(r.Factors, ","), strconv.Itoa(r.RecoveryCodesLeft), last,
	}
}
