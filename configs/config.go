package configs

import (
	"log/slog"
	"net/url"
	"path/filepath"
	"time"
)

// Config is the whole configuration of one Portcullis process. Each section has its
// own type, its own file (defaults and validation) and its own test.
type Config struct {
	// Listen is the host:port the HTTP server binds, e.g. "127.0.0.1:8080" or ":8443".
	Listen string `yaml:"listen"`
	// Issuer is the OpenID Connect issuer identifier: the exact string put in "iss"
	// and served by discovery. https, or http on a loopback host for development.
	Issuer string `yaml:"issuer"`
	// DataDir holds the database, the sealing key and the bootstrap token unless
	// those are configured elsewhere. Relative paths are taken from the config
	// file's directory.
	DataDir string `yaml:"data_dir"`
	// Storage selects and configures the persistence backend.
	Storage StorageConfig `yaml:"storage"`
	// Sealing says where the key that encrypts secrets at rest comes from.
	Sealing SealingConfig `yaml:"sealing"`
	// Tokens holds the lifetimes of everything Portcullis issues.
	Tokens TokensConfig `yaml:"tokens"`
	// Signing configures the token signing keys and their rotation.
	Signing SigningConfig `yaml:"signing"`
	// Logging configures the process log.
	Logging LoggingConfig `yaml:"logging"`
	// Security holds password rules, brute-force limits and proxy trust.
	Security SecurityConfig `yaml:"security"`
	// Admin configures how the first administrator gets in.
	Admin AdminConfig `yaml:"admin"`
	// MFA says who needs a second factor and configures TOTP and WebAuthn.
	MFA MFAConfig `yaml:"mfa"`
	// STS configures the security-token service and its trusted token issuers.
	STS STSConfig `yaml:"sts"`
	// Apply lists declarative IAM files applied at start-up, in order. Each must
	// exist when the configuration is validated.
	Apply []string `yaml:"apply"`
}

// Defaults returns the configuration used for every key the file leaves out. It is
// valid as it is: a single-machine development server on 127.0.0.1:8080 storing its
// data under ./data.
func Defaults() Config {
	c := base()
	c.fillDerived()
	return c
}

// base is Defaults without the paths derived from DataDir, which are filled in only
// after the file is decoded so that changing data_dir moves them too.
func base() Config {
	return Config{
		Listen:   defaultListen,
		Issuer:   defaultIssuer,
		DataDir:  defaultDataDir,
		Storage:  defaultStorage(),
		Sealing:  defaultSealing(),
		Tokens:   defaultTokens(),
		Signing:  defaultSigning(),
		Logging:  defaultLogging(),
		Security: defaultSecurity(),
		Admin:    AdminConfig{},
		MFA:      defaultMFA(),
		STS:      defaultSTS(),
	}
}

// fillDerived sets the file paths the operator left empty to their place under
// DataDir.
func (c *Config) fillDerived() {
	if c.Storage.Bolt.Path == "" {
		c.Storage.Bolt.Path = filepath.Join(c.DataDir, defaultBoltFile)
	}
	if c.Sealing.KeyFile == "" {
		c.Sealing.KeyFile = filepath.Join(c.DataDir, defaultSealingKeyFile)
	}
	if c.Admin.BootstrapTokenFile == "" {
		c.Admin.BootstrapTokenFile = filepath.Join(c.DataDir, defaultBootstrapTokenFile)
	}
}

// resolvePaths makes every relative path absolute against base (the config file's
// directory), fills the derived paths, and normalises empty lists to nil so two
// equivalent files give equal Configs.
func (c *Config) resolvePaths(base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	c.DataDir = abs(c.DataDir)
	c.Storage.Bolt.Path = abs(c.Storage.Bolt.Path)
	c.Sealing.KeyFile = abs(c.Sealing.KeyFile)
	c.Admin.BootstrapTokenFile = abs(c.Admin.BootstrapTokenFile)
	for i := range c.Apply {
		c.Apply[i] = abs(c.Apply[i])
	}
	if len(c.Apply) == 0 {
		c.Apply = nil
	}
	if len(c.Security.TrustedProxies) == 0 {
		c.Security.TrustedProxies = nil
	}
	c.MFA.normalize()
	if len(c.STS.Issuers) == 0 {
		c.STS.Issuers = nil
	}
	for i := range c.STS.Issuers {
		c.STS.Issuers[i].JWKSFile = abs(c.STS.Issuers[i].JWKSFile)
	}
	if len(c.STS.SAMLProviders) == 0 {
		c.STS.SAMLProviders = nil
	}
	for i := range c.STS.SAMLProviders {
		c.STS.SAMLProviders[i].MetadataFile = abs(c.STS.SAMLProviders[i].MetadataFile)
	}
	c.fillDerived()
}

// Validate checks every key and returns all problems at once (errors.Join of
// *FieldError, each matching ErrInvalid), or nil. It does not change c.
func (c *Config) Validate() error {
	var p problems
	validateListen(&p, c.Listen)
	validateIssuer(&p, c.Issuer)
	validateDataDir(&p, c.DataDir)
	c.Storage.validate(&p, "storage")
	c.Sealing.validate(&p, "sealing")
	c.Tokens.validate(&p, "tokens")
	c.Signing.validate(&p, "signing")
	c.Logging.validate(&p, "logging")
	c.Security.validate(&p, "security")
	c.Admin.validate(&p, "admin")
	c.MFA.validate(&p, "mfa")
	c.STS.validate(&p, "sts")
	validateApply(&p, "apply", c.Apply)
	c.validateDistinctFiles(&p)
	return p.err()
}

// validateDistinctFiles refuses one file doing two jobs. The sealing key in the
// database file would put the key next to what it protects, defeating sealing.
func (c *Config) validateDistinctFiles(p *problems) {
	type file struct{ path, value string }
	files := []file{
		{"storage.bolt.path", c.Storage.Bolt.Path},
		{"sealing.key_file", c.Sealing.KeyFile},
		{"admin.bootstrap_token_file", c.Admin.BootstrapTokenFile},
	}
	for i, a := range files {
		for _, b := range files[:i] {
			if a.value != "" && filepath.Clean(a.value) == filepath.Clean(b.value) {
				p.add(a.path, "must not be the same file as %s (%s)", b.path, b.value)
			}
		}
	}
}

// SlogLevel returns the slog level named by logging.level (info when unset).
func (c Config) SlogLevel() slog.Level { return c.Logging.slogLevel() }

// IssuerURL returns the parsed issuer. Call it only on a validated Config; it
// returns nil if the issuer does not parse.
func (c Config) IssuerURL() *url.URL {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return nil
	}
	return u
}

// IsHTTPS reports whether the issuer uses https, which decides Secure cookies and
// HSTS.
func (c Config) IsHTTPS() bool {
	u := c.IssuerURL()
	return u != nil && u.Scheme == "https"
}

// inRange adds an error unless min <= d <= max, naming the bounds as an operator
// would write them.
func inRange(p *problems, path string, d, min, max Duration) {
	if d < min || d > max {
		p.add(path, "must be between %s and %s (got %s)", min, max, d)
	}
}

// intInRange adds an error unless min <= n <= max.
func intInRange(p *problems, path string, n, min, max int) {
	if n < min || n > max {
		p.add(path, "must be between %d and %d (got %d)", min, max, n)
	}
}

// dur keeps the defaults and bounds below readable.
func dur(d time.Duration) Duration { return Duration(d) }
