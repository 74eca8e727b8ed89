package vbox

// VBoxManage transcripts: Config.Record makes the driver write every VBoxManage call it makes
// as one JSON line (docs/CONTRIBUTING.md "Sending a VBoxManage transcript"). Home directory,
// temporary directory, user name and host name are redacted before anything is written, so a
// transcript can be attached to an issue as is.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// TranscriptFormat is the value of every entry's "format" field.
const TranscriptFormat = "fleet-vboxmanage-transcript/1"

// Entry is one recorded VBoxManage call: one line of a transcript file.
type Entry struct {
	Format   string   `json:"format"`
	Args     []string `json:"args"`
	Exit     int      `json:"exit_code"`
	Stdout   string   `json:"stdout"`
	Stderr   string   `json:"stderr"`
	Duration string   `json:"duration"` // Go duration, e.g. "1.25s"
	// Version is the VirtualBox version (`VBoxManage --version`), empty when not yet known.
	Version string `json:"vbox_version"`
	HostOS  string `json:"host_os"` // GOOS/GOARCH of the recording host
	// Error is set when the process could not be run to completion (not installed, killed).
	Error string `json:"error,omitempty"`
}

// Redactor replaces host-identifying strings with placeholders.
type Redactor struct {
	pairs [][2]string // from, to; longest first
}

// NewRedactor returns a redactor for the current host: home and temporary directories, user
// name and host name.
func NewRedactor() *Redactor {
	var pairs [][2]string
	add := func(from, to string) {
		if len(from) >= 3 { // very short names would shred ordinary words
			pairs = append(pairs, [2]string{from, to})
		}
	}
	if h, err := os.UserHomeDir(); err == nil && h != "/" {
		add(filepath.Clean(h), "<HOME>")
	}
	if t := filepath.Clean(os.TempDir()); t != "/tmp" {
		add(t, "<TMP>")
	}
	if u, err := user.Current(); err == nil {
		add(u.Username, "<USER>")
	}
	if h, err := os.Hostname(); err == nil {
		add(h, "<HOST>")
		if short, _, ok := strings.Cut(h, "."); ok {
			add(short, "<HOST>")
		}
	}
	return newRedactor(pairs)
}

func newRedactor(pairs [][2]string) *Redactor {
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	return &Redactor{pairs: pairs}
}

// Redact returns s with every known identifying string replaced.
func (r *Redactor) Redact(s string) string {
	for _, p := range r.pairs {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// recorder appends entries to one transcript file.
type recorder struct {
	mu      sync.Mutex
	w       io.Writer
	red     *Redactor
	version string
	hostOS  string
}

func (rec *recorder) write(args []string, res result, took time.Duration, runErr error) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(args) == 1 && args[0] == "--version" && res.exitCode == 0 && runErr == nil {
		rec.version = strings.TrimSpace(string(res.stdout))
	}
	e := Entry{Format: TranscriptFormat, Exit: res.exitCode, Duration: took.Round(time.Millisecond).String(),
		Stdout: rec.red.Redact(string(res.stdout)), Stderr: rec.red.Redact(string(res.stderr)),
		Version: rec.version, HostOS: rec.hostOS}
	for _, a := range args {
		e.Args = append(e.Args, rec.red.Redact(a))
	}
	if runErr != nil {
		e.Error = rec.red.Redact(runErr.Error())
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode transcript entry: %w", err)
	}
	if _, err := rec.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write transcript entry: %w", err)
	}
	return nil
}

// wrap returns run with every call recorded.
func (rec *recorder) wrap(run runFunc, log func(error)) runFunc {
	return func(ctx context.Context, args []string, progress io.Writer) (result, error) {
		start := time.Now()
		res, err := run(ctx, args, progress)
		if werr := rec.write(args, res, time.Since(start), err); werr != nil {
			log(werr)
		}
		return res, err
	}
}

// Close closes the transcript file of a driver made with Config.Record (calls after it are no
// longer recorded; their write errors are logged). It is a no-op for other drivers.
func (d *Driver) Close() error {
	if d.record == nil {
		return nil
	}
	if err := d.record.Close(); err != nil {
		return fmt.Errorf("close transcript: %w", err)
	}
	return nil
}

// processStart names the transcript file: every driver of one process recording to the same
// directory appends to one file (each entry is one write of a whole line, O_APPEND).
var processStart = time.Now()

// openRecorder creates (or appends to) this process's transcript file in dir.
func openRecorder(dir string) (*recorder, *os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("transcript directory: %w", err)
	}
	name := fmt.Sprintf("vboxmanage-%s-%d.jsonl", processStart.UTC().Format("20060102T150405Z"), os.Getpid())
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("transcript file: %w", err)
	}
	return &recorder{w: f, red: NewRedactor(), hostOS: runtime.GOOS + "/" + runtime.GOARCH}, f, nil
}

// ParseTranscript reads a transcript: one JSON Entry per line; blank lines and lines starting
// with '#' are ignored. An error names the line.
func ParseTranscript(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: trailing data after the entry", line)
		}
		if e.Format != TranscriptFormat {
			return nil, fmt.Errorf("line %d: format %q, want %q", line, e.Format, TranscriptFormat)
		}
		if len(e.Args) == 0 {
			return nil, fmt.Errorf("line %d: no args", line)
		}
		if e.Duration != "" {
			if _, err := time.ParseDuration(e.Duration); err != nil {
				return nil, fmt.Errorf("line %d: duration: %w", line, err)
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}
