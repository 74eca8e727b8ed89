package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const credsPool = `
box "b" {
  version = "1"
  url     = "file:///boxes/b.box"
}
pool "p" { box = "b" }
`

func TestQueueCredentialsDecode(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "redis.pw")
	os.WriteFile(good, []byte("s3cret-pw\n"), 0o600)
	empty := filepath.Join(dir, "empty.pw")
	os.WriteFile(empty, nil, 0o600)
	twoLines := filepath.Join(dir, "two.pw")
	os.WriteFile(twoLines, []byte("s3cret-pw\nmore\n"), 0o600)
	t.Setenv("FLEET_TEST_REDIS_PW", "s3cret-pw")
	t.Setenv("FLEET_TEST_EMPTY_PW", "")

	for _, tc := range []struct {
		name    string
		queue   string
		want    QueueCredentials
		summary string // the expected error; "" for none
	}{
		{"password file", `username = "fleet"` + "\n" + `password_file = "` + good + `"`,
			QueueCredentials{Username: "fleet", PasswordFile: good}, ""},
		{"password env", `username = "fleet"` + "\n" + `password_env = "FLEET_TEST_REDIS_PW"`,
			QueueCredentials{Username: "fleet", PasswordEnv: "FLEET_TEST_REDIS_PW"}, ""},
		{"default user with env", `password_env = "FLEET_TEST_REDIS_PW"`,
			QueueCredentials{PasswordEnv: "FLEET_TEST_REDIS_PW"}, ""},
		{"both sources", `password_file = "` + good + `"` + "\n" + `password_env = "FLEET_TEST_REDIS_PW"`, QueueCredentials{}, "Two password sources"},
		{"url has password too", `redis = "redis://:pw@127.0.0.1:6379/0"` + "\n" + `password_env = "FLEET_TEST_REDIS_PW"`, QueueCredentials{}, "Two password sources"},
		{"missing file", `password_file = "` + filepath.Join(dir, "nope") + `"`, QueueCredentials{}, "Unreadable password_file"},
		{"empty file", `password_file = "` + empty + `"`, QueueCredentials{}, "Unreadable password_file"},
		{"two-line file", `password_file = "` + twoLines + `"`, QueueCredentials{}, "Unreadable password_file"},
		{"env unset", `password_env = "FLEET_TEST_EMPTY_PW"`, QueueCredentials{}, "Password not set"},
		{"env bad name", `password_env = "1-X"`, QueueCredentials{}, "Invalid password_env"},
		{"empty username", `username = ""` + "\n" + `password_env = "FLEET_TEST_REDIS_PW"`, QueueCredentials{}, "Empty username"},
		{"username alone", `username = "fleet"`, QueueCredentials{}, "Username without password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "queue {\n" + tc.queue + "\n}\n" + credsPool
			f, diags := LoadBytes("fleet.hcl", []byte(src))
			if tc.summary == "" {
				if diags.HasErrors() {
					t.Fatalf("unexpected diagnostics: %s", diags.Error())
				}
				if f.Queue.Credentials != tc.want {
					t.Errorf("credentials = %+v, want %+v", f.Queue.Credentials, tc.want)
				}
				return
			}
			if !diags.HasErrors() {
				t.Fatalf("no error, want %q", tc.summary)
			}
			d := diags[0]
			if d.Summary != tc.summary {
				t.Errorf("summary = %q (%s), want %q", d.Summary, d.Detail, tc.summary)
			}
			if d.Subject == nil || d.Subject.Start.Line < 2 || d.Subject.Start.Line > 3 {
				t.Errorf("diagnostic %q is not located on the queue attribute: %v", d.Summary, d.Subject)
			}
			if strings.Contains(diags.Error(), "s3cret-pw") {
				t.Errorf("diagnostics show the password: %s", diags.Error())
			}
		})
	}
}

func TestInvalidRedisURLDiagnosticHidesPassword(t *testing.T) {
	for _, u := range []string{"http://user:pw-spec-secret@h:6379/0", "redis://:pw-spec-secret%zz@h/0"} {
		_, diags := LoadBytes("fleet.hcl", []byte("queue { redis = \""+u+"\" }\n"+credsPool))
		if !diags.HasErrors() {
			t.Fatalf("%s: no error", u)
		}
		if strings.Contains(diags.Error(), "pw-spec-secret") {
			t.Errorf("diagnostic shows the password: %s", diags.Error())
		}
	}
}

func TestPasswordFileReadableByOthersWarns(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "redis.pw")
	os.WriteFile(pw, []byte("s3cret-pw\n"), 0o644)
	os.Chmod(pw, 0o644)
	f, diags := LoadBytes("fleet.hcl", []byte("queue {\n  password_file = \""+pw+"\"\n}\n"+credsPool))
	if diags.HasErrors() || f == nil {
		t.Fatalf("errors: %s", diags.Error())
	}
	if len(diags) != 1 || diags[0].Summary != "Password file readable by others" || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("diagnostics = %v, want one located warning about the mode", diags)
	}
}
