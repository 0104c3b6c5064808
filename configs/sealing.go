package configs

// Sealing section.
const (
	// DefaultSealingKeyEnv is the environment variable consulted for the sealing key
	// unless sealing.key_env names another.
	DefaultSealingKeyEnv  = "PORTCULLIS_SEALING_KEY"
	defaultSealingKeyFile = "sealing.key"
)

// SealingConfig says where the 32-byte AES-256-GCM key that seals secrets at rest
// (client secrets, TOTP seeds, upstream tokens) comes from. Keeping it outside the
// database means a copy of the data file alone does not reveal them.
type SealingConfig struct {
	// KeyFile holds the key. Empty means <data_dir>/sealing.key.
	KeyFile string `yaml:"key_file"`
	// KeyEnv names an environment variable holding the key in standard base64.
	// When that variable is set it wins over KeyFile, which suits secret managers
	// that inject environment variables. Empty means the environment is not
	// consulted.
	KeyEnv string `yaml:"key_env"`
}

func defaultSealing() SealingConfig {
	return SealingConfig{KeyEnv: DefaultSealingKeyEnv}
}

func (s SealingConfig) validate(p *problems, key string) {
	if s.KeyFile == "" {
		p.add(key+".key_file", "must be set to the key file")
	}
	if s.KeyEnv != "" && !isEnvName(s.KeyEnv) {
		p.add(key+".key_env", "must be an environment variable name of letters, digits and underscores, not starting with a digit (got %q)", s.KeyEnv)
	}
}

// isEnvName reports whether s is a portable environment variable name (POSIX.1-2017
// §8.1: letters, digits and underscore, not starting with a digit).
func isEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
