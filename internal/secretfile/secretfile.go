// Package secretfile reads a one-line secret (a Redis password) from a file,
// for both the fleet.hcl validation and the queue's dial. Errors name the
// file, never its content.
package secretfile

import (
	"fmt"
	"os"
	"strings"
)

// MaxSize bounds how much of a password file is read.
const MaxSize = 4096

// Read returns the password held in path: its content with one
// trailing newline (LF or CRLF) removed. Errors never include the content.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, MaxSize+1)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if n > MaxSize {
		return "", fmt.Errorf("%s is longer than %d bytes; it should hold only the password", path, MaxSize)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(buf[:n]), "\n"), "\r")
	switch {
	case pw == "":
		return "", fmt.Errorf("%s is empty", path)
	case strings.ContainsAny(pw, "\r\n"):
		return "", fmt.Errorf("%s holds more than one line; it should hold only the password", path)
	}
	return pw, nil
}
