package webauthn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// softKey is a software authenticator for unit tests: it builds the attestation and
// assertion JSON a browser's credential.toJSON() produces, with every field the tests
// want to falsify under their control.
type softKey struct {
	id     []byte
	priv   *ecdsa.PrivateKey
	aaguid [16]byte
	handle []byte // user handle, learnt at registration

	origin string
	rpID   string
	count  uint32
	// uv: the authenticator verifies the user. be/bs: backup eligible / backed up.
	uv, be, bs bool
	// rk is what the browser reports through credProps; nil reports nothing.
	rk *bool
}

func newSoftKey(t testing.TB, origin, rpID string) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	yes := true
	return &softKey{id: id, priv: priv, origin: origin, rpID: rpID, uv: true, rk: &yes}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// options is the part of creation or request options JSON the authenticator reads.
type options struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	UserVerification string `json:"userVerification"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
	ExcludeCredentials []struct {
		ID string `json:"id"`
	} `json:"excludeCredentials"`
}

func parseOptions(t testing.TB, raw []byte) options {
	t.Helper()
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options %s: %v", raw, err)
	}
	return o
}

func (k *softKey) flags(attested bool) byte {
	f := byte(0x01) // UP
	if k.uv {
		f |= 0x04
	}
	if k.be {
		f |= 0x08
	}
	if k.bs {
		f |= 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (k *softKey) authData(attested bool) []byte {
	h := sha256.Sum256([]byte(k.rpID))
	out := append(h[:], k.flags(attested))
	out = binary.BigEndian.AppendUint32(out, k.count)
	return out
}

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false,
	})
	return b
}

// register answers creation options with a "none" attestation.
func (k *softKey) register(t testing.TB, creationOptions []byte) []byte {
	t.Helper()
	o := parseOptions(t, creationOptions)
	handle, err := base64.RawURLEncoding.DecodeString(o.User.ID)
	if err != nil {
		t.Fatalf("user.id %q: %v", o.User.ID, err)
	}
	k.handle = handle
	pub := k.priv.PublicKey
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{
			KeyType:   int64(webauthncose.EllipticKey),
			Algorithm: int64(webauthncose.AlgES256),
		},
		Curve:  1, // P-256
		XCoord: pub.X.FillBytes(make([]byte, 32)),
		YCoord: pub.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ad := k.authData(true)
	ad = append(ad, k.aaguid[:]...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.id)))
	ad = append(ad, k.id...)
	ad = append(ad, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	ext := map[string]any{}
	if k.rk != nil {
		ext["credProps"] = map[string]any{"rk": *k.rk}
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"authenticatorAttachment": "cross-platform",
		"response": map[string]any{
			"clientDataJSON":    b64(k.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64(att),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults": ext,
	})
	return out
}

// assert answers request options, as the next use of the key: the counter is bumped
// first unless it is zero (a synced passkey).
func (k *softKey) assert(t testing.TB, requestOptions []byte) []byte {
	t.Helper()
	if k.count != 0 {
		k.count++
	}
	return k.assertChallenge(t, parseOptions(t, requestOptions).Challenge)
}

// assertChallenge signs over challenge with the current counter.
func (k *softKey) assertChallenge(t testing.TB, challenge string) []byte {
	t.Helper()
	ad := k.authData(false)
	cd := k.clientData("webauthn.get", challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{
		"clientDataJSON":    b64(cd),
		"authenticatorData": b64(ad),
		"signature":         b64(sig),
	}
	if k.handle != nil {
		resp["userHandle"] = b64(k.handle)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"authenticatorAttachment": "cross-platform",
		"response":                resp,
		"clientExtensionResults":  map[string]any{},
	})
	return out
}
