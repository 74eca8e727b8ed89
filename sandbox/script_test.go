package sandbox

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/google/go-cmp/cmp"
)

var quotedRun = regexp.MustCompile(`Q+`)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// shellWords splits the shell text s into its words as a POSIX shell reads
// them, for the subset Quote produces: single-quoted spans, backslash
// escapes and bare characters, separated by blanks. It is the reference the
// quoting is checked against, without running a shell on the host.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			cur.WriteByte(s[i+1])
			i++
			in = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case strings.IndexByte("$`\"|&;<>()*?[#~=%", ch) >= 0:
			return nil, errors.New("unquoted special character " + string(ch))
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "''"},
		{"plain", "bundle", "'bundle'"},
		{"single quote", "it's", `'it'\''s'`},
		{"command substitution", "$(reboot)", "'$(reboot)'"},
		{"backticks", "`reboot`", "'`reboot`'"},
		{"double quotes", `"a" "b"`, `'"a" "b"'`},
		{"newline", "a\nreboot", "'a\nreboot'"},
		{"semicolon", "x; reboot", "'x; reboot'"},
		{"only quotes", "''", `''\'''\'''`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Quote(tt.in)
			if got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
			words, err := shellWords(got)
			if err != nil || len(words) != 1 || words[0] != tt.in {
				t.Errorf("shell reads Quote(%q) as %q (%v), want the one word back", tt.in, words, err)
			}
		})
	}
}

// FuzzQuote proves that any string quoted by Quote is read back by a shell
// as exactly one word equal to the string.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "'", `\`, "$(reboot)", "`id`", "a'b'c", "\n", "'\\''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := shellWords(Quote(s))
		if err != nil || len(words) != 1 || words[0] != s {
			t.Fatalf("shell reads Quote(%q) as %q (%v)", s, words, err)
		}
	})
}

// skeleton replaces every single-quoted span and backslash escape of the
// script with "Q", leaving the code around the quoted values.
func skeleton(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return b.String() + "<unterminated>"
			}
			i += j + 1
			b.WriteString("Q")
		case '\\':
			i++
			b.WriteString("Q")
		default:
			b.WriteByte(s[i])
		}
	}
	return quotedRun.ReplaceAllString(b.String(), "Q") // 'it'\''s' is one value
}

// FuzzScript proves that payload values only ever appear inside quotes: the
// script's code, with every quoted span blanked out, is the same whatever
// the values are, as long as the payload has the same shape.
func FuzzScript(f *testing.F) {
	f.Add("job-1", "owner/name", "https://example.org/r.git", "8f0daa7", "main", "FOO", "bar", "make test")
	f.Add("$(reboot)", "`id`", "a'; reboot; '", "\n", "x\"y", "A_1", "$(id)'\"", "exit 3")
	f.Fuzz(func(t *testing.T, id, slug, url, commit, branch, envName, envValue, step string) {
		hostile := queue.Args{ID: id, Repository: queue.Repository{Slug: slug, URL: url}, Commit: commit,
			Branch: branch, Env: []string{envName + "=" + envValue}, Script: []string{step, step}}
		got, err := Script(hostile)
		if err != nil {
			return // NUL bytes or an env name a shell cannot carry: refused, never run
		}
		benign := queue.Args{ID: "a", Repository: queue.Repository{Slug: "a", URL: "a"}, Commit: "a",
			Env: []string{envName + "=a"}, Script: []string{"a", "a"}}
		if branch != "" {
			benign.Branch = "a"
		}
		want, err := Script(benign)
		if err != nil {
			t.Fatal(err)
		}
		if skeleton(got) != skeleton(want) {
			t.Fatalf("payload values changed the script's code:\n%s\nwant code:\n%s", skeleton(got), skeleton(want))
		}
	})
}

func TestScriptGolden(t *testing.T) {
	a := queue.Args{
		ID:         "20260112-152355-9f3a1c2b",
		Repository: queue.Repository{Slug: "svenfuchs/gem-release", URL: "https://github.com/svenfuchs/gem-release.git"},
		Commit:     "8f0daa714530956a44197f1effe924b332241244",
		Branch:     "master",
		Env:        []string{"FOO=bar", "RAILS_ENV=test", "QUOTED=it's $(not) run"},
		Script:     []string{"bundle install", "bundle exec rake"},
		Timeout:    queue.Duration(50 * time.Minute),
	}
	got, err := Script(a)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "script.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("script differs from %s (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestScriptRefuses(t *testing.T) {
	base := queue.Args{ID: "j", Repository: queue.Repository{Slug: "a/b", URL: "file:///r"}, Commit: "abcdef0", Script: []string{"true"}}
	tests := []struct {
		name string
		edit func(*queue.Args)
		want string
	}{
		{"env without =", func(a *queue.Args) { a.Env = []string{"FOO"} }, "env[0]: want NAME=value"},
		{"env name with code", func(a *queue.Args) { a.Env = []string{"X;reboot=1"} }, "env[0]: want NAME=value"},
		{"NUL in a step", func(a *queue.Args) { a.Script = []string{"a\x00b"} }, "script[0]: contains a NUL byte"},
		{"NUL in the url", func(a *queue.Args) { a.Repository.URL = "x\x00" }, "repository.url: contains a NUL byte"},
		{"no steps", func(a *queue.Args) { a.Script = nil }, "script: no steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.edit(&a)
			_, err := Script(a)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Script error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
