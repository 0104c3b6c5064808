// Package clientip decides which address a request came from. The remote address is the
// truth unless it is a configured trusted proxy; only then is X-Forwarded-For believed,
// read from the right so a client cannot prepend a forged address.
package clientip
