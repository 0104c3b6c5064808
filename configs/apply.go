package configs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// validateApply checks that every declarative IAM file listed exists, so a typo stops
// the server at start-up instead of leaving IAM half applied.
func validateApply(p *problems, key string, files []string) {
	seen := make(map[string]int, len(files))
	for i, f := range files {
		k := fmt.Sprintf("%s[%d]", key, i)
		if f == "" {
			p.add(k, "must be a file path, not empty")
			continue
		}
		if j, dup := seen[filepath.Clean(f)]; dup {
			p.add(k, "duplicate of %s[%d] (%s): each file is applied once", key, j, f)
			continue
		}
		seen[filepath.Clean(f)] = i
		info, err := os.Stat(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.add(k, "file does not exist: %s", f)
		case err != nil:
			p.add(k, "cannot read file: %v", err)
		case info.IsDir():
			p.add(k, "is a directory, not a file: %s", f)
		}
	}
}
