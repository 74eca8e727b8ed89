// Parsers and checks for the string-shaped values of fleet.hcl: sizes, durations, checksums,
// URLs, recipe, pool, queue and host names. They are pure so they can be table-tested and fuzzed
// on their own; each error text is the one-line hint a user reads.
package spec

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps a size suffix to its multiplier. Binary units are the documented ones; decimal
// units are accepted because people write them.
var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
}

var sizeRe = regexp.MustCompile(`^([0-9]+)\s*([A-Za-z]*)$`)

// ParseSize parses a byte size such as "4MiB", "512KiB", "1GB" or "1024" into bytes.
func ParseSize(s string) (int64, error) {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size; write a whole number with a unit, like \"4MiB\"", s)
	}
	mult, ok := sizeUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("%q has an unknown unit %q; use B, KiB, MiB, GiB or TiB", s, m[2])
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// parseDuration parses a positive Go duration such as "50m" or "1h30m".
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write a number with a unit, like \"50m\", \"90s\" or \"1h30m\"", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero", s)
	}
	return d, nil
}

var checksumHexLen = map[string]int{"sha1": 40, "sha256": 64, "sha512": 128}

// parseChecksum checks "<algorithm>:<hex>" and returns it with the hex in lower case.
func parseChecksum(s string) (string, error) {
	algo, hexs, ok := strings.Cut(s, ":")
	want, known := checksumHexLen[strings.ToLower(algo)]
	if !ok || !known {
		return "", fmt.Errorf("%q is not a checksum; write \"sha256:<64 hex digits>\" (sha1 and sha512 work the same way)", s)
	}
	if len(hexs) != want || strings.Trim(strings.ToLower(hexs), "0123456789abcdef") != "" {
		return "", fmt.Errorf("a %s checksum is %d hex digits; %q has %d characters", strings.ToLower(algo), want, hexs, len(hexs))
	}
	return strings.ToLower(algo) + ":" + strings.ToLower(hexs), nil
}

// parseBoxURL checks a box URL and returns it normalised: http(s) URLs need a host; file URLs
// with a relative path ("file:boxes/x.box") are made absolute against dir.
func parseBoxURL(s, dir string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %w", s, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("%q has no host; write %s://host/path.box", s, u.Scheme)
		}
		return s, nil
	case "file":
		p := u.Path
		if u.Opaque != "" {
			p = u.Opaque
		}
		if p == "" || (u.Host != "" && u.Host != "localhost") {
			return "", fmt.Errorf("%q names no local file; write file:///abs/path.box or file:relative/path.box", s)
		}
		return (&url.URL{Scheme: "file", Path: absPath(dir, p)}).String(), nil
	default:
		return "", fmt.Errorf("%q must be a file://, http:// or https:// URL", s)
	}
}

var (
	recipeRe   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$`)
	runListRe  = regexp.MustCompile(`^recipe\[(.*)\]$`)
	poolNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// maxPoolName leaves room in VM names for the host, role and index the agent appends.
const maxPoolName = 40

// checkRecipe accepts "cookbook" and "cookbook::recipe".
func checkRecipe(s string) error {
	if recipeRe.MatchString(s) {
		return nil
	}
	if m := runListRe.FindStringSubmatch(s); m != nil {
		return fmt.Errorf("%q is a run list entry; write just %q", s, m[1])
	}
	if fixed := strings.Replace(s, ":", "::", 1); strings.Count(s, ":") == 1 && recipeRe.MatchString(fixed) {
		return fmt.Errorf("%q is not a recipe; did you mean %q?", s, fixed)
	}
	return fmt.Errorf("%q is not a recipe; write \"cookbook\" or \"cookbook::recipe\"", s)
}

// checkPoolName accepts names usable as VM name prefixes.
func checkPoolName(s string) error {
	if len(s) > maxPoolName {
		return fmt.Errorf("%q is %d characters; a pool name prefixes VM names and may have at most %d", s, len(s), maxPoolName)
	}
	if !poolNameRe.MatchString(s) {
		return fmt.Errorf("%q cannot prefix VM names; use lower-case letters, digits and dashes, starting with a letter or digit (e.g. %q)",
			s, suggestPoolName(s))
	}
	return nil
}

// suggestPoolName turns s into a valid pool name for the fix hint.
func suggestPoolName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "pool-1"
	}
	return out
}

// checkQueueName accepts Resque queue names: non-empty, no colon, no whitespace.
func checkQueueName(s string) error {
	switch {
	case s == "":
		return errors.New("a queue name cannot be empty")
	case strings.Contains(s, ":"):
		return fmt.Errorf("%q contains a colon, but Resque splits worker and queue ids on colons; use a dot instead (%q)",
			s, strings.ReplaceAll(s, ":", "."))
	case strings.IndexFunc(s, isSpace) >= 0:
		return fmt.Errorf("%q contains whitespace; use a dot or dash instead", s)
	}
	return nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// checkHostName accepts names usable in Resque worker ids.
func checkHostName(s string) error {
	switch {
	case s == "":
		return errors.New("the host name cannot be empty; leave it out to use this machine's name")
	case strings.Contains(s, ":"):
		return fmt.Errorf("%q contains a colon, but Resque worker ids are \"host:pid:queues\"; use a dash instead", s)
	}
	return nil
}

// defaultHostName is os.Hostname() made safe for worker ids.
func defaultHostName() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return sanitizeHostName(h)
}

// sanitizeHostName replaces every character outside [A-Za-z0-9._-] with "-".
func sanitizeHostName(h string) string {
	b := []byte(h)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "localhost"
	}
	return string(b)
}
