package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

//go:embed dev.yaml
var devYAML []byte

// devName is how errors name the embedded file.
const devName = "dev.yaml (embedded)"

// Dev returns a copy of the embedded development configuration (configs/dev.yaml).
func Dev() []byte { return bytes.Clone(devYAML) }

// Load reads the configuration file at path, decodes it over Defaults (refusing
// unknown keys), resolves relative paths against the file's directory and validates
// the result. An empty path loads the embedded dev.yaml, resolving its paths against
// the current working directory. Errors name the file, and the line where known.
func Load(path string) (Config, error) {
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return Config{}, fmt.Errorf("load %s: working directory: %w", devName, err)
		}
		return parse(devYAML, wd, devName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config %s: %w", path, err)
	}
	return parse(data, filepath.Dir(abs), path)
}

// Parse is Load for bytes already in memory: relative paths are resolved against
// baseDir (the current working directory when baseDir is "" or itself relative).
func Parse(data []byte, baseDir string) (Config, error) {
	return parse(data, baseDir, "")
}

func parse(data []byte, baseDir, file string) (Config, error) {
	lines, err := checkDocument(data)
	if err != nil {
		return Config{}, annotate(err, file, nil)
	}
	cfg := base()
	// checkDocument has already reported unknown keys with their paths; KnownFields
	// stays on so that nothing it might miss is silently dropped.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, &FieldError{File: file, Err: fmt.Errorf("decode: %w", err)}
	}
	dir, err := filepath.Abs(baseDir)
	if err != nil {
		return Config{}, fmt.Errorf("resolve paths of %s against %q: %w", nameOr(file), baseDir, err)
	}
	cfg.resolvePaths(dir)
	if err := cfg.Validate(); err != nil {
		return Config{}, annotate(err, file, lines)
	}
	return cfg, nil
}

func nameOr(file string) string {
	if file == "" {
		return "config"
	}
	return file
}
