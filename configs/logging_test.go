package configs

import (
	"log/slog"
	"testing"
)

var loggingCases = []validationCase{
	{name: "json debug", yaml: "logging:\n  level: debug\n  format: json\n"},
	{name: "level unknown", yaml: "logging:\n  level: verbose\n", paths: []string{"logging.level"}, msg: `logging.level: must be one of debug, info, warn, error (got "verbose")`},
	{name: "level upper", yaml: "logging:\n  level: INFO\n", paths: []string{"logging.level"}, msg: "case-sensitive"},
	{name: "level warning", yaml: "logging:\n  level: warning\n", paths: []string{"logging.level"}},
	{name: "format unknown", yaml: "logging:\n  format: logfmt\n", paths: []string{"logging.format"}, msg: "logging.format: must be one of text, json"},
	{name: "both wrong", yaml: "logging:\n  level: x\n  format: y\n", paths: []string{"logging.level", "logging.format"}},
}

func TestLoggingValidation(t *testing.T) {
	t.Parallel()
	runCases(t, loggingCases)
}

func TestSlogLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"", slog.LevelInfo},
	}
	for _, tc := range tests {
		t.Run(tc.level, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			c.Logging.Level = tc.level
			if got := c.SlogLevel(); got != tc.want {
				t.Errorf("SlogLevel() = %v, want %v", got, tc.want)
			}
		})
	}
}
