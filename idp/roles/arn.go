package roles

import (
	"errors"
	"fmt"
	"strings"
)

// Partition replaces AWS's "aws" in every ARN Portcullis issues (SPEC §8).
const Partition = "portcullis"

// DefaultAccount is the account id in role ARNs until the operator configures one. It
// has AWS's shape (12 digits) so that tools which check ARNs accept ours.
const DefaultAccount = "000000000000"

// Limits, as in IAM.
const (
	MaxRoleNameLen   = 64
	MaxPathLen       = 512
	MaxPolicyNameLen = 128
)

const arnPrefix = "arn:" + Partition + ":iam::"

// ARN is a parsed role ARN.
type ARN struct {
	Account string
	Path    string // "/" or "/a/b/"
	Name    string
}

// String formats a as an ARN.
func (a ARN) String() string { return FormatARN(a.Account, a.Path, a.Name) }

// FormatARN returns arn:portcullis:iam::<account>:role<path><name>. An empty path is
// "/". It does not validate; ParseARN of a valid result returns the parts.
func FormatARN(account, path, name string) string {
	if path == "" {
		path = "/"
	}
	return arnPrefix + account + ":role" + path + name
}

// ParseARN parses and validates a role ARN.
func ParseARN(s string) (ARN, error) {
	rest, ok := strings.CutPrefix(s, arnPrefix)
	if !ok {
		return ARN{}, fmt.Errorf("role ARN %q: must start with %q", s, arnPrefix)
	}
	account, resource, ok := strings.Cut(rest, ":")
	if !ok {
		return ARN{}, fmt.Errorf("role ARN %q: missing the account and resource parts", s)
	}
	if err := CheckAccount(account); err != nil {
		return ARN{}, fmt.Errorf("role ARN %q: account: %w", s, err)
	}
	pathName, ok := strings.CutPrefix(resource, "role/")
	if !ok {
		return ARN{}, fmt.Errorf("role ARN %q: resource must be role/<path/><name>", s)
	}
	pathName = "/" + pathName
	i := strings.LastIndexByte(pathName, '/')
	a := ARN{Account: account, Path: pathName[:i+1], Name: pathName[i+1:]}
	if err := CheckPath(a.Path); err != nil {
		return ARN{}, fmt.Errorf("role ARN %q: path: %w", s, err)
	}
	if err := CheckRoleName(a.Name); err != nil {
		return ARN{}, fmt.Errorf("role ARN %q: name: %w", s, err)
	}
	return a, nil
}

// CheckAccount accepts a 12-digit account id.
func CheckAccount(account string) error {
	if len(account) != 12 || strings.Trim(account, "0123456789") != "" {
		return errors.New("must be 12 digits")
	}
	return nil
}

// nameChar is IAM's character set for role and policy names: [A-Za-z0-9+=,.@_-].
func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+=,.@_-", c) >= 0
}

func checkChars(s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("must be 1 to %d characters of A-Z a-z 0-9 + = , . @ _ -", max)
	}
	for i := range len(s) {
		if !nameChar(s[i]) {
			return fmt.Errorf("must be 1 to %d characters of A-Z a-z 0-9 + = , . @ _ - (found %q)", max, s[i])
		}
	}
	return nil
}

// CheckRoleName accepts IAM role names: 1 to 64 of [A-Za-z0-9+=,.@_-].
func CheckRoleName(name string) error { return checkChars(name, MaxRoleNameLen) }

// CheckPolicyName accepts IAM policy names: 1 to 128 of [A-Za-z0-9+=,.@_-].
func CheckPolicyName(name string) error { return checkChars(name, MaxPolicyNameLen) }

// CheckPath accepts "/" or "/seg/.../seg/" with segments of role-name characters.
// IAM allows any printable ASCII in a path; we keep to the name set so that a role ARN
// never holds ':' (ARN conditions split on it) or '*' and '?' (which ArnLike and
// resource patterns would read as wildcards).
func CheckPath(path string) error {
	const shape = `must be "/" or "/" followed by segments ending in "/" such as "/ci/deploy/"`
	if len(path) > MaxPathLen {
		return fmt.Errorf("must be at most %d characters", MaxPathLen)
	}
	if path == "/" {
		return nil
	}
	inner, ok := strings.CutPrefix(path, "/")
	if inner, ok = strings.CutSuffix(inner, "/"); !ok || inner == "" {
		return errors.New(shape)
	}
	for _, seg := range strings.Split(inner, "/") {
		if seg == "" {
			return errors.New(shape + " (empty segment)")
		}
		if err := checkChars(seg, MaxPathLen); err != nil {
			return fmt.Errorf("segment %q: %w", seg, err)
		}
	}
	return nil
}
