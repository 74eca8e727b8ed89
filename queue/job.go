// This file defines the job payload (docs/JOBS.md) and its parser. The
// parser never re-serialises: Job.Raw keeps the exact bytes taken from Redis,
// because Resque and node-resque delete queue entries by exact bytes.

package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/fleet-agent/fleet/internal/jsontime"
)

// JobClass is the Resque class name of a fleet build job.
const JobClass = "Fleet::Build"

// Args is args[0] of a build job payload, as documented in docs/JOBS.md.
type Args struct {
	// ID names the job everywhere: fleet:job:<id>, logs, cancel.
	ID string `json:"id"`
	// Repository is what to clone.
	Repository Repository `json:"repository"`
	// Commit is the full or abbreviated (7+) hex commit to check out.
	Commit string `json:"commit"`
	// Branch is the branch the commit belongs to; optional.
	Branch string `json:"branch,omitempty"`
	// Env is a list of NAME=value pairs exported for every script step.
	Env []string `json:"env,omitempty"`
	// Script is the shell steps, run in order, stopping at the first failure.
	Script []string `json:"script"`
	// Timeout overrides the pool's hard job timeout when not zero.
	Timeout Duration `json:"timeout,omitempty"`
	// LogSilence overrides the pool's log-silence timeout when not zero.
	LogSilence Duration `json:"log_silence,omitempty"`
}

// Repository names the repository a job builds.
type Repository struct {
	// Slug is "owner/name".
	Slug string `json:"slug"`
	// URL is the clone URL (https, http, ssh, git, file or user@host:path).
	URL string `json:"url"`
}

// Job is one fetched job: the parsed arguments plus how it was delivered.
type Job struct {
	Args
	// Queue is the queue the job was taken from (without namespace).
	Queue string
	// Raw is the payload exactly as it was in the queue.
	Raw []byte
	// Attempt counts starts of this payload, 1 for the first.
	Attempt int
	// Fence is this attempt's fencing token (fence.go); 0 for a payload
	// without a job id.
	Fence int64
}

// Duration is a time.Duration written in JSON as a Go duration string ("50m", "1h30m").
type Duration = jsontime.Duration

// PayloadError says what is wrong with a payload. Each problem names the
// field it concerns.
type PayloadError struct {
	Problems []string
}

func (e *PayloadError) Error() string {
	return "invalid job payload: " + strings.Join(e.Problems, "; ")
}

// Exception is the class name written to Resque's failed list.
func (e *PayloadError) Exception() string { return "Fleet::InvalidPayload" }

var (
	idRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	slugRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	commitRe = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
	envRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	scpRe    = regexp.MustCompile(`^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^\s]+$`)
)

// Parse decodes and validates a payload. Every problem found is reported in
// one *PayloadError, so an operator fixes them in one go.
func Parse(raw []byte) (Args, error) {
	var env struct {
		Class *string           `json:"class"`
		Args  []json.RawMessage `json:"args"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		msg := "payload is not JSON: " + err.Error()
		var terr *json.UnmarshalTypeError
		if errors.As(err, &terr) && terr.Field == "" {
			msg = "payload is JSON but not an object"
		} else if errors.As(err, &terr) {
			msg = fmt.Sprintf("%s: JSON %s, want %s", terr.Field, terr.Value, map[string]string{
				"class": "a string", "args": "a list"}[terr.Field])
		}
		return Args{}, &PayloadError{Problems: []string{msg}}
	}
	var probs []string
	switch {
	case env.Class == nil:
		probs = append(probs, fmt.Sprintf("class: missing, want %q", JobClass))
	case *env.Class != JobClass:
		probs = append(probs, fmt.Sprintf("class: %q, want %q", *env.Class, JobClass))
	}
	if len(env.Args) != 1 {
		probs = append(probs, fmt.Sprintf("args: %d elements, want a list of exactly one object", len(env.Args)))
		return Args{}, &PayloadError{Problems: probs}
	}
	var a Args
	dec := json.NewDecoder(bytes.NewReader(env.Args[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		probs = append(probs, "args[0]: "+strings.TrimPrefix(err.Error(), "json: "))
		return Args{}, &PayloadError{Problems: probs}
	}
	probs = append(probs, a.problems()...)
	if len(probs) > 0 {
		return Args{}, &PayloadError{Problems: probs}
	}
	return a, nil
}

// Validate reports what is wrong with a, or nil.
func (a Args) Validate() error {
	if p := a.problems(); len(p) > 0 {
		return &PayloadError{Problems: p}
	}
	return nil
}

func (a Args) problems() []string {
	var p []string
	bad := func(format string, v ...any) { p = append(p, fmt.Sprintf(format, v...)) }
	switch {
	case a.ID == "":
		bad("args[0].id: required")
	case !idRe.MatchString(a.ID):
		bad("args[0].id: %q must be 1-128 of [A-Za-z0-9._-], starting with a letter or digit", a.ID)
	}
	switch {
	case a.Repository.Slug == "":
		bad("args[0].repository.slug: required")
	case !slugRe.MatchString(a.Repository.Slug):
		bad("args[0].repository.slug: %q is not owner/name", a.Repository.Slug)
	}
	if msg := checkCloneURL(a.Repository.URL); msg != "" {
		bad("args[0].repository.url: %s", msg)
	}
	switch {
	case a.Commit == "":
		bad("args[0].commit: required")
	case !commitRe.MatchString(a.Commit):
		bad("args[0].commit: %q is not a hex commit id of 7 to 64 digits", a.Commit)
	}
	if a.Branch != "" && !validBranch(a.Branch) {
		bad("args[0].branch: %q is not a valid branch name", a.Branch)
	}
	for i, e := range a.Env {
		if !envRe.MatchString(e) {
			bad("args[0].env[%d]: %q is not NAME=value", i, e)
		}
	}
	if len(a.Script) == 0 {
		bad("args[0].script: required, a list of at least one shell step")
	}
	for i, s := range a.Script {
		if strings.TrimSpace(s) == "" {
			bad("args[0].script[%d]: empty step", i)
		}
	}
	if a.Timeout < 0 {
		bad("args[0].timeout: negative")
	}
	if a.LogSilence < 0 {
		bad("args[0].log_silence: negative")
	}
	return p
}

func checkCloneURL(s string) string {
	switch {
	case s == "":
		return "required"
	case strings.HasPrefix(s, "-"):
		return fmt.Sprintf("%q starts with '-'", s)
	case strings.ContainsAny(s, " \t\r\n"):
		return fmt.Sprintf("%q contains white space", s)
	case scpRe.MatchString(s) && !strings.Contains(s, "://"):
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q: %v", s, err)
	}
	switch u.Scheme {
	case "https", "http", "ssh", "git":
		if u.Host == "" {
			return fmt.Sprintf("%q has no host", s)
		}
	case "file":
		if u.Path == "" {
			return fmt.Sprintf("%q has no path", s)
		}
	default:
		return fmt.Sprintf("%q: scheme %q, want https, http, ssh, git, file or user@host:path", s, u.Scheme)
	}
	return ""
}

// validBranch applies the parts of git-check-ref-format that matter for a
// value passed to git on a command line.
func validBranch(b string) bool {
	if strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") ||
		strings.HasSuffix(b, ".lock") || strings.HasSuffix(b, ".") || strings.Contains(b, "..") ||
		strings.Contains(b, "@{") || strings.Contains(b, "//") || len(b) > 255 {
		return false
	}
	for _, r := range b {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r) {
			return false
		}
	}
	return true
}

// Encode builds the payload for a into queue q, in the shape node-resque
// writes: {"class":…,"queue":…,"args":[…]}.
func Encode(q string, a Args) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	payload := struct {
		Class string `json:"class"`
		Queue string `json:"queue"`
		Args  []Args `json:"args"`
	}{JobClass, q, []Args{a}}
	return marshalCompact(payload)
}

// marshalCompact encodes v like JavaScript's JSON.stringify would for the
// same value: compact, and without Go's HTML escaping, so that node-resque
// can delete our records by exact bytes.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
