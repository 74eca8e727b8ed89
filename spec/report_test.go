package spec

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const reportPool = minimalBox + `
pool "ruby" { box = "lucid32" }
`

// TestReportBlocksDecode checks report blocks: defaults for every omitted limit, every set value
// decoded, several receivers kept in declaration order, and env() for the token.
func TestReportBlocksDecode(t *testing.T) {
	t.Setenv("FLEET_SPEC_TEST_REPORT_TOKEN", "tok-from-env")
	def := func(url, token string) *Report {
		return &Report{
			Kind: "http", URL: url, Token: token,
			QueueEvents: 1024, QueueBytes: 16 << 20, BatchBytes: 64 << 10, BatchInterval: time.Second,
			RequestTimeout: 10 * time.Second, MinBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second, Senders: 4,
		}
	}
	cases := []struct {
		name string
		src  string
		want []*Report
	}{
		{"none", "", nil},
		{
			"defaults and token from env",
			`report "http" {
  url   = "https://ci.example.org/fleet/events"
  token = env("FLEET_SPEC_TEST_REPORT_TOKEN")
}`,
			[]*Report{def("https://ci.example.org/fleet/events", "tok-from-env")},
		},
		{
			"every limit set",
			`report "http" {
  url             = "http://127.0.0.1:8080/hook"
  secret          = "s3"
  queue_events    = 10
  queue_bytes     = "1MiB"
  batch_bytes     = "4KiB"
  batch_interval  = "250ms"
  request_timeout = "3s"
  min_backoff     = "100ms"
  max_backoff     = "2s"
  senders         = 2
}`,
			[]*Report{{
				Kind: "http", URL: "http://127.0.0.1:8080/hook", Secret: "s3",
				QueueEvents: 10, QueueBytes: 1 << 20, BatchBytes: 4 << 10, BatchInterval: 250 * time.Millisecond,
				RequestTimeout: 3 * time.Second, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second, Senders: 2,
			}},
		},
		{
			"several receivers in order",
			`report "http" { url = "https://b.example.org/x" }
report "http" { url = "https://a.example.org/x" }`,
			[]*Report{def("https://b.example.org/x", ""), def("https://a.example.org/x", "")},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fleet, diags := LoadBytes("fleet.hcl", []byte(c.src+reportPool))
			if diags.HasErrors() {
				t.Fatalf("LoadBytes: %v", diags)
			}
			if diff := cmp.Diff(c.want, fleet.Reports, cmpopts.IgnoreFields(Report{}, "DeclRange")); diff != "" {
				t.Errorf("reports (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReportOverrideIsRejected checks that an override file cannot declare a report block (it
// could not tell which receiver it changes) while base files may each add receivers.
func TestReportOverrideIsRejected(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("fleet.hcl", reportPool+`report "http" { url = "https://a.example.org/x" }`)
	write("reports.hcl", `report "http" { url = "https://b.example.org/x" }`)
	fleet, diags := Load(dir)
	if diags.HasErrors() || len(fleet.Reports) != 2 {
		t.Fatalf("two base files: reports %v, diags %v; want 2 reports", fleet, diags)
	}
	write("override.hcl", `report "http" { url = "https://c.example.org/x" }`)
	_, diags = Load(dir)
	want := []want{{File: "override.hcl", Line: 1, Severity: "ERROR", Summary: "Repeated block in override file"}}
	if diff := cmp.Diff(want, got(diags)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestReportCredentialsNeverPrinted checks that neither a loaded Report (String, GoString, %v,
// %+v) nor the diagnostics of a broken one, rendered as `agent validate` renders them with
// their source snippets, show the token, the secret or the URL's password and query.
func TestReportCredentialsNeverPrinted(t *testing.T) {
	t.Setenv("FLEET_SPEC_TEST_REPORT_TOKEN", "tok-SECRET-1")
	t.Setenv("FLEET_SPEC_TEST_REPORT_BAD", "tok-SECRET-2\n")
	secrets := []string{"tok-SECRET-1", "tok-SECRET-2", "pw-SECRET-3", "q-SECRET-4", "sig-SECRET-5"}
	valid := `report "http" {
  url    = "https://user:pw-SECRET-3@ci.example.org/hook?key=q-SECRET-4"
  token  = env("FLEET_SPEC_TEST_REPORT_TOKEN")
  secret = "sig-SECRET-5"
}` + reportPool
	fleet, diags := LoadBytes("fleet.hcl", []byte(valid))
	if diags.HasErrors() {
		t.Fatalf("LoadBytes: %v", diags)
	}
	r := fleet.Reports[0]
	printed := fmt.Sprintf("%v %+v %#v %s %v %+v", r, r, r, *r, fleet, *fleet)
	if !strings.Contains(printed, "https://ci.example.org/hook?redacted") {
		t.Errorf("printed report lacks its redacted URL: %s", printed)
	}

	cases := []struct{ name, src string }{
		{"bad token from env", `report "http" {
  url   = "https://user:pw-SECRET-3@ci.example.org/hook?key=q-SECRET-4"
  token = env("FLEET_SPEC_TEST_REPORT_BAD")
}`},
		{"bad scheme with credentials", `report "http" {
  url = "ftp://user:pw-SECRET-3@ci.example.org/hook?key=q-SECRET-4"
}`},
		{"duplicate with credentials", `report "http" {
  url = "https://user:pw-SECRET-3@ci.example.org/hook?key=q-SECRET-4"
}
report "http" {
  url = "https://user:pw-SECRET-3@ci.example.org/hook?key=q-SECRET-4"
}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := NewLoader()
			_, diags := l.Load(writeTemp(t, c.src+reportPool))
			if !diags.HasErrors() {
				t.Fatal("want an error")
			}
			var buf bytes.Buffer
			if err := l.WriteDiagnostics(&buf, diags, 0, false); err != nil {
				t.Fatal(err)
			}
			printed += buf.String() + diags.Error()
		})
	}
	for _, s := range secrets {
		if strings.Contains(printed, s) {
			t.Errorf("%q printed:\n%s", s, printed)
		}
	}
}

func writeTemp(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fleet.hcl")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzCheckReportURL checks that no URL panics the check and that its error never quotes the
// URL's password or query, which may hold credentials.
func FuzzCheckReportURL(f *testing.F) {
	for _, s := range []string{"https://ci.example.org/x", "ftp://u:pw@h/x?k=v", "https:///x?token=t", "http://u:p@", "%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkReportURL(s)
		if err == nil {
			return
		}
		u, perr := url.Parse(s)
		if perr != nil {
			return
		}
		// A secret that also shows in the redacted form (say, a query repeating the path) is
		// not told apart by this check.
		shown := redactURL(s)
		if pw, ok := u.User.Password(); ok && len(pw) > 3 && strings.Contains(err.Error(), pw) && !strings.Contains(shown, pw) {
			t.Fatalf("error %q quotes the password", err)
		}
		if q := u.RawQuery; len(q) > 3 && strings.Contains(err.Error(), q) && !strings.Contains(shown, q) {
			t.Fatalf("error %q quotes the query", err)
		}
	})
}
