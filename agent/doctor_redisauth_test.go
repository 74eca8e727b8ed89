package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/spec"
)

// TestDoctorRedisAuth: doctor warns about a Redis that answers without
// authentication, is satisfied by one that refuses, and authenticates with
// the configured ACL user without showing the password.
func TestDoctorRedisAuth(t *testing.T) {
	const pw = "pw-doctor-7d3a-secret"
	open := redistest.Start(t)
	acl := redistest.StartACL(t, redistest.ACL{Username: "fleet", Password: pw})
	pwFile := filepath.Join(t.TempDir(), "redis.pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := spec.QueueCredentials{Username: "fleet", PasswordFile: pwFile}
	for _, tc := range []struct {
		name  string
		queue spec.Queue
		want  []string // "sev what" prefixes, in order
	}{
		{"open redis", spec.Queue{Redis: open.URL}, []string{"ok redis", "WARN redis auth"}},
		{"acl redis with credentials", spec.Queue{Redis: acl.URL, Credentials: creds}, []string{"ok redis", "ok redis auth"}},
		{"acl redis without credentials", spec.Queue{Redis: acl.URL}, []string{"FAIL redis"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkRedis(context.Background(), &spec.Fleet{Queue: tc.queue})
			var heads []string
			for _, f := range got {
				heads = append(heads, f.sev+" "+f.what)
				if strings.Contains(f.detail+f.fix, pw) {
					t.Errorf("finding shows the password: %+v", f)
				}
			}
			if strings.Join(heads, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings %q, want %q (%+v)", heads, tc.want, got)
			}
		})
	}
}
