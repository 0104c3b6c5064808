package sts

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/keys"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/web/httperr"
)

const (
	// AccessKeyPrefix starts every temporary access key id (SPEC §8; AWS uses ASIA).
	AccessKeyPrefix = "PCIA"
	// SessionTokenAudience and SessionTokenClientID are the session token's aud and
	// client_id: the token is for services that accept STS sessions.
	SessionTokenAudience = "sts"
	SessionTokenClientID = "sts"
	// typATJWT is the JWS typ of RFC 9068 §2.1 access tokens.
	typATJWT = "at+jwt"
)

// SessionClaims are the claims of a session token: an RFC 9068 access token whose
// subject is the assumed-role ARN, plus the session's role, name, source identity,
// tags and the digest of its inline session policy. A service that trusts Portcullis's
// JWKS can authorize from them offline; the stored RoleSession (jti = access key id)
// answers for revocation.
type SessionClaims struct {
	Issuer string `json:"iss"`
	// Subject is arn:portcullis:sts::<account>:assumed-role/<role name>/<session name>,
	// the principal the session acts as.
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	Expiry    int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	// JWTID is the access key id.
	JWTID    string `json:"jti"`
	ClientID string `json:"client_id"`
	// Role is the role's ARN; RoleID its stable id.
	Role        string `json:"role"`
	RoleID      string `json:"role_id"`
	SessionName string `json:"session_name"`
	// SourceIdentity is the token's source-identity claim when it had one, else the
	// web identity's subject: who is behind the session, kept for its whole life.
	SourceIdentity string `json:"source_identity"`
	// Provider is the web identity's issuer.
	Provider string            `json:"provider"`
	Tags     map[string]string `json:"tags,omitempty"`
	// TransitiveTagKeys are the keys of Tags that pass on to sessions chained from
	// this one (AssumeRole with these credentials).
	TransitiveTagKeys []string `json:"transitive_tag_keys,omitempty"`
	// SessionPolicyDigest is the hex SHA-256 of the compacted inline session policy.
	SessionPolicyDigest string   `json:"session_policy_digest,omitempty"`
	SessionPolicyARNs   []string `json:"session_policy_arns,omitempty"`
}

// grant is a decided Assume* request: everything the new session is made of.
type grant struct {
	role     store.Role
	req      *sessionRequest
	duration time.Duration
	// subject and provider are the federated identity behind the session, kept through
	// role chaining: the web identity's sub and iss.
	subject  string
	provider string
	// sourceIdentity is recorded on the session: the source identity when one was set,
	// else the subject.
	sourceIdentity string
	tags           map[string]string
	// transitiveTagKeys are the keys of tags that pass on to chained sessions.
	transitiveTagKeys []string
	// event is the success audit event; mint adds the session's details and stores
	// it with the session.
	event audit.Event
}

// minted is an issued session.
type minted struct {
	session     store.RoleSession
	credentials credentialsXML
	user        assumedRoleUser
}

// auditDetails adds the issued session to an audit event's details.
func (m *minted) auditDetails(d map[string]string) map[string]string {
	d["access_key_id"] = m.session.ID
	d["expires_at"] = m.session.ExpiresAt.Format(time.RFC3339)
	d["duration_seconds"] = fmt.Sprint(int(m.session.ExpiresAt.Sub(m.session.IssuedAt).Seconds()))
	if m.session.SessionPolicyDigest != "" {
		d["session_policy_digest"] = m.session.SessionPolicyDigest
	}
	return d
}

// assumedRoleARN is the principal a session of role acts as (SPEC §8; the role's path
// is left out, as AWS does).
func (s *Service) assumedRoleARN(roleName, sessionName string) string {
	return "arn:portcullis:sts::" + s.account + ":assumed-role/" + roleName + "/" + sessionName
}

// mint creates the key pair, seals the secret to its record, signs the session token
// and stores the RoleSession.
func (s *Service) mint(ctx context.Context, g grant) (*minted, error) {
	clock := s.now().UTC()
	now := clock.Truncate(time.Second)
	expires := now.Add(g.duration)
	accessKeyID, secret, err := s.newKeyPair(clock)
	if err != nil {
		return nil, internalError(err)
	}
	sealed, err := s.sealer.Seal([]byte(secret), []byte("role_sessions/"+accessKeyID))
	if err != nil {
		return nil, internalError(fmt.Errorf("seal secret access key: %w", err))
	}
	var digest string
	if g.req.policy != nil {
		sum := sha256.Sum256(g.req.policy)
		digest = hex.EncodeToString(sum[:])
	}
	assumedARN := s.assumedRoleARN(g.role.Name, g.req.sessionName)
	claims := SessionClaims{
		Issuer: s.issuer, Subject: assumedARN, Audience: SessionTokenAudience,
		Expiry: expires.Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(),
		JWTID: accessKeyID, ClientID: SessionTokenClientID,
		Role: g.role.ARN, RoleID: g.role.ID, SessionName: g.req.sessionName,
		SourceIdentity: g.sourceIdentity, Provider: g.provider, Tags: maps.Clone(g.tags),
		TransitiveTagKeys:   g.transitiveTagKeys,
		SessionPolicyDigest: digest, SessionPolicyARNs: g.req.policyARNs,
	}
	token, err := s.sign(claims)
	if err != nil {
		return nil, internalError(err)
	}
	rs := store.RoleSession{
		ID: accessKeyID, RoleID: g.role.ID, RoleARN: g.role.ARN, SessionName: g.req.sessionName,
		Subject: g.subject, Issuer: g.provider, SourceIdentity: g.sourceIdentity,
		SecretSealed: sealed, SessionPolicyDigest: digest, SessionPolicy: g.req.policy,
		PolicyARNs: g.req.policyARNs, Tags: maps.Clone(g.tags),
		IssuedAt: now, ExpiresAt: expires,
	}
	m := &minted{
		session: rs,
		credentials: credentialsXML{
			AccessKeyID: accessKeyID, SecretAccessKey: secret, SessionToken: token,
			Expiration: expires.Format(time.RFC3339),
		},
		user: assumedRoleUser{Arn: assumedARN, AssumedRoleID: g.role.ID + ":" + g.req.sessionName},
	}
	ev := g.event
	ev.Details = m.auditDetails(ev.Details)
	if err := s.persist(ctx, rs, ev); err != nil {
		return nil, internalError(fmt.Errorf("store role session %s: %w", accessKeyID, err))
	}
	return m, nil
}

// persist stores the session and its audit event in one transaction when the
// recorder can join one: one commit per exchange instead of two, and no session
// without its event. Other recorders get the event after the session is stored.
func (s *Service) persist(ctx context.Context, rs store.RoleSession, ev audit.Event) error {
	txr, ok := s.audit.(audit.TxRecorder)
	if !ok {
		if err := s.st.CreateRoleSession(ctx, rs); err != nil {
			return err
		}
		s.audit.Record(ctx, ev)
		return nil
	}
	return s.st.Atomic(ctx, func(tx store.Tx) error {
		if err := tx.CreateRoleSession(ctx, rs); err != nil {
			return err
		}
		return txr.RecordTx(ctx, tx, ev)
	})
}

// issue mints, stores and audits the session of a granted web identity request.
func (s *Service) issue(ctx context.Context, a *attempt, role store.Role, id *Identity, provider string, duration time.Duration) (*minted, error) {
	sourceIdentity := id.SourceIdentity
	if sourceIdentity == "" {
		sourceIdentity = id.Subject
	}
	m, err := s.mint(ctx, grant{
		role: role, req: &a.req.sessionRequest, duration: duration,
		subject: id.Subject, provider: id.Issuer, sourceIdentity: sourceIdentity,
		tags: id.Tags, transitiveTagKeys: transitiveKeys(id.Tags, id.TransitiveTagKeys),
		event: audit.Event{
			Actor: id.Subject, Action: a.action, Target: role.ARN, Outcome: audit.Success,
			RequestID: audit.RequestIDFrom(ctx), SourceIP: a.sourceIP, Details: a.details(),
		},
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("role credentials issued", "request_id", audit.RequestIDFrom(ctx), "action", a.action, "role", role.ARN,
		"session", a.req.sessionName, "provider", provider, "subject", id.Subject, "access_key_id", m.session.ID,
		"expires_at", m.session.ExpiresAt)
	return m, nil
}

// transitiveKeys returns the keys of tags named in keys, as the tags spell them,
// sorted: tag keys compare case-insensitively (SPEC §1.6).
func transitiveKeys(tags map[string]string, keys []string) []string {
	var out []string
	for k := range tags {
		for _, t := range keys {
			if strings.EqualFold(k, t) {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// accessKeyEncoding is base32 with the extended-hex alphabet (0-9A-V), whose order is
// the order of the bytes encoded: ids minted later sort later.
var accessKeyEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// newKeyPair returns an access key id and a 40-character secret access key (240 random
// bits, base64 as AWS's look). The id is the prefix and 16 base32 characters: the
// issue time in milliseconds (48 bits) and 32 random bits. Ids that grow with time
// make every new session an append at the end of the store's index instead of a write
// into a random page, which is most of what a durable exchange costs; the id is a name,
// not a secret, and the random part keeps ids of one millisecond apart.
func (s *Service) newKeyPair(now time.Time) (string, string, error) {
	var idBytes [10]byte
	var secretBytes [30]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		idBytes[i] = byte(ms)
		ms >>= 8
	}
	if _, err := io.ReadFull(s.rand, idBytes[6:]); err != nil {
		return "", "", fmt.Errorf("generate access key id: %w", err)
	}
	if _, err := io.ReadFull(s.rand, secretBytes[:]); err != nil {
		return "", "", fmt.Errorf("generate secret access key: %w", err)
	}
	return AccessKeyPrefix + accessKeyEncoding.EncodeToString(idBytes[:]), base64.StdEncoding.EncodeToString(secretBytes[:]), nil
}

// sign signs claims with the current key as a compact JWS with typ at+jwt and kid
// (RFC 9068 §2.1). The signer is rebuilt only when the key rotates.
func (s *Service) sign(claims SessionClaims) (string, error) {
	key := s.keys.Current()
	if key.Private == nil {
		return "", errors.New("sign session token: no signing key")
	}
	ks := s.signer.Load()
	if ks == nil || ks.kid != key.ID {
		signer, err := keys.NewCompactSigner(key.ID, key.Algorithm, typATJWT, key.Private)
		if err != nil {
			return "", fmt.Errorf("sign session token: signer for key %s: %w", key.ID, err)
		}
		ks = &keySigner{kid: key.ID, s: signer}
		s.signer.Store(ks)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign session token: %w", err)
	}
	tok, err := ks.s.SignCompact(payload)
	if err != nil {
		return "", fmt.Errorf("sign session token with key %s: %w", key.ID, err)
	}
	return tok, nil
}

func asHTTPError(err error) *httperr.Error {
	var he *httperr.Error
	if errors.As(err, &he) {
		return he
	}
	return nil
}
