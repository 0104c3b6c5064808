package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/portcullis-id/portcullis/store"
)

// newAdminTrustedIssuersCmd is `portcullis admin trusted-issuers`: the web-identity
// issuers (CI systems, workload identity) whose tokens the STS exchanges.
func newAdminTrustedIssuersCmd(o *connOpts) *cobra.Command {
	var preset, issuerURL, jwksURL, jwksFile string
	var audiences, algorithms []string
	var replay bool
	cmd := newAdminProvidersCmd(o, providerCmd{
		use: "trusted-issuers", path: "/trusted-issuers", what: "trusted issuer",
		short: "Manage the web-identity issuers whose tokens the STS exchanges (GitHub Actions, any OIDC issuer)",
		long: `Manage trusted web-identity issuers: the OIDC token issuers (GitHub Actions, GitLab,
a cloud's workload identity) whose tokens AssumeRoleWithWebIdentity and token
exchange accept. Issuers in the configuration file are listed too but can only be
changed there. Settings are those of the configuration file's sts.issuers entries;
give them with flags or as a YAML or JSON file (--file).`,
		example: "  portcullis admin trusted-issuers create gha --preset github-actions --audience https://portcullis.example.com\n" +
			"  portcullis admin trusted-issuers create gitlab --url https://gitlab.example.com --audience portcullis --algorithm RS256\n" +
			"  portcullis admin trusted-issuers update gha --file gha.yaml\n" +
			"  portcullis admin trusted-issuers delete gitlab",
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&preset, "preset", "", `fill the URL and algorithms of a known issuer: "github-actions"`)
			c.Flags().StringVar(&issuerURL, "url", "", "the exact iss of the issuer's tokens (https)")
			c.Flags().StringSliceVar(&audiences, "audience", nil, "an accepted aud value (repeatable; at least one)")
			c.Flags().StringSliceVar(&algorithms, "algorithm", nil, "an accepted signature algorithm: RS256, ES256, PS256 or EdDSA (repeatable)")
			c.Flags().StringVar(&jwksURL, "jwks-url", "", "fetch the keys from this URL instead of discovery")
			c.Flags().StringVar(&jwksFile, "jwks-file", "", "send this local key set (JSON) inline: nothing is ever fetched (air-gapped)")
			c.Flags().BoolVar(&replay, "replay-protection", false, "accept each token (jti) once")
		},
		fromFlags: func(c *cobra.Command) (map[string]any, error) {
			cfg := map[string]any{}
			setIf(cfg, "preset", preset)
			setIf(cfg, "url", issuerURL)
			setIf(cfg, "jwks_url", jwksURL)
			if len(audiences) > 0 {
				cfg["audiences"] = audiences
			}
			if len(algorithms) > 0 {
				cfg["algorithms"] = algorithms
			}
			if replay {
				cfg["replay_protection"] = true
			}
			if jwksFile != "" {
				b, err := os.ReadFile(jwksFile)
				if err != nil {
					return nil, fmt.Errorf("--jwks-file: %w", err)
				}
				cfg["jwks"] = string(b)
			}
			return cfg, nil
		},
	})
	return cmd
}

// newAdminSAMLProvidersCmd is `portcullis admin saml-providers`: the SAML identity
// providers whose assertions AssumeRoleWithSAML exchanges.
func newAdminSAMLProvidersCmd(o *connOpts) *cobra.Command {
	var metadata, audience, recipient string
	var sha1 bool
	return newAdminProvidersCmd(o, providerCmd{
		use: "saml-providers", path: "/saml-providers", what: "SAML provider",
		short: "Manage the SAML identity providers whose assertions the STS exchanges",
		long: `Manage SAML providers: the identity providers whose signed assertions
AssumeRoleWithSAML exchanges for role credentials. A provider's ARN is
arn:portcullis:iam::<account>:saml-provider/<name>. Providers in the configuration
file are listed too but can only be changed there.`,
		example: "  portcullis admin saml-providers create corp --metadata idp-metadata.xml\n" +
			"  portcullis admin saml-providers delete corp",
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&metadata, "metadata", "", "the IdP's SAML metadata file (sent inline)")
			c.Flags().StringVar(&audience, "audience", "", "the audience assertions must name (default <issuer>/sts)")
			c.Flags().StringVar(&recipient, "recipient", "", "the exact Recipient assertions must name (default <issuer>/sts)")
			c.Flags().BoolVar(&sha1, "allow-sha1", false, "accept RSA-SHA1 signatures (refused by default)")
		},
		fromFlags: func(c *cobra.Command) (map[string]any, error) {
			cfg := map[string]any{}
			setIf(cfg, "audience", audience)
			setIf(cfg, "recipient", recipient)
			if sha1 {
				cfg["allow_sha1"] = true
			}
			if metadata != "" {
				b, err := os.ReadFile(metadata)
				if err != nil {
					return nil, fmt.Errorf("--metadata: %w", err)
				}
				cfg["metadata_xml"] = string(b)
			}
			return cfg, nil
		},
	})
}

func setIf(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// providerCmd describes one provider collection of the admin API.
type providerCmd struct {
	use, path, what, short, long, example string
	// flags adds the settings flags to create and update; fromFlags reads them.
	flags     func(*cobra.Command)
	fromFlags func(*cobra.Command) (map[string]any, error)
}

func newAdminProvidersCmd(o *connOpts, p providerCmd) *cobra.Command {
	cmd := &cobra.Command{Use: p.use, Short: p.short, Long: p.long, Example: p.example, Args: cobra.NoArgs}
	list := &cobra.Command{
		Use: "list", Short: "List " + p.what + "s (configured and stored)", Args: cobra.NoArgs,
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, _ []string) ([]byte, error) {
			var l struct{ Items []store.Provider }
			raw, err := c.do(cmd.Context(), "GET", p.path, nil, &l)
			if err != nil || o.json() {
				return raw, err
			}
			rows := make([][]string, 0, len(l.Items))
			for _, it := range l.Items {
				rows = append(rows, []string{it.Name, it.Source, providerSummary(it)})
			}
			return nil, table(cmd.OutOrStdout(), []string{"NAME", "SOURCE", "SETTINGS"}, rows)
		}),
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show one " + p.what + " with its settings", Args: cobra.ExactArgs(1),
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			return c.do(cmd.Context(), "GET", p.path+"/"+pathEscape(args[0]), nil, nil)
		}),
	}
	var file string
	body := func(cmd *cobra.Command, name string) (map[string]any, error) {
		var cfg map[string]any
		if file != "" {
			changed := 0
			cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if f.Changed {
					changed++
				}
			})
			if changed > 1 {
				return nil, errors.New("give the settings either with --file or with flags, not both")
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("--file: %w", err)
			}
			if err := yaml.Unmarshal(b, &cfg); err != nil {
				return nil, fmt.Errorf("--file %s: not YAML or JSON: %w", file, err)
			}
		} else {
			var err error
			if cfg, err = p.fromFlags(cmd); err != nil {
				return nil, err
			}
		}
		return map[string]any{"name": name, "config": cfg}, nil
	}
	create := &cobra.Command{
		Use: "create NAME", Short: "Add a " + p.what, Args: cobra.ExactArgs(1),
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			b, err := body(cmd, args[0])
			if err != nil {
				return nil, err
			}
			return c.do(cmd.Context(), "POST", p.path, b, nil)
		}),
	}
	update := &cobra.Command{
		Use: "update NAME", Short: "Replace the settings of a stored " + p.what, Args: cobra.ExactArgs(1),
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			b, err := body(cmd, args[0])
			if err != nil {
				return nil, err
			}
			return c.do(cmd.Context(), "PUT", p.path+"/"+pathEscape(args[0]), b, nil)
		}),
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVarP(&file, "file", "f", "", "the settings as YAML or JSON, in the shape of the configuration file's entries")
		p.flags(c)
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Remove a stored " + p.what, Args: cobra.ExactArgs(1),
		RunE: withConn(o, func(cmd *cobra.Command, c *apiClient, args []string) ([]byte, error) {
			if _, err := c.do(cmd.Context(), "DELETE", p.path+"/"+pathEscape(args[0]), nil, nil); err != nil {
				return nil, err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s\n", p.what, args[0])
			return nil, nil
		}),
	}
	cmd.AddCommand(list, get, create, update, del)
	return cmd
}

// providerSummary shows the settings that identify a provider in a table.
func providerSummary(p store.Provider) string {
	var cfg map[string]any
	if json.Unmarshal(p.Config, &cfg) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"preset", "url", "audiences", "jwks_url", "audience", "recipient"} {
		if v, ok := cfg[k]; ok && v != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if _, ok := cfg["metadata_xml"]; ok {
		parts = append(parts, "metadata inline")
	}
	if _, ok := cfg["metadata_file"]; ok {
		parts = append(parts, "metadata_file="+fmt.Sprint(cfg["metadata_file"]))
	}
	return strings.Join(parts, " ")
}
