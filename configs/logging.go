package configs

import "log/slog"

// logLevels and logFormats list the accepted logging values.
func logLevels() []string  { return []string{"debug", "info", "warn", "error"} }
func logFormats() []string { return []string{"text", "json"} }

// LoggingConfig configures the process log (log/slog).
type LoggingConfig struct {
	// Level is the least severe level written: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text (key=value, for people) or json (one object a line, for log
	// collectors).
	Format string `yaml:"format"`
}

func defaultLogging() LoggingConfig {
	return LoggingConfig{Level: "info", Format: "text"}
}

func (l LoggingConfig) validate(p *problems, key string) {
	oneOf(p, key+".level", l.Level, logLevels())
	oneOf(p, key+".format", l.Format, logFormats())
}

func (l LoggingConfig) slogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
