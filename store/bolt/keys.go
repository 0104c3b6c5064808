package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"
)

// Bucket names. Index buckets map a lookup key to the primary key of a record; the
// membership, family, user and session indexes hold composite keys with empty values.
const (
	bMeta             = "meta"
	bUsers            = "users"
	bUsersByName      = "users_by_name"         // lower(userName) -> user id
	bGroups           = "groups"                // group id -> group
	bGroupsByName     = "groups_by_name"        // lower(displayName) -> group id
	bMemberships      = "memberships"           // user id \0 group id -> ""
	bCredentials      = "credentials"           // user id \0 type \0 id -> credential
	bClients          = "clients"               // client id -> client
	bAuthRequests     = "auth_requests"         // id -> auth request
	bAuthCodes        = "auth_codes"            // digest -> code
	bCodesByRequest   = "auth_codes_by_request" // auth request id -> digest
	bRefreshTokens    = "refresh_tokens"        // token id -> token
	bRefreshByFamily  = "refresh_by_family"     // family id \0 token id -> ""
	bRefreshByUser    = "refresh_by_user"       // user id \0 token id -> ""
	bSessions         = "sessions"              // id -> session
	bSessionsByUser   = "sessions_by_user"      // user id \0 session id -> ""
	bSigningKeys      = "signing_keys"          // kid -> key
	bRevocations      = "revocations"           // key -> revocation
	bAPITokens        = "api_tokens"            // id -> token
	bAPITokenByDigest = "api_tokens_by_digest"  // digest -> id
	bAudit            = "audit"                 // big-endian seq -> event
	bRoles            = "roles"                 // role id -> role
	bRolesByName      = "roles_by_name"         // lower(name) -> role id
	bRolesByARN       = "roles_by_arn"          // arn -> role id
	bPolicies         = "managed_policies"      // lower(name) -> policy with its versions
	bMappings         = "role_mappings"         // id -> role mapping
	bMappingsByName   = "role_mappings_by_name" // lower(name) -> mapping id
	bRoleSessions     = "role_sessions"         // access key id -> role session
	bRoleSessionsBy   = "role_sessions_by_role" // role id \0 access key id -> ""
	bProviders        = "providers"             // kind \0 lower(name) -> provider

	metaSchemaVersion = "schema_version"
	// metaAuditHead holds the Hash of the last appended audit event.
	metaAuditHead = "audit_head"
)

// appendFill is the fill of pages split in buckets whose keys grow with time (the
// audit log, role sessions): bbolt's default of one half suits random inserts, but
// would leave every page of an append-only bucket half empty.
const appendFill = 0.95

// allBuckets is created on first open.
func allBuckets() []string {
	return []string{
		bMeta, bUsers, bUsersByName, bGroups, bGroupsByName, bMemberships, bCredentials,
		bClients, bAuthRequests, bAuthCodes, bCodesByRequest, bRefreshTokens,
		bRefreshByFamily, bRefreshByUser, bSessions, bSessionsByUser, bSigningKeys,
		bRevocations, bAPITokens, bAPITokenByDigest, bAudit,
		bRoles, bRolesByName, bRolesByARN, bPolicies, bMappings, bMappingsByName,
		bRoleSessions, bRoleSessionsBy, bProviders,
	}
}

// sep separates the parts of a composite key. IDs holding it are refused, so a prefix
// "a\0" can never match the keys of id "a\0b".
const sep = "\x00"

// errInvalid marks a record the store refuses to write (missing key, empty name...).
var errInvalid = errors.New("invalid record")

func checkKeyPart(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", errInvalid, what)
	}
	if strings.Contains(s, sep) {
		return fmt.Errorf("%w: %s contains a NUL byte", errInvalid, what)
	}
	return nil
}

// compositeKey joins parts with sep.
func compositeKey(parts ...string) []byte {
	return []byte(strings.Join(parts, sep))
}

// prefixKey is the prefix of every composite key starting with part.
func prefixKey(part string) []byte {
	return []byte(part + sep)
}

// nameKey is the case-insensitive index key of a user or group name.
func nameKey(name string) []byte {
	return []byte(strings.ToLower(name))
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// scanSuffixes returns, copied, the part after prefix of every key in b starting with
// prefix. The slices bbolt hands out die with the transaction, hence the copy.
func scanSuffixes(b *bbolt.Bucket, prefix []byte) []string {
	var out []string
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// getJSON decodes the value at key into v. json.Unmarshal copies everything it keeps,
// so v does not alias the memory map.
func getJSON(b *bbolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	if err := b.Put(key, raw); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// listJSON decodes every value of b, in key order.
func listJSON[T any](b *bbolt.Bucket) ([]T, error) {
	var out []T
	err := b.ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decode %q: %w", k, err)
		}
		out = append(out, x)
		return nil
	})
	return out, err
}
