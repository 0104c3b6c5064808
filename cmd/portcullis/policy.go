package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/portcullis-id/portcullis/idp/policy"
)

// newPolicyCmd is `portcullis policy`: offline tools for IAM policy documents. Nothing
// here talks to a server; it reads files and runs the same engine the STS uses.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate IAM policy documents and simulate decisions offline",
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicySimulateCmd())
	return cmd
}

var policyKinds = map[string]policy.Kind{
	"identity": policy.Identity,
	"trust":    policy.Trust,
	"boundary": policy.Boundary,
	"session":  policy.Session,
}

func parsePolicyKind(s string) (policy.Kind, error) {
	k, ok := policyKinds[strings.ToLower(s)]
	if !ok {
		return 0, fmt.Errorf("--kind %q: use identity, trust, boundary or session", s)
	}
	return k, nil
}

// readPolicyFile reads one policy file, refusing anything larger than the engine
// accepts before reading it whole.
func readPolicyFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, policy.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

func newPolicyValidateCmd() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy documents and report every error and risky shape",
		Long: `Parse each file as a policy of the given kind and print every problem with its path
(for example Statement[1].Condition.StringLike["aws:username"]) and every warning
(Allow with "*" on "*", Allow with NotAction or NotResource, federated trust without a
:sub or :aud condition, ...). Exits non-zero when any file has errors; warnings alone
do not fail.`,
		Example: `  portcullis policy validate iam/s3-read.json iam/deploy.json
  portcullis policy validate --kind trust roles/github-trust.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			k, err := parsePolicyKind(kind)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			bad := 0
			for _, f := range files {
				data, err := readPolicyFile(f)
				if err != nil {
					fmt.Fprintf(out, "%s: error: %v\n", f, err)
					bad++
					continue
				}
				d, err := policy.Parse(data, k)
				if err != nil {
					bad++
					for _, line := range strings.Split(err.Error(), "\n") {
						fmt.Fprintf(out, "%s: error: %s\n", f, line)
					}
					continue
				}
				ws := d.Warnings()
				for _, w := range ws {
					fmt.Fprintf(out, "%s: warning: %s\n", f, w)
				}
				if len(ws) == 0 {
					fmt.Fprintf(out, "%s: ok\n", f)
				} else {
					fmt.Fprintf(out, "%s: ok with %d warning(s)\n", f, len(ws))
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d policy files are invalid", bad, len(files))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "identity", "policy kind: identity, trust, boundary or session")
	return cmd
}

// simulation is one (action, resource) result of `policy simulate`.
type simulation struct {
	Action   string          `json:"action"`
	Resource string          `json:"resource"`
	Decision policy.Decision `json:"decision"`
}

func newPolicySimulateCmd() *cobra.Command {
	var (
		identity, session, actions, resources, ctxPairs []string
		boundary, output                                string
		server, role, tokenFile                         string
	)
	cmd := &cobra.Command{
		Use:   "simulate --policy FILE... --action A... [--resource R...]",
		Short: "Decide requests against policy files, offline",
		Long: `Evaluate every combination of --action and --resource against the identity policies
(--policy), the optional permissions boundary (--boundary) and session policies
(--session-policy), as the STS would for a role session. For each pair print the
decision, the statements that decided it and the reason; an implicit deny names the
layer that did not allow. --context key=value adds a request condition key; repeat a
key to give it several values. --resource defaults to "*". Resource-based policies are
not simulated.`,
		Example: `  portcullis policy simulate --policy iam/s3.json --boundary iam/boundary.json \
    --action s3:GetObject --action s3:PutObject --resource arn:aws:s3:::logs/a \
    --context aws:SourceIp=10.1.2.3 --context aws:username=alice -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role != "" && server == "" {
				return errors.New("--role needs --server: roles live on the server")
			}
			if len(identity) == 0 && role == "" {
				return errors.New("no identity policies: pass one or more --policy FILE (or --role with --server)")
			}
			if len(actions) == 0 {
				return errors.New("no actions: pass one or more --action service:Operation")
			}
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q: use table or json", output)
			}
			if len(resources) == 0 {
				resources = []string{"*"}
			}
			ctx, err := parseContextPairs(ctxPairs)
			if err != nil {
				return err
			}
			if server != "" {
				results, err := simulateRemote(cmd.Context(), server, tokenFile, remoteSimulation{
					role: role, identity: identity, boundary: boundary, session: session,
					actions: actions, resources: resources, ctx: ctx,
				})
				if err != nil {
					return err
				}
				return printSimulations(cmd.OutOrStdout(), output, results)
			}
			var set policy.PolicySet
			var loadErrs []error
			load := func(file string, kind policy.Kind) *policy.Compiled {
				data, err := readPolicyFile(file)
				if err != nil {
					loadErrs = append(loadErrs, err)
					return nil
				}
				d, err := policy.Parse(data, kind)
				if err != nil {
					loadErrs = append(loadErrs, fmt.Errorf("%s:\n%w", file, err))
					return nil
				}
				c, err := policy.Compile(file, "file", d)
				if err != nil {
					loadErrs = append(loadErrs, fmt.Errorf("%s: %w", file, err))
				}
				return c
			}
			for _, f := range identity {
				set.Identity = append(set.Identity, load(f, policy.Identity))
			}
			if boundary != "" {
				set.Boundary = load(boundary, policy.Boundary)
			}
			for _, f := range session {
				set.Session = append(set.Session, load(f, policy.Session))
			}
			if len(loadErrs) > 0 {
				// Simulating with a policy left out would report decisions the real
				// policy set would not make.
				return errors.Join(loadErrs...)
			}
			var e policy.Evaluator
			var results []simulation
			for _, a := range actions {
				for _, r := range resources {
					d := e.Evaluate(policy.Request{Action: a, Resource: r, Context: ctx}, set)
					results = append(results, simulation{Action: a, Resource: r, Decision: d})
				}
			}
			return printSimulations(cmd.OutOrStdout(), output, results)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&identity, "policy", nil, "identity policy file (repeatable)")
	f.StringVar(&boundary, "boundary", "", "permissions boundary policy file")
	f.StringArrayVar(&session, "session-policy", nil, "session policy file (repeatable)")
	f.StringSliceVar(&actions, "action", nil, "action to simulate, service:Operation (repeatable, comma-separated)")
	f.StringArrayVar(&resources, "resource", nil, "resource ARN to simulate (repeatable; default \"*\")")
	f.StringArrayVar(&ctxPairs, "context", nil, "request condition key=value (repeatable; repeat a key for several values)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&server, "server", "", "simulate on this server (POST /admin/v1/policy/simulate) instead of offline")
	f.StringVar(&role, "role", "", "with --server: simulate a role's policies (name or ARN) instead of --policy files")
	f.StringVar(&tokenFile, "token-file", "", "with --server: file holding the admin API token (else $"+envToken+")")
	return cmd
}

type remoteSimulation struct {
	role, boundary                        string
	identity, session, actions, resources []string
	ctx                                   policy.Context
}

// simulateRemote asks the server's simulator, which sees the stored roles and managed
// policies, and maps its answer onto the offline result shape.
func simulateRemote(ctx context.Context, server, tokenFile string, in remoteSimulation) ([]simulation, error) {
	if len(in.session) > 1 {
		return nil, errors.New("--server takes at most one --session-policy")
	}
	tok, err := resolveToken(tokenFile, os.Getenv)
	if err != nil {
		return nil, err
	}
	c, err := newAPIClient(server, tok)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"actions": in.actions, "resources": in.resources, "context": in.ctx}
	if in.role != "" {
		body["role"] = in.role
	}
	raw := func(file string) (json.RawMessage, error) {
		b, err := readPolicyFile(file)
		if err != nil {
			return nil, err
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("%s: not JSON", file)
		}
		return json.RawMessage(b), nil
	}
	var policies []json.RawMessage
	for _, f := range in.identity {
		b, err := raw(f)
		if err != nil {
			return nil, err
		}
		policies = append(policies, b)
	}
	if len(policies) > 0 {
		body["policies"] = policies
	}
	if in.boundary != "" {
		if body["boundary"], err = raw(in.boundary); err != nil {
			return nil, err
		}
	}
	if len(in.session) == 1 {
		if body["session_policy"], err = raw(in.session[0]); err != nil {
			return nil, err
		}
	}
	var out struct {
		Results []struct {
			Action       string                `json:"action"`
			Resource     string                `json:"resource"`
			Decision     string                `json:"decision"`
			Explicit     bool                  `json:"explicit"`
			Deciding     []policy.StatementRef `json:"deciding"`
			Reason       string                `json:"reason"`
			MissingLayer string                `json:"missing_layer"`
		} `json:"results"`
	}
	if _, err := c.do(ctx, "POST", "/policy/simulate", body, &out); err != nil {
		return nil, err
	}
	results := make([]simulation, 0, len(out.Results))
	for _, r := range out.Results {
		d := policy.Decision{Explicit: r.Explicit, Deciding: r.Deciding, Reason: r.Reason, MissingLayer: r.MissingLayer}
		if r.Decision == "allow" {
			d.Effect = policy.Allow
		}
		results = append(results, simulation{Action: r.Action, Resource: r.Resource, Decision: d})
	}
	return results, nil
}

// parseContextPairs turns key=value flags into a Context; repeated keys accumulate.
func parseContextPairs(pairs []string) (policy.Context, error) {
	ctx := policy.Context{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--context %q: want key=value", p)
		}
		ctx.Add(strings.TrimSpace(k), v)
	}
	return ctx, nil
}

func printSimulations(w io.Writer, format string, results []simulation) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tRESOURCE\tDECISION\tDECIDING\tREASON")
	for _, r := range results {
		decision := r.Decision.Effect.String()
		switch {
		case r.Decision.Explicit:
			decision += " (explicit)"
		case r.Decision.Effect == policy.Deny:
			decision += " (implicit)"
		}
		deciding := "-"
		if len(r.Decision.Deciding) > 0 {
			refs := make([]string, len(r.Decision.Deciding))
			for i, ref := range r.Decision.Deciding {
				refs[i] = ref.String()
			}
			deciding = strings.Join(refs, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Action, r.Resource, decision, deciding, r.Decision.Reason)
	}
	return tw.Flush()
}
