// Logging setup: log/slog with tint on a terminal, JSON lines otherwise.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"
)

// newLogger builds the logger from --log-level and --log-format. NO_COLOR (any value) turns colour
// off in text mode; "auto" means text when w is a terminal and JSON lines otherwise (journald,
// files, pipes).
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	term := isTerminal(w)
	switch format {
	case "auto":
		if term {
			format = "text"
		} else {
			format = "json"
		}
	case "text", "json":
	default:
		return nil, usageError{fmt.Errorf("--log-format %q: want auto, text or json", format)}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return slog.New(tint.NewHandler(w, &tint.Options{
		Level:      lvl,
		TimeFormat: time.TimeOnly,
		NoColor:    noColor || !term,
	})), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// logger returns the logger configured by the global flags, writing to stderr.
func (a *app) logger() (*slog.Logger, error) {
	return newLogger(a.stderr, a.logLevel, a.logFormat)
}
