package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLoadKeyCreatesFileWithOwnerOnlyMode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "nested")
	file := filepath.Join(dir, "seal.key")
	key, created, err := LoadKey(file, "")
	if err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
	if !created || len(key) != KeySize {
		t.Fatalf("created=%v len=%d, want true, %d", created, len(key), KeySize)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("key directory mode = %04o, want 0700", di.Mode().Perm())
		}
	}
	// A second load reads the same key and reports it was not created.
	again, created, err := LoadKey(file, "")
	if err != nil {
		t.Fatalf("second LoadKey: %v", err)
	}
	if created || !bytes.Equal(again, key) {
		t.Errorf("second LoadKey: created=%v, same key=%v", created, bytes.Equal(again, key))
	}
}

func TestLoadKeyReadsExistingFile(t *testing.T) {
	t.Parallel()
	want := testKey(7)
	tests := []struct {
		name    string
		content string
	}{
		{"std with newline", base64.StdEncoding.EncodeToString(want) + "\n"},
		{"raw url", base64.RawURLEncoding.EncodeToString(want)},
		{"crlf", base64.StdEncoding.EncodeToString(want) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "seal.key")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, created, err := LoadKey(file, "")
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if created || !bytes.Equal(got, want) {
				t.Errorf("got created=%v key=%x", created, got)
			}
		})
	}
}

func TestLoadKeyRefusesGroupOrWorldReadableFile(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permission bits")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		file := filepath.Join(t.TempDir(), "seal.key")
		if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(testKey(1))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadKey(file, "")
		if !errors.Is(err, ErrKeyFilePermissions) {
			t.Fatalf("mode %04o: err = %v, want ErrKeyFilePermissions", mode, err)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("error %q does not tell the fix", err)
		}
	}
}

func TestLoadKeyRejectsBadFileContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"not base64", "this is not a key!"},
		{"too short", base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"too long", base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"huge", strings.Repeat("A", 4096)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "seal.key")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := LoadKey(file, ""); err == nil {
				t.Fatal("LoadKey accepted bad content")
			}
		})
	}
}

// Environment tests cannot run in parallel (t.Setenv).

func TestLoadKeyEnvironmentWinsOverFile(t *testing.T) {
	want := testKey(9)
	t.Setenv("PORTCULLIS_TEST_SEAL_KEY", base64.RawURLEncoding.EncodeToString(want))
	file := filepath.Join(t.TempDir(), "seal.key")
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(testKey(1))), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := LoadKey(file, "PORTCULLIS_TEST_SEAL_KEY")
	if err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
	if created || !bytes.Equal(got, want) {
		t.Errorf("got created=%v key=%x, want the environment key", created, got)
	}
	// With the environment key set, no file is created either.
	missing := filepath.Join(t.TempDir(), "absent.key")
	if _, _, err := LoadKey(missing, "PORTCULLIS_TEST_SEAL_KEY"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key file created although the environment supplied the key: %v", err)
	}
}

func TestLoadKeyRejectsBadEnvironmentValue(t *testing.T) {
	secret := "not-a-valid-key-but-secret-looking"
	t.Setenv("PORTCULLIS_TEST_SEAL_KEY", secret)
	_, _, err := LoadKey(filepath.Join(t.TempDir(), "seal.key"), "PORTCULLIS_TEST_SEAL_KEY")
	if err == nil {
		t.Fatal("LoadKey accepted a bad environment value")
	}
	if !strings.Contains(err.Error(), "PORTCULLIS_TEST_SEAL_KEY") {
		t.Errorf("error %q does not name the variable", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q echoes the value", err)
	}
	t.Setenv("PORTCULLIS_TEST_SEAL_KEY", base64.StdEncoding.EncodeToString(make([]byte, 16)))
	if _, _, err := LoadKey("", "PORTCULLIS_TEST_SEAL_KEY"); !errors.Is(err, ErrKeySize) {
		t.Errorf("16-byte key: err = %v, want ErrKeySize", err)
	}
}

func TestLoadKeyWithoutSource(t *testing.T) {
	t.Parallel()
	if _, _, err := LoadKey("", ""); err == nil {
		t.Fatal("LoadKey with no file and no variable succeeded")
	}
}

func FuzzDecodeKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(testKey(1)))
	f.Add(base64.RawURLEncoding.EncodeToString(testKey(1)) + "\n")
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := decodeKey(s)
		if err == nil && len(key) != KeySize {
			t.Fatalf("decodeKey returned %d bytes", len(key))
		}
	})
}
