// This file decodes the queue block's credentials: the Redis ACL user and
// where its password comes from (a file or an environment variable). The
// password itself is never stored in the Fleet: a plan, a status page or an
// error that prints the spec cannot show it. The queue package reads it when
// it dials.

package spec

import (
	"fmt"
	"net/url"
	"os"

	"github.com/hashicorp/hcl/v2"

	"github.com/fleet-agent/fleet/internal/secretenv"
	"github.com/fleet-agent/fleet/internal/secretfile"
)

// QueueCredentials names the Redis ACL user and the source of its password.
// At most one of PasswordFile and PasswordEnv is set.
type QueueCredentials struct {
	// Username is the Redis ACL user (AUTH username password). Empty: the
	// "default" user.
	Username string
	// PasswordFile is an absolute path to a file whose content (one trailing
	// newline trimmed) is the password.
	PasswordFile string
	// PasswordEnv names an environment variable of the agent holding the
	// password.
	PasswordEnv string
}

func (d *decoder) queueCreds(n *node, q *Queue) {
	var ua, ea *hcl.Attribute
	q.Credentials.Username, ua = d.str(n, "username", "")
	if ua != nil && q.Credentials.Username == "" {
		d.errorf(ua.Expr.Range(), "Empty username", "username cannot be empty; leave it out to authenticate as Redis's default user.")
	}
	q.Credentials.PasswordFile = d.path(n, "password_file", "", "")
	q.Credentials.PasswordEnv, ea = d.str(n, "password_env", "")
	var fileRange hcl.Range
	fileSet := n != nil && n.attrs["password_file"] != nil
	if fileSet {
		fileRange = n.attrs["password_file"].Expr.Range()
	}
	if fileSet && ea != nil {
		d.errorf(ea.Expr.Range(), "Two password sources",
			"password_env and password_file (%s) are both set; keep one so it is clear which password the agent sends.", fileRange)
		return
	}
	if (fileSet || ea != nil) && q.Redis != "" {
		if u, err := url.Parse(q.Redis); err == nil {
			if _, ok := u.User.Password(); ok {
				r := fileRange
				if ea != nil {
					r = ea.Expr.Range()
				}
				d.errorf(r, "Two password sources",
					"the redis URL already carries a password; remove it from the URL (a URL is printed in logs and plans) and keep this attribute.")
				return
			}
		}
	}
	if ea != nil {
		if err := checkEnvName(q.Credentials.PasswordEnv); err != nil {
			d.errorf(ea.Expr.Range(), "Invalid password_env", "%s.", err)
			return
		}
		// Taken out of the environment here, when the agent first learns the name: no child
		// process started later inherits the password (internal/secretenv).
		if secretenv.Take(q.Credentials.PasswordEnv) == "" {
			d.errorf(ea.Expr.Range(), "Password not set",
				"environment variable %s is unset or empty; export it for the agent, or use password_file.", q.Credentials.PasswordEnv)
		}
	}
	if fileSet && q.Credentials.PasswordFile != "" {
		if _, err := ReadPasswordFile(q.Credentials.PasswordFile); err != nil {
			d.errorf(fileRange, "Unreadable password_file", "%s; the agent needs it to authenticate to Redis.", err)
		} else if st, err := os.Stat(q.Credentials.PasswordFile); err == nil && st.Mode().Perm()&0o077 != 0 {
			d.warnf(fileRange, "Password file readable by others",
				"%s has mode %s; other users of this host can read the Redis password. chmod 600 it.", q.Credentials.PasswordFile, st.Mode().Perm())
		}
	}
	if ua != nil && !fileSet && ea == nil {
		if u, err := url.Parse(q.Redis); err != nil || u.User == nil {
			d.errorf(ua.Expr.Range(), "Username without password",
				"Redis ACL users authenticate with a password; add password_file or password_env.")
		}
	}
}

// ReadPasswordFile reads a password file; see internal/secretfile.
func ReadPasswordFile(path string) (string, error) { return secretfile.Read(path) }

// checkEnvName accepts POSIX environment variable names.
func checkEnvName(s string) error {
	if s == "" {
		return fmt.Errorf("the variable name is empty")
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return fmt.Errorf("%q is not an environment variable name (letters, digits, _; not starting with a digit)", s)
		}
	}
	return nil
}

// redactedURL quotes a Redis URL for a diagnostic with its password hidden;
// a URL that does not parse is not quoted at all.
func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return fmt.Sprintf("%q", u.Redacted())
	}
	return "the URL (not shown: it may hold a password)"
}
