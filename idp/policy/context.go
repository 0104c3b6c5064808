package policy

import "strings"

// Context holds the request's condition keys: lower-cased key → values. A key with no
// values counts as absent. Build it with Set, which lower-cases for you; lookups still
// fall back to a case-insensitive scan so that a hand-built map with mixed-case keys
// cannot make a key look absent (which would make negated operators true).
type Context map[string][]string

// Set stores values under the lower-cased key, replacing what was there.
func (c Context) Set(key string, values ...string) {
	c[strings.ToLower(key)] = values
}

// Add appends values to the lower-cased key.
func (c Context) Add(key string, values ...string) {
	k := strings.ToLower(key)
	c[k] = append(c[k], values...)
}

// Get returns the values of key, ignoring case and honouring the aws:/portcullis: alias.
func (c Context) Get(key string) []string {
	k := compileKey(key)
	return c.lookup(&k)
}

// ckey is a condition key or variable name prepared for lookup.
type ckey struct {
	name string // lower-cased canonical name
	alt  string // the aliased spelling, or ""
}

const (
	prefixAWS        = "aws:"
	prefixPortcullis = "portcullis:"
)

// compileKey lower-cases a key (condition key names ignore case, SPEC §2.2) and records
// its alias: SPEC §8 makes every aws: global key an alias of the portcullis: key of the
// same name, so a policy written for AWS works against Portcullis contexts and vice
// versa.
func compileKey(key string) ckey {
	k := ckey{name: strings.ToLower(key)}
	switch {
	case strings.HasPrefix(k.name, prefixAWS):
		k.alt = prefixPortcullis + k.name[len(prefixAWS):]
	case strings.HasPrefix(k.name, prefixPortcullis):
		k.alt = prefixAWS + k.name[len(prefixPortcullis):]
	}
	return k
}

func (c Context) lookup(k *ckey) []string {
	if len(c) == 0 {
		return nil
	}
	if v, ok := c[k.name]; ok {
		return v
	}
	if k.alt != "" {
		if v, ok := c[k.alt]; ok {
			return v
		}
	}
	// Slow path for contexts not built with Set; the map is small.
	for ck, v := range c {
		if strings.EqualFold(ck, k.name) || (k.alt != "" && strings.EqualFold(ck, k.alt)) {
			return v
		}
	}
	return nil
}
