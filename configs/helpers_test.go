package configs

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// validationCase is one row of a section's table: a YAML document and the key paths
// it must be refused at (none: it must be accepted). The same rows seed FuzzParse.
type validationCase struct {
	name string
	yaml string
	// paths are the key paths every error must name, exactly; nil means valid.
	paths []string
	// msg, when set, must appear in the error text.
	msg string
}

func runCases(t *testing.T, cases []validationCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), t.TempDir())
			checkErr(t, err, tc.paths, tc.msg)
		})
	}
}

// checkErr asserts err names exactly the key paths in want (each as "path: ") and
// contains msg.
func checkErr(t *testing.T, err error, want []string, msg string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error:\n%v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want errors at %v", want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error does not match ErrInvalid: %v", err)
	}
	var got []string
	for _, fe := range fieldErrors(err) {
		got = append(got, fe.Path)
	}
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, ",") != strings.Join(w, ",") {
		t.Errorf("error paths = %q, want %q; error:\n%v", got, w, err)
	}
	for _, p := range want {
		if p != "" && !strings.Contains(err.Error(), p+": ") {
			t.Errorf("error does not name %q:\n%v", p, err)
		}
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("error does not contain %q:\n%v", msg, err)
	}
}

// allCases is every table, for seeding the fuzzer.
func allCases() [][]validationCase {
	return [][]validationCase{
		serverCases, storageCases, sealingCases, tokensCases, signingCases,
		loggingCases, securityCases, adminCases, mfaCases, applyCases, decodeCases,
	}
}
