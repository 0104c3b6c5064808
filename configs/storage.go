package configs

import "strings"

// Storage section.
const (
	// BackendBolt keeps everything in one bbolt file: no server to run.
	BackendBolt     = "bolt"
	defaultBoltFile = "portcullis.db"
)

// storageBackends lists the accepted storage.backend values.
func storageBackends() []string { return []string{BackendBolt} }

// StorageConfig selects and configures the persistence backend.
type StorageConfig struct {
	// Backend names the store implementation. Only "bolt" exists today.
	Backend string `yaml:"backend"`
	// Bolt configures the bbolt backend.
	Bolt BoltConfig `yaml:"bolt"`
}

// BoltConfig configures the bbolt backend.
type BoltConfig struct {
	// Path is the database file. Empty means <data_dir>/portcullis.db.
	Path string `yaml:"path"`
}

func defaultStorage() StorageConfig {
	return StorageConfig{Backend: BackendBolt}
}

func (s StorageConfig) validate(p *problems, key string) {
	oneOf(p, key+".backend", s.Backend, storageBackends())
	if s.Backend == BackendBolt && s.Bolt.Path == "" {
		p.add(key+".bolt.path", "must be set to the database file")
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// oneOf adds an error unless v is in allowed. The comparison is exact; a value that
// differs only in case gets a hint, because "rs256" silently meaning RS256 in one
// place and not another is worse than a clear error.
func oneOf(p *problems, key, v string, allowed []string) {
	if contains(allowed, v) {
		return
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			p.add(key, "must be one of %s (got %q; values are case-sensitive, write %q)", strings.Join(allowed, ", "), v, a)
			return
		}
	}
	p.add(key, "must be one of %s (got %q)", strings.Join(allowed, ", "), v)
}
