package queue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/internal/redistest"
)

// TestOpenAuthenticatesAsACLUser: against a Redis whose default user is
// off, Open works with the password from a file or an environment variable,
// and a wrong or missing password gives an error that names the failure but
// never the password.
func TestOpenAuthenticatesAsACLUser(t *testing.T) {
	const user, pw = "fleet-agent", "pw-9c1e4f7a-only-in-tests"
	srv := redistest.StartACL(t, redistest.ACL{Username: user, Password: pw})
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pw")
	os.WriteFile(good, []byte(pw+"\n"), 0o600)
	bad := filepath.Join(dir, "bad.pw")
	os.WriteFile(bad, []byte("not-"+pw+"\n"), 0o600)
	t.Setenv("FLEET_TEST_QUEUE_PW", pw)
	t.Setenv("FLEET_TEST_QUEUE_BAD", "wrong-"+pw)

	for _, tc := range []struct {
		name    string
		cr      Credentials
		wantErr string // substring of the error; "" for success
	}{
		{"password_file", Credentials{Username: user, PasswordFile: good}, ""},
		{"password_env", Credentials{Username: user, PasswordEnv: "FLEET_TEST_QUEUE_PW"}, ""},
		{"wrong password", Credentials{Username: user, PasswordFile: bad}, "WRONGPASS"},
		{"wrong user", Credentials{Username: "intruder", PasswordEnv: "FLEET_TEST_QUEUE_PW"}, "WRONGPASS"},
		{"wrong env password", Credentials{Username: user, PasswordEnv: "FLEET_TEST_QUEUE_BAD"}, "WRONGPASS"},
		{"no credentials", Credentials{}, "NOAUTH"},
		{"missing file", Credentials{Username: user, PasswordFile: filepath.Join(dir, "nope")}, "password_file"},
		{"unset env", Credentials{Username: user, PasswordEnv: "FLEET_TEST_QUEUE_UNSET"}, "FLEET_TEST_QUEUE_UNSET is unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				c, err := Open(Config{URL: srv.URL, Credentials: tc.cr, Host: "build-01"}, nil)
				if err != nil {
					return err
				}
				defer c.Close()
				ctx := context.Background()
				if err := c.Redis().Ping(ctx).Err(); err != nil {
					return err
				}
				err = c.Redis().Set(ctx, "creds-test", "1", 0).Err()
				return err
			}()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestDialErrorsHideURLPasswords: a URL that does not parse is reported
// without the URL, which may carry a password.
func TestDialErrorsHideURLPasswords(t *testing.T) {
	const pw = "pw-in-a-broken-url"
	for _, raw := range []string{"redis://:" + pw + "%zz@127.0.0.1:6379/0", "redis://user:" + pw + "@[::1/0"} {
		for name, dial := range map[string]func(string) error{
			"Dial":          func(s string) error { _, err := Dial(s); return err },
			"DialAnonymous": func(s string) error { _, err := DialAnonymous(s); return err },
		} {
			err := dial(raw)
			if err == nil {
				t.Fatalf("%s(%q) succeeded", name, raw)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("%s error shows the password: %v", name, err)
			}
		}
	}
}
