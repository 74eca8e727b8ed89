package queue

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const validPayload = `{"class":"Fleet::Build","queue":"builds","args":[{"id":"job-1",` +
	`"repository":{"slug":"svenfuchs/gem-release","url":"https://github.com/svenfuchs/gem-release.git"},` +
	`"commit":"8f0daa714530956a44197f1effe924b332241244","branch":"master","env":["FOO=bar"],` +
	`"script":["bundle install","bundle exec rake"],"timeout":"50m","log_silence":"10m"}]}`

func TestParseAcceptsDocumentedPayload(t *testing.T) {
	got, err := Parse([]byte(validPayload))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := Args{
		ID:         "job-1",
		Repository: Repository{Slug: "svenfuchs/gem-release", URL: "https://github.com/svenfuchs/gem-release.git"},
		Commit:     "8f0daa714530956a44197f1effe924b332241244",
		Branch:     "master",
		Env:        []string{"FOO=bar"},
		Script:     []string{"bundle install", "bundle exec rake"},
		Timeout:    Duration(50 * time.Minute),
		LogSilence: Duration(10 * time.Minute),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parse (-want +got):\n%s", d)
	}
}

func TestParseSaysExactlyWhatIsWrong(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    []string
	}{
		{"not json", `{"class":`, []string{"payload is not JSON: unexpected end of JSON input"}},
		{"json array", `[1,2]`, []string{"payload is JSON but not an object"}},
		{"class not a string", `{"class":7,"args":[]}`, []string{"class: JSON number, want a string"}},
		{"args not a list", `{"class":"Fleet::Build","args":{}}`, []string{"args: JSON object, want a list"}},
		{"wrong class", strings.Replace(validPayload, "Fleet::Build", "Travis::Worker", 1),
			[]string{`class: "Travis::Worker", want "Fleet::Build"`}},
		{"missing class and args", `{}`, []string{`class: missing, want "Fleet::Build"`,
			"args: 0 elements, want a list of exactly one object"}},
		{"two args", `{"class":"Fleet::Build","args":[{},{}]}`,
			[]string{"args: 2 elements, want a list of exactly one object"}},
		{"arg is not an object", `{"class":"Fleet::Build","args":[35]}`,
			[]string{"args[0]: cannot unmarshal number into Go value of type queue.Args"}},
		{"unknown field", strings.Replace(validPayload, `"timeout"`, `"timeot"`, 1),
			[]string{`args[0]: unknown field "timeot"`}},
		{"bad duration", strings.Replace(validPayload, `"50m"`, `"fifty"`, 1),
			[]string{`args[0]: "fifty" is not a duration such as "50m"`}},
		{"empty args object", `{"class":"Fleet::Build","args":[{}]}`, []string{
			"args[0].id: required",
			"args[0].repository.slug: required",
			"args[0].repository.url: required",
			"args[0].commit: required",
			"args[0].script: required, a list of at least one shell step",
		}},
		{"bad values", `{"class":"Fleet::Build","args":[{"id":"-x","repository":{"slug":"nope","url":"--upload-pack=evil"},` +
			`"commit":"HEAD","branch":"a..b","env":["1X=y","PATH"],"script":["ok"," "]}]}`, []string{
			`args[0].id: "-x" must be 1-128 of [A-Za-z0-9._-], starting with a letter or digit`,
			`args[0].repository.slug: "nope" is not owner/name`,
			`args[0].repository.url: "--upload-pack=evil" starts with '-'`,
			`args[0].commit: "HEAD" is not a hex commit id of 7 to 64 digits`,
			`args[0].branch: "a..b" is not a valid branch name`,
			`args[0].env[0]: "1X=y" is not NAME=value`,
			`args[0].env[1]: "PATH" is not NAME=value`,
			`args[0].script[1]: empty step`,
		}},
		{"url scheme", strings.Replace(validPayload, "https://github.com", "ftp://github.com", 1), []string{
			`args[0].repository.url: "ftp://github.com/svenfuchs/gem-release.git": scheme "ftp", want https, http, ssh, git, file or user@host:path`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.payload))
			var perr *PayloadError
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v, want *PayloadError", err)
			}
			if d := cmp.Diff(tt.want, perr.Problems); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestCloneURLForms(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://github.com/a/b.git", true},
		{"git@github.com:a/b.git", true},
		{"ssh://git@host:2222/a/b", true},
		{"git://host/a/b", true},
		{"file:///srv/git/b.git", true},
		{"https:///a/b", false},
		{"/srv/git/b.git", false},
		{"https://host/a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := checkCloneURL(tt.url) == ""; got != tt.ok {
				t.Errorf("accepted = %v, want %v (%s)", got, tt.ok, checkCloneURL(tt.url))
			}
		})
	}
}

func TestEncodeRoundTripsThroughParse(t *testing.T) {
	a := testArgs("round-trip")
	a.Timeout = Duration(90 * time.Minute)
	raw, err := Encode("builds", a)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if !strings.HasPrefix(string(raw), `{"class":"Fleet::Build","queue":"builds","args":[{"id":"round-trip",`) {
		t.Errorf("payload does not start like node-resque's: %s", raw)
	}
	got, err := Parse(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if _, err := Encode("builds", Args{}); err == nil {
		t.Error("encode of empty args succeeded, want a validation error")
	}
}

func TestFailureRecordHasResqueShape(t *testing.T) {
	at := time.Date(2026, 1, 12, 20, 23, 55, 0, time.FixedZone("EST", -5*3600))
	got, err := failureRecord([]byte(`{"class":"Fleet::Build","args":["<a&b>"]}`),
		&PayloadError{Problems: []string{"class: wrong"}}, "build-01:42-0:builds", "builds", at)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"failed_at":"2026/01/13 01:23:55 UTC","payload":{"class":"Fleet::Build","args":["<a&b>"]},` +
		`"exception":"Fleet::InvalidPayload","error":"invalid job payload: class: wrong","backtrace":[],` +
		`"worker":"build-01:42-0:builds","queue":"builds"}`
	if string(got) != want {
		t.Errorf("record\n got %s\nwant %s", got, want)
	}
	notJSON, err := failureRecord([]byte("oops"), nil, "w:1:q", "q", at)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(notJSON, &rec); err != nil {
		t.Fatalf("record for a non-JSON payload is not JSON: %v", err)
	}
	if rec["payload"] != "oops" || rec["exception"] != "Fleet::JobError" {
		t.Errorf("record for a non-JSON payload = %v", rec)
	}
}

func TestParseWorkerID(t *testing.T) {
	tests := []struct {
		id   string
		want workerID
		ok   bool
	}{
		{"build-01:4242-0:builds.ruby,builds", workerID{"build-01", 4242, []string{"builds.ruby", "builds"}}, true},
		{"build-01:4242:builds", workerID{"build-01", 4242, []string{"builds"}}, true},
		{"host:pid:q", workerID{}, false},
		{"host:4242", workerID{}, false},
		{"a:1:b:c", workerID{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, ok := parseWorkerID(tt.id)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(workerID{})); ok && d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts is
// valid and encodes back into a payload it accepts again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validPayload))
	f.Add([]byte(`{"class":"Fleet::Build","args":[{}]}`))
	f.Add([]byte(`{"class":"Archive","args":[35,"tar"]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := Parse(raw)
		if err != nil {
			var perr *PayloadError
			if !errors.As(err, &perr) || len(perr.Problems) == 0 {
				t.Fatalf("error %v is not a *PayloadError with problems", err)
			}
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("accepted args fail validation: %v", err)
		}
		again, err := Encode("builds", a)
		if err != nil {
			t.Fatalf("encode accepted args: %v", err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("re-encoded payload rejected: %v", err)
		}
	})
}
