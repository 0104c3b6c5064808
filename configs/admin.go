package configs

const defaultBootstrapTokenFile = "bootstrap-admin.token"

// AdminConfig configures how the first administrator gets in.
type AdminConfig struct {
	// BootstrapTokenFile is where a one-time token for creating the first
	// administrator is written while no administrator exists. Only someone who can
	// read this file on the server can use it. Empty means
	// <data_dir>/bootstrap-admin.token.
	BootstrapTokenFile string `yaml:"bootstrap_token_file"`
}

func (a AdminConfig) validate(p *problems, key string) {
	if a.BootstrapTokenFile == "" {
		p.add(key+".bootstrap_token_file", "must be set to a file path")
	}
}
