package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestLoggerFormats(t *testing.T) {
	tests := []struct {
		name, level, format string
		wantJSON            bool
	}{
		{"auto on a pipe is JSON", "info", "auto", true},
		{"json", "debug", "json", true},
		{"text", "info", "text", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, tt.level, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("pass done", "took", "1s")
			var m map[string]any
			isJSON := json.Unmarshal(buf.Bytes(), &m) == nil
			if isJSON != tt.wantJSON {
				t.Errorf("output %q: JSON = %v, want %v", buf.String(), isJSON, tt.wantJSON)
			}
			if !tt.wantJSON && strings.Contains(buf.String(), "\x1b[") {
				t.Errorf("text output to a non-terminal has colour escapes: %q", buf.String())
			}
		})
	}
}

func TestLoggerLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("warn level output = %q", buf.String())
	}
}

func TestLoggerRejectsBadFlags(t *testing.T) {
	for _, tc := range [][2]string{{"loud", "json"}, {"info", "xml"}} {
		_, err := newLogger(&bytes.Buffer{}, tc[0], tc[1])
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("newLogger(%q, %q) error = %v, want a usage error", tc[0], tc[1], err)
		}
	}
}
