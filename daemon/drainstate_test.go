package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDrainStateRoundTrip(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		in   DrainState
		want DrainState
	}{
		{"not draining", DrainState{}, DrainState{}},
		{"draining", DrainState{Draining: true, Since: since}, DrainState{Draining: true, Since: since}},
		{"draining with deadline and force", DrainState{Draining: true, Since: since, Deadline: since.Add(time.Hour), Force: true},
			DrainState{Draining: true, Since: since, Deadline: since.Add(time.Hour), Force: true}},
		{"resumed state drops leftovers", DrainState{Draining: false, Since: since}, DrainState{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := SaveDrainState(dir, c.in); err != nil {
				t.Fatal(err)
			}
			got, err := LoadDrainState(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			st, _ := os.Stat(filepath.Join(dir, DrainFile))
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", st.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("state dir holds %d files, want 1 (temp file left behind?)", len(entries))
			}
		})
	}
}

func TestLoadDrainState(t *testing.T) {
	cases := []struct {
		name    string
		content *string
		want    DrainState
		wantErr bool
	}{
		{"missing file is not draining", nil, DrainState{}, false},
		{"corrupt file is an error, not a resume", ptr("{\"draining\": tr"), DrainState{}, true},
		{"unknown fields are ignored", ptr(`{"draining":true,"by":"ops"}`), DrainState{Draining: true}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.content != nil {
				os.WriteFile(filepath.Join(dir, DrainFile), []byte(*c.content), 0o600)
			}
			got, err := LoadDrainState(dir)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func FuzzParseDrainState(f *testing.F) {
	for _, s := range []string{`{"draining":true,"since":"2026-01-02T03:04:05Z"}`, `{"draining":false}`, `{}`, `null`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseDrainState(b)
		if err != nil {
			return
		}
		if !s.Draining && s != (DrainState{}) {
			t.Errorf("not draining but carries %+v", s)
		}
	})
}
