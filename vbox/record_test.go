package vbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecorderRedactsHostIdentifiers(t *testing.T) {
	var buf bytes.Buffer
	rec := &recorder{w: &buf, hostOS: "linux/amd64", red: newRedactor([][2]string{
		{"/home/alice", "<HOME>"}, {"alice", "<USER>"}, {"buildhost", "<HOST>"},
	})}
	fake := func(_ context.Context, args []string, _ io.Writer) (result, error) {
		if args[0] == "--version" {
			return result{stdout: []byte("7.0.14r161095\n")}, nil
		}
		return result{stdout: []byte("Settings file: '/home/alice/VirtualBox VMs/x/x.vbox'\n"),
			stderr: []byte("buildhost: alice was here\n"), exitCode: 1}, nil
	}
	run := rec.wrap(fake, func(err error) { t.Error(err) })
	for _, args := range [][]string{{"--version"}, {"import", "/home/alice/box.ovf", "--vsys", "0"}} {
		if _, err := run(context.Background(), args, nil); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	for _, secret := range []string{"alice", "buildhost"} {
		if strings.Contains(out, secret) {
			t.Errorf("transcript contains %q:\n%s", secret, out)
		}
	}
	entries, err := ParseTranscript(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(entries))
	}
	e := entries[1]
	if e.Args[1] != "<HOME>/box.ovf" || e.Exit != 1 || e.Version != "7.0.14r161095" || e.HostOS != "linux/amd64" ||
		e.Stderr != "<HOST>: <USER> was here\n" {
		t.Errorf("entry = %+v", e)
	}
}

func TestRecorderRecordsRunErrors(t *testing.T) {
	var buf bytes.Buffer
	rec := &recorder{w: &buf, red: newRedactor(nil)}
	fake := func(context.Context, []string, io.Writer) (result, error) {
		return result{exitCode: -1}, errors.New("exec: VBoxManage: not found")
	}
	if _, err := rec.wrap(fake, func(err error) { t.Error(err) })(context.Background(), []string{"list", "vms"}, nil); err == nil {
		t.Fatal("error not passed through")
	}
	entries, err := ParseTranscript(&buf)
	if err != nil || len(entries) != 1 || entries[0].Error == "" || entries[0].Exit != -1 {
		t.Fatalf("entries = %+v, err = %v", entries, err)
	}
}

func TestDriverRecordsToDirectory(t *testing.T) {
	dir := t.TempDir()
	d := New(Config{Manage: "/nonexistent/VBoxManage", Record: dir, LockDir: t.TempDir(), Retries: -1,
		CallTimeout: time.Second}, nil)
	_, _ = d.Version(context.Background())
	files, _ := filepathGlob(dir)
	if len(files) != 1 {
		t.Fatalf("transcript files = %v, want 1", files)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := d.Close(); err == nil {
		t.Error("second Close succeeded, want the file already closed")
	}
	if err := New(Config{}, nil).Close(); err != nil {
		t.Errorf("Close of a driver that does not record: %v", err)
	}
}

func TestParseTranscriptLocatesBadLines(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", "# c\n{\"format\":\"" + TranscriptFormat + "\",\"args\":[\"a\"]}\nnope\n", "line 3"},
		{"wrong format", `{"format":"x","args":["a"]}`, "line 1: format"},
		{"no args", `{"format":"` + TranscriptFormat + `"}`, "line 1: no args"},
		{"unknown field", `{"format":"` + TranscriptFormat + `","args":["a"],"pw":1}`, "line 1"},
		{"bad duration", `{"format":"` + TranscriptFormat + `","args":["a"],"duration":"soon"}`, "line 1: duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTranscript(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// FuzzParseTranscript: any input either parses into entries that re-encode and parse to the
// same entries, or is rejected with a located error; it never panics.
func FuzzParseTranscript(f *testing.F) {
	f.Add([]byte(`{"format":"` + TranscriptFormat + `","args":["list","vms"],"exit_code":0,"stdout":"\"a\" {u}\n","duration":"1ms"}`))
	f.Add([]byte("# comment\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseTranscript(bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("unlocated error %v", err)
			}
			return
		}
		for _, e := range entries {
			if e.Format != TranscriptFormat || len(e.Args) == 0 {
				t.Fatalf("accepted invalid entry %+v", e)
			}
		}
	})
}

func filepathGlob(dir string) ([]string, error) { return filepath.Glob(filepath.Join(dir, "*.jsonl")) }
