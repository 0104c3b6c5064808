package httperr

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStatusAndClientMessageNeverLeakTheCause(t *testing.T) {
	t.Parallel()
	secret := errors.New("pq: password authentication failed for user admin")
	tests := []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"nil", nil, 200, "internal error"},
		{"field error", BadField("redirect_uris[0]", "must be absolute"), 400, "redirect_uris[0]: must be absolute"},
		{"wrapped", fmt.Errorf("create client: %w", &Error{Status: 409, Msg: "exists", Err: secret}), 409, "exists"},
		{"several", &Multi{Issues: []FieldIssue{{"a", "bad"}, {"b", "worse"}}}, 400, "a: bad; b: worse"},
		{"internal", Internal(secret), 500, "internal error"},
		{"plain error", secret, 500, "internal error"},
	}
	for _, tc := range tests {
		if got := Status(tc.err); got != tc.status {
			t.Errorf("%s: Status = %d, want %d", tc.name, got, tc.status)
		}
		if tc.err == nil {
			continue
		}
		if got := ClientMessage(tc.err); got != tc.msg {
			t.Errorf("%s: ClientMessage = %q, want %q", tc.name, got, tc.msg)
		}
		rec := httptest.NewRecorder()
		WriteJSON(rec, httptest.NewRequest(http.MethodGet, "/", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), tc.err)
		if rec.Code != tc.status || strings.Contains(rec.Body.String(), "pq:") {
			t.Errorf("%s: WriteJSON %d %s", tc.name, rec.Code, rec.Body)
		}
	}
}
