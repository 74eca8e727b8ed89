package sandbox

import (
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/queue"
)

// TestScriptHeadersNeverShowEnvValues: the fleet_header lines are printed
// into the job log, so an env value (possibly a secret) must not appear in
// any of them; the value is still exported for the build.
func TestScriptHeadersNeverShowEnvValues(t *testing.T) {
	const secret = "s3cr3t-Value-42"
	tests := []struct{ name, env string }{
		{"plain", "API_TOKEN=" + secret},
		{"quoted", "API_TOKEN=it's " + secret},
		{"equals inside", "API_TOKEN=a=" + secret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := queue.Args{ID: "j", Repository: queue.Repository{Slug: "a/b", URL: "file:///r"}, Commit: "abcdef0",
				Env: []string{tc.env}, Script: []string{"true"}}
			got, err := Script(a)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(got, "\n") {
				if strings.HasPrefix(line, "fleet_header ") && strings.Contains(line, secret) {
					t.Errorf("line %d prints the env value into the log: %s", i+1, line)
				}
			}
			if !strings.Contains(got, "fleet_header 'export API_TOKEN=[value hidden]'") {
				t.Errorf("script lacks the hidden-value header:\n%s", got)
			}
		})
	}
}
