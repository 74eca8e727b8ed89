// This file applies Redis ACL credentials given apart from the URL: a user
// name and a password read from a file or an environment variable. Keeping
// the password out of the URL keeps it out of every place a URL is printed.

package queue

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/fleet-agent/fleet/internal/secretenv"
	"github.com/fleet-agent/fleet/internal/secretfile"
)

// Credentials authenticate to Redis as an ACL user. The zero value uses
// whatever the URL (or $FLEET_REDIS_PASSWORD) carries.
type Credentials struct {
	// Username is the ACL user; empty keeps the URL's (or "default").
	Username string
	// PasswordFile holds the password (one trailing newline trimmed).
	PasswordFile string
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string
}

// password returns the password the credentials name, "" when they name
// none. Errors say where the password should have come from, never what it is.
func (c Credentials) password() (string, error) {
	switch {
	case c.PasswordFile != "" && c.PasswordEnv != "":
		return "", errors.New("redis credentials: both password_file and password_env are set")
	case c.PasswordFile != "":
		pw, err := secretfile.Read(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("redis password_file: %w", err)
		}
		return pw, nil
	case c.PasswordEnv != "":
		pw := secretenv.Take(c.PasswordEnv)
		if pw == "" {
			return "", fmt.Errorf("redis password_env: $%s is unset or empty", c.PasswordEnv)
		}
		return pw, nil
	}
	return "", nil
}

// DialWith is Dial with credentials that override the URL's user and
// password.
func DialWith(rawURL string, cr Credentials) (redis.UniversalClient, error) {
	pw, err := cr.password()
	if err != nil {
		return nil, err
	}
	return dial(rawURL, cr.Username, pw, true)
}

// DialAnonymous dials rawURL without any credentials: the URL's user info
// and $FLEET_REDIS_PASSWORD are ignored. `agent doctor` uses it to see
// whether Redis lets anyone in.
func DialAnonymous(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, urlError(err)
	}
	u.User = nil
	return dial(u.String(), "", "", false)
}

// setAuth replaces *user and *pass with u and pw where those are set.
func setAuth(user, pass *string, u, pw string) {
	if u != "" {
		*user = u
	}
	if pw != "" {
		*pass = pw
	}
}

// urlError reports a URL that does not parse without quoting it: the URL
// may carry a password.
func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("redis url does not parse: %w", ue.Err)
	}
	return errors.New("redis url does not parse")
}
