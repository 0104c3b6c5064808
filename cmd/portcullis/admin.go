package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// connOpts are the flags every command that talks to the admin API shares.
type connOpts struct {
	server    string
	tokenFile string
	output    string
	getenv    func(string) string
}

const connHelp = `Connection:
  The server is --server, else $PORTCULLIS_SERVER, else ` + defaultServer + `.
  Plain http is only accepted to a loopback address.
  The admin API token is read from --token-file if given, else from $PORTCULLIS_TOKEN.
  Tokens are never accepted as a flag value (shell history, process listings).`

func addConnFlags(cmd *cobra.Command, o *connOpts) {
	o.getenv = os.Getenv
	server := os.Getenv(envServer)
	if server == "" {
		server = defaultServer
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.server, "server", server, "admin API base URL (default $"+envServer+" or "+defaultServer+")")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the admin API token (takes precedence over $"+envToken+")")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
}

func (o *connOpts) client() (*apiClient, error) {
	if o.output != "table" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: must be table or json", o.output)
	}
	tok, err := resolveToken(o.tokenFile, o.getenv)
	if err != nil {
		return nil, err
	}
	return newAPIClient(o.server, tok)
}

func (o *connOpts) json() bool { return o.output == "json" }

// newAdminCmd is `portcullis admin`: manage users, groups, clients, keys and tokens
// through the admin API of a running server.
func newAdminCmd() *cobra.Command {
	o := &connOpts{}
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage users, groups, clients, signing keys and admin tokens of a running server",
		Long: "Manage a running Portcullis server through its admin API (/admin/v1).\n\n" + connHelp + `

Users, groups and clients are addressed by name (user name, group name, client id).`,
		Args: cobra.NoArgs,
	}
	addConnFlags(cmd, o)
	users := newAdminUsersCmd(o)
	users.AddCommand(newUserRolesCmd(o))
	cmd.AddCommand(users, newAdminGroupsCmd(o), newAdminClientsCmd(o), newAdminKeysCmd(o), newAdminTokensCmd(o), newAdminReportCmd(o),
		newAdminRolesCmd(o), newAdminPoliciesCmd(o), newAdminRoleMappingsCmd(o), newAdminRoleSessionsCmd(o),
		newAdminTrustedIssuersCmd(o), newAdminSAMLProvidersCmd(o))
	return cmd
}

// printJSON writes raw API JSON indented.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

// table writes rows under a header with aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			if r[i] == "" {
				r[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// readPassword takes the password from stdin (first line) or, with a warning, from the
// --password flag.
func readPassword(cmd *cobra.Command, fromStdin bool, flagValue string, required bool) (string, error) {
	switch {
	case fromStdin && flagValue != "":
		return "", errors.New("use either --password-stdin or --password, not both")
	case fromStdin:
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("--password-stdin: no password on standard input")
		}
		return pw, nil
	case flagValue != "":
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: --password leaves the password in your shell history and process list; prefer --password-stdin")
		return flagValue, nil
	case required:
		return "", errors.New("a password is required: pass it on standard input with --password-stdin")
	}
	return "", nil
}

func addPasswordFlags(cmd *cobra.Command, stdin *bool, pw *string) {
	cmd.Flags().BoolVar(stdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().StringVar(pw, "password", "", "the password (insecure: ends up in shell history; prefer --password-stdin)")
}

func pathEscape(s string) string { return url.PathEscape(s) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
