package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// auditHashDomain separates audit-chain hashes from every other SHA-256 the product
// computes, so no other digest can be passed off as a link of the chain.
const auditHashDomain = "portcullis-audit-chain-v1\n"

// ChainHash returns the hash that links e into the audit chain: SHA-256 over a domain
// string and the JSON encoding of e with Hash left out. PrevHash is part of the
// encoding, so each hash commits to every event before it; Seq and Time are too, so
// reordering or renumbering breaks the chain as surely as editing a field.
//
// The encoding is encoding/json's, which writes struct fields in declaration order and
// map keys sorted, so the same event always hashes the same way after a store
// round trip (times are stored in UTC without a monotonic reading).
func (e AuditEvent) ChainHash() ([]byte, error) {
	e.Hash = nil
	e.Time = e.Time.UTC().Round(0)
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("hash audit event %d: %w", e.Seq, err)
	}
	h := sha256.New()
	h.Write([]byte(auditHashDomain))
	h.Write(body)
	return h.Sum(nil), nil
}

// Chain fills e.PrevHash with prev and e.Hash with the resulting ChainHash. Backends
// call it inside the transaction that appends e, with prev the Hash of the last stored
// event (nil for the first event ever, or the checkpoint a pruned log starts from).
func (e *AuditEvent) Chain(prev []byte) error {
	e.PrevHash = bytes.Clone(prev)
	h, err := e.ChainHash()
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// VerifyLink reports whether e is intact and follows an event whose Hash is prev.
func (e AuditEvent) VerifyLink(prev []byte) (bool, error) {
	if !bytes.Equal(e.PrevHash, prev) {
		return false, nil
	}
	h, err := e.ChainHash()
	if err != nil {
		return false, err
	}
	return bytes.Equal(h, e.Hash), nil
}
