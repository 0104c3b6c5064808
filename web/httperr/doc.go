// Package httperr is the one error type the HTTP edge uses: a status, a message that is
// safe to show the client, the field that was wrong (when there is one), and the internal
// error that only the log sees.
package httperr
