package spec

import (
	"strings"
	"testing"
)

func TestRedactTextHidesReportSecretsAndURLPasswordsButNotPointers(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"report token", `  token = "s3cr3t-token"`, `  token = "[hidden]"`},
		{"report secret", `secret="hmac-key" # comment`, `secret="[hidden]"`},
		{"redis url password", `  redis = "redis://fleet:hunter2@10.1.2.3:6379/0"`, `  redis = "redis://fleet:[hidden]@10.1.2.3:6379/0"`},
		{"url password without user", `redis = "rediss://:hunter2@q.example:6380"`, `redis = "rediss://:[hidden]@q.example:6380"`},
		{"diagnostic snippet", `   14:   token = "abc"`, `   14:   token = "[hidden]"`},
		{"password file path is kept", `  password_file = "/etc/fleet/redis.pw"`, `  password_file = "/etc/fleet/redis.pw"`},
		{"password env name is kept", `  password_env = "FLEET_REDIS_PASSWORD"`, `  password_env = "FLEET_REDIS_PASSWORD"`},
		{"url without password", `url = "https://ci.example/hook"`, `url = "https://ci.example/hook"`},
		{"heredoc secret", "secret = <<EOT\nline one\nline two\nEOT\nurl = \"x\"", "secret = \"[hidden]\"\n[hidden]\n[hidden]\nEOT\nurl = \"x\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RedactText(tc.in)
			if got != tc.want {
				t.Errorf("RedactText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			for _, secret := range []string{"s3cr3t-token", "hmac-key", "hunter2", "line one"} {
				if strings.Contains(got, secret) {
					t.Errorf("secret %q survived: %q", secret, got)
				}
			}
		})
	}
}
