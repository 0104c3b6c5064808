package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/idp/declare"
)

// maxApplyFile bounds one declarative file.
const maxApplyFile = 4 << 20

// newApplyCmd is `portcullis apply -f FILE...`: send declarative IAM documents to the
// server, which plans and applies them in one transaction.
func newApplyCmd() *cobra.Command {
	o := &connOpts{}
	var (
		files         []string
		dryRun, prune bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE...",
		Short: "Apply declarative users, groups and clients (YAML) to a running server",
		Long: `Send YAML documents (top-level keys users, groups, clients) to the server, which
plans the changes and applies them in one transaction: either all of it or none.
The plan is printed as + create, ~ update (changed fields), - delete, = unchanged.
--dry-run shows the plan without changing anything. --prune deletes users, groups and
clients that an earlier apply created and that the files no longer declare; entities made by
an administrator, SCIM or a connector are never pruned. Secrets generated for new
confidential clients are printed once.

` + connHelp,
		Example: `  portcullis apply -f iam/users.yaml -f iam/clients.yaml --dry-run
  portcullis apply -f iam/ --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("no files: pass one or more -f FILE (- for standard input)")
			}
			contents, order, err := readApplyFiles(cmd.InOrStdin(), files)
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if dryRun {
				q.Set("dry_run", "true")
			}
			if prune {
				q.Set("prune", "true")
			}
			path := "/apply"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var res declare.Result
			raw, err := c.upload(cmd.Context(), path, contents, order, &res)
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			printApplyResult(cmd.OutOrStdout(), res)
			return nil
		},
	}
	addConnFlags(cmd, o)
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "YAML file, directory of .yaml/.yml files, or - for standard input (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan without changing anything")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete declarative users, groups and clients the files no longer declare")
	return cmd
}

// readApplyFiles reads each file (a directory contributes its *.yaml and *.yml files,
// sorted) and returns the contents by name and the order to send them in.
func readApplyFiles(stdin io.Reader, files []string) (map[string][]byte, []string, error) {
	contents := map[string][]byte{}
	var order []string
	add := func(name string, data []byte) error {
		if _, dup := contents[name]; dup {
			return fmt.Errorf("%s is given twice", name)
		}
		if len(data) > maxApplyFile {
			return fmt.Errorf("%s: larger than %d bytes", name, maxApplyFile)
		}
		contents[name] = data
		order = append(order, name)
		return nil
	}
	for _, f := range files {
		if f == "-" {
			data, err := io.ReadAll(io.LimitReader(stdin, maxApplyFile+1))
			if err != nil {
				return nil, nil, fmt.Errorf("read standard input: %w", err)
			}
			if err := add("stdin", data); err != nil {
				return nil, nil, err
			}
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", f, err)
		}
		names := []string{f}
		if fi.IsDir() {
			names = nil
			entries, err := os.ReadDir(f)
			if err != nil {
				return nil, nil, fmt.Errorf("read directory %s: %w", f, err)
			}
			for _, e := range entries {
				if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
					names = append(names, f+string(os.PathSeparator)+n)
				}
			}
			sort.Strings(names)
			if len(names) == 0 {
				return nil, nil, fmt.Errorf("directory %s holds no .yaml or .yml files", f)
			}
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, nil, fmt.Errorf("read %s: %w", n, err)
			}
			if err := add(n, data); err != nil {
				return nil, nil, err
			}
		}
	}
	return contents, order, nil
}

func printApplyResult(w io.Writer, res declare.Result) {
	if res.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed.")
	}
	fmt.Fprint(w, res.Table())
	if len(res.ClientSecrets) == 0 {
		return
	}
	ids := make([]string, 0, len(res.ClientSecrets))
	for id := range res.ClientSecrets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintln(w)
	for _, id := range ids {
		fmt.Fprintf(w, "client_id: %s  client_secret: %s\n", id, res.ClientSecrets[id])
	}
	fmt.Fprintln(w, "Store these secrets now: they are shown once and cannot be shown again.")
}
