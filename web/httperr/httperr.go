package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an HTTP-facing error.
type Error struct {
	Status int    // HTTP status code
	Code   string // short machine-readable code, e.g. "invalid_field", "not_found"
	Msg    string // safe for the client
	Field  string // key path of the bad input, e.g. "redirect_uris[0]"
	Err    error  // internal cause, logged, never sent
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Msg)
	if e.Field != "" {
		s = fmt.Sprintf("%d %s: %s", e.Status, e.Field, e.Msg)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a status and client-safe message.
func New(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Msg: msg}
}

// BadField is a 400 naming the field that is wrong.
func BadField(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Msg: msg}
}

// Internal wraps an unexpected failure; the client sees only "internal error".
func Internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Msg: "internal error", Err: err}
}

// Body is the JSON shape of an error response.
type Body struct {
	Error   string       `json:"error"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	Errors  []FieldIssue `json:"errors,omitempty"`
}

// FieldIssue is one of several field errors reported at once.
type FieldIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Multi is a 400 carrying several field errors at once.
type Multi struct {
	Issues []FieldIssue
}

func (m *Multi) Error() string {
	s := ""
	for i, is := range m.Issues {
		if i > 0 {
			s += "; "
		}
		s += is.Field + ": " + is.Message
	}
	return s
}

// WriteJSON writes err as a JSON error response and logs the internal part.
func WriteJSON(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var body Body
	status := http.StatusInternalServerError
	var he *Error
	var multi *Multi
	switch {
	case errors.As(err, &multi):
		status = http.StatusBadRequest
		body = Body{Error: "invalid_field", Message: multi.Error(), Errors: multi.Issues}
		if len(multi.Issues) > 0 {
			body.Field = multi.Issues[0].Field
		}
	case errors.As(err, &he):
		status = he.Status
		body = Body{Error: he.Code, Message: he.Msg, Field: he.Field}
	default:
		body = Body{Error: "internal", Message: "internal error"}
	}
	if log != nil && status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "status", status, "err", err)
	} else if log != nil {
		log.DebugContext(r.Context(), "request refused", "status", status, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Status is the HTTP status WriteJSON answers err with (200 for nil).
func Status(err error) int {
	var he *Error
	var multi *Multi
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &multi):
		return http.StatusBadRequest
	case errors.As(err, &he):
		return he.Status
	}
	return http.StatusInternalServerError
}

// ClientMessage is the client-safe text of err, for audit reasons: what the client was
// told, never the internal cause.
func ClientMessage(err error) string {
	var he *Error
	var multi *Multi
	switch {
	case errors.As(err, &multi):
		return multi.Error()
	case errors.As(err, &he):
		if he.Field != "" {
			return he.Field + ": " + he.Msg
		}
		return he.Msg
	}
	return "internal error"
}
