package spec

import (
	"net/url"
	"strings"
	"testing"
)

// TestQueueRedisURLForms: the single-server, Sentinel and Cluster forms of queue.redis load;
// a Sentinel or Cluster URL with a missing master name, host or port is an "Invalid Redis
// URL" diagnostic located at the redis attribute, naming the problem and never the password.
func TestQueueRedisURLForms(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		want      string // part of the diagnostic's detail; "" loads
	}{
		{"single", "redis://127.0.0.1:6379/0", ""},
		{"unix", "unix:///run/redis/redis.sock", ""},
		{"sentinel", "redis://:pw@10.0.0.1:26379/0?master_name=mymaster&addr=10.0.0.2:26379&addr=10.0.0.3:26379", ""},
		{"sentinel tls", "rediss://s1.example:26379?master_name=builds", ""},
		{"cluster", "redis://10.0.0.1:7000?addr=10.0.0.2:7000", ""},
		{"bad scheme", "http://127.0.0.1:6379", "must be a redis://, rediss:// or unix:// URL"},
		{"empty master", "redis://10.0.0.1:26379?master_name=", "exactly one non-empty master_name"},
		{"two masters", "redis://10.0.0.1:26379?master_name=a&master_name=b", "exactly one non-empty master_name"},
		{"sentinel without port", "redis://:pw@10.0.0.1/0?master_name=m", "needs host:port of a Sentinel"},
		{"sentinel bad addr", "redis://10.0.0.1:26379?master_name=m&addr=10.0.0.2", `addr="10.0.0.2"`},
		{"sentinel port out of range", "redis://10.0.0.1:26379?master_name=m&addr=h:99999", "between 1 and 65535"},
		{"sentinel over unix", "unix:///run/redis.sock?master_name=m", "must use redis:// or rediss://"},
		{"cluster bad addr", "redis://10.0.0.1:7000?addr=:7001", "has no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "queue {\n  redis = \"" + tc.url + "\"\n}\n" + credsPool
			f, diags := LoadBytes("fleet.hcl", []byte(src))
			if tc.want == "" {
				if diags.HasErrors() {
					t.Fatalf("unexpected diagnostics: %s", diags.Error())
				}
				if f.Queue.Redis != tc.url {
					t.Errorf("redis = %q, want %q", f.Queue.Redis, tc.url)
				}
				return
			}
			if !diags.HasErrors() {
				t.Fatalf("%s loaded, want an error containing %q", tc.url, tc.want)
			}
			d := diags[0]
			if d.Summary != "Invalid Redis URL" || !strings.Contains(d.Detail, tc.want) {
				t.Errorf("diagnostic %q: %q, want Invalid Redis URL containing %q", d.Summary, d.Detail, tc.want)
			}
			if d.Subject == nil || d.Subject.Start.Line != 2 {
				t.Errorf("diagnostic at %v, want line 2 (the redis attribute)", d.Subject)
			}
			if strings.Contains(d.Detail, "pw@") {
				t.Errorf("diagnostic shows the password: %q", d.Detail)
			}
		})
	}
}

// FuzzRedisURLProblem: any string is either accepted or explained, and the explanation
// never carries the URL's password.
func FuzzRedisURLProblem(f *testing.F) {
	for _, s := range []string{"redis://127.0.0.1:6379/0", "redis://:hunter2@h:26379?master_name=m&addr=x:1", "unix:///s", "redis://h?addr=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		msg := redisURLProblem(s)
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			return
		}
		if pw, ok := u.User.Password(); ok && len(pw) >= 4 && strings.Contains(msg, pw) && !strings.Contains(u.Redacted(), pw) {
			t.Fatalf("password %q in %q", pw, msg)
		}
	})
}
