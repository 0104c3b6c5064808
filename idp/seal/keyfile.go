package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrKeyFilePermissions is returned by LoadKey when the key file can be read by the
// group or by others.
var ErrKeyFilePermissions = errors.New("key file is readable by group or others")

// maxKeyFileSize bounds what LoadKey reads: a 32-byte key in base64 is 44 bytes, the
// rest is slack for whitespace. A larger file is not a key file.
const maxKeyFileSize = 1024

// LoadKey returns the master key.
//
// When envName names a non-empty environment variable, its value is the key: 32 bytes
// in base64 (standard or URL alphabet, padded or not). Otherwise the key is read from
// file, which must not be accessible by group or others (mode 0600 or stricter) and
// holds the base64 key, optionally followed by a newline. When file does not exist it
// is created, together with its directory (0700), holding 32 fresh random bytes, and
// created is true: the operator should back it up, since sealed data is lost without it.
func LoadKey(file, envName string) (key []byte, created bool, err error) {
	if envName != "" {
		if v := os.Getenv(envName); v != "" {
			key, err := decodeKey(v)
			if err != nil {
				// The value itself is never echoed: it is (meant to be) a secret.
				return nil, false, fmt.Errorf("load seal key from environment variable %s: %w", envName, err)
			}
			return key, false, nil
		}
	}
	if file == "" {
		if envName != "" {
			return nil, false, fmt.Errorf("load seal key: environment variable %s is empty and no key file is configured", envName)
		}
		return nil, false, errors.New("load seal key: no key file or environment variable configured")
	}
	key, err = readKeyFile(file)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key, err = createKeyFile(file)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create: use theirs.
		key, err = readKeyFile(file)
		return key, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

func readKeyFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open seal key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is that of the file read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat seal key file %s: %w", file, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal key file %s is not a regular file", file)
	}
	// Windows does not report POSIX permission bits; there the ACL is the operator's job.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal key file %s has mode %04o; run chmod 600 %s: %w",
			file, fi.Mode().Perm(), file, ErrKeyFilePermissions)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read seal key file %s: %w", file, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("seal key file %s is larger than %d bytes; it is not a key file", file, maxKeyFileSize)
	}
	key, err := decodeKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("seal key file %s: %w", file, err)
	}
	return key, nil
}

func createKeyFile(file string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("create directory for seal key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("generate seal key: %w", err)
	}
	// O_EXCL: never overwrite a key someone else just wrote; sealed data depends on it.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create seal key file: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(key) + "\n"
	_, werr := io.WriteString(f, enc)
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		// A half-written key file would be read as a bad key on next start; remove it.
		_ = os.Remove(file)
		return nil, fmt.Errorf("write seal key file %s: %w", file, werr)
	}
	return key, nil
}

// decodeKey accepts base64 in the standard or URL alphabet, padded or not, surrounded
// by whitespace, and requires exactly KeySize bytes.
func decodeKey(s string) ([]byte, error) {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 {
		return nil, errors.New("key is empty")
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		key := make([]byte, enc.DecodedLen(len(b)))
		n, err := enc.Decode(key, b)
		if err != nil {
			continue
		}
		if n != KeySize {
			return nil, fmt.Errorf("key decodes to %d bytes, want %d: %w", n, KeySize, ErrKeySize)
		}
		return key[:n], nil
	}
	return nil, fmt.Errorf("key is not base64 of %d bytes", KeySize)
}
