// This file hides the secrets fleet.hcl may hold (report tokens and secrets,
// passwords in Redis URLs) from text shown to people: the dashboard's view of
// the spec in force and diagnostics with source snippets.

package spec

import (
	"regexp"
	"strings"
)

// Hidden replaces a secret value.
const Hidden = "[hidden]"

var (
	// secretAttr matches an attribute whose value is a secret, in source or
	// in a diagnostic's snippet ("  12:   token = ..."), up to the end of the line.
	secretAttr = regexp.MustCompile(`(?i)\b((?:[a-z_]*_)?(?:token|secret|password))(\s*=\s*)(.*)$`)
	// urlPassword matches the password of a URL's user information.
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:@/\s"]*:)[^@/\s"]+@`)
	// heredocStart matches the opening of a heredoc value.
	heredocStart = regexp.MustCompile(`<<-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`)
)

// RedactText returns text (fleet.hcl source or diagnostics) with every
// secret attribute's value and every URL password replaced by Hidden. The
// names of attributes that only point at a secret (password_file,
// password_env) keep their values: a path or a variable name is not the secret.
func RedactText(text string) string {
	lines := strings.Split(text, "\n")
	inHeredoc := ""
	for i, l := range lines {
		if inHeredoc != "" {
			if strings.TrimSpace(l) == inHeredoc {
				inHeredoc = ""
			} else {
				lines[i] = Hidden
			}
			continue
		}
		l = urlPassword.ReplaceAllString(l, "${1}"+Hidden+"@")
		if m := secretAttr.FindStringSubmatchIndex(l); m != nil {
			name := strings.ToLower(l[m[2]:m[3]])
			if !strings.HasSuffix(name, "_file") && !strings.HasSuffix(name, "_env") {
				val := l[m[6]:m[7]]
				if h := heredocStart.FindStringSubmatch(val); h != nil {
					inHeredoc = h[1]
				}
				l = l[:m[6]] + `"` + Hidden + `"`
			}
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
