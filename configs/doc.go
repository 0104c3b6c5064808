// Package configs reads, defaults and validates the Portcullis configuration file.
//
// It keeps three steps apart, and callers use them in this order:
//
//  1. Defaults returns a complete, valid configuration for a single machine.
//  2. Load (or Parse) decodes a YAML file over those defaults, refusing unknown keys,
//     resolves relative paths against the file's directory and calls Validate.
//  3. The caller uses the returned Config; nothing in it changes afterwards.
//
// Validate reports every problem at once (errors.Join of *FieldError), each naming the
// key path the operator has to fix, for example
// "tokens.access_token_lifetime: must be between 1m and 24h (got 48h)".
//
// The package must not open databases, read keys, start listeners or log: it only
// describes what the rest of the binary should do. The one exception is that Validate
// checks that the files listed under "apply" exist, so a typo fails at start-up rather
// than half-way through applying declarative IAM.
package configs
