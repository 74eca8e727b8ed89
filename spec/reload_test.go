package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// leafFields lists the field paths of t the reload table must classify: fields of nested block
// structs are listed one by one; slices, maps and scalar types are leaves.
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		path := prefix + f.Name
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) && ft != reflect.TypeOf(hcl.Range{}) {
			out = append(out, leafFields(ft, path+".")...)
			continue
		}
		out = append(out, path)
	}
	return out
}

func TestReloadClassesCoverEveryField(t *testing.T) {
	fields := leafFields(reflect.TypeOf(Fleet{}), "")
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f] = true
		if _, ok := reloadClasses[f]; !ok {
			t.Errorf("fleet.hcl field %s has no reload class: add one line to reloadClasses in spec/reload.go", f)
		}
	}
	for f := range reloadClasses {
		if !seen[f] {
			t.Errorf("reloadClasses names %s, which is not a field of Fleet", f)
		}
	}
}

func TestClassifyReloadReportsEachChangedSetting(t *testing.T) {
	base := func() *Fleet {
		return &Fleet{
			Host:      Host{Name: "build-01", StateDir: "/var/lib/fleet"},
			Queue:     Queue{Redis: "redis://127.0.0.1:6379/0", Namespace: "resque", MaxAttempts: 3},
			Reconcile: Reconcile{Resync: 30 * time.Second},
			Pools:     []*Pool{{Name: "ruby", VMs: 2}},
			Reports:   []*Report{{Kind: "http", URL: "http://127.0.0.1:9/hook", DeclRange: hcl.Range{Filename: "fleet.hcl", Start: hcl.Pos{Line: 9}}}},
		}
	}
	tests := []struct {
		name string
		edit func(f *Fleet)
		want []ReloadChange
	}{
		{"no change", func(*Fleet) {}, nil},
		{"a moved block is no change", func(f *Fleet) { f.Reports[0].DeclRange.Start.Line = 12 }, nil},
		{"a report endpoint reloads live", func(f *Fleet) { f.Reports[0].URL = "http://127.0.0.1:9/other" },
			[]ReloadChange{{"Reports", ReloadLive}}},
		{"state_dir needs a restart", func(f *Fleet) { f.Host.StateDir = "/srv/fleet" },
			[]ReloadChange{{"Host.StateDir", ReloadRestart}}},
		{"pool count is reconciled", func(f *Fleet) { f.Pools[0].VMs = 3 },
			[]ReloadChange{{"Pools", ReloadReplace}}},
		{"several blocks, sorted", func(f *Fleet) { f.Queue.Namespace = "ci"; f.Reconcile.Resync = time.Minute },
			[]ReloadChange{{"Queue.Namespace", ReloadLive}, {"Reconcile.Resync", ReloadLive}}},
		{"host name needs a restart beside a live queue move", func(f *Fleet) { f.Host.Name = "build-02"; f.Queue.Redis = "redis://127.0.0.1:6380/0" },
			[]ReloadChange{{"Host.Name", ReloadRestart}, {"Queue.Redis", ReloadLive}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, new := base(), base()
			tt.edit(new)
			got := ClassifyReload(old, new)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ClassifyReload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReloadClassesAreKnown(t *testing.T) {
	for f, c := range reloadClasses {
		switch c {
		case ReloadLive, ReloadRestart, ReloadReplace:
		default:
			t.Errorf("%s: unknown class %q", f, c)
		}
		if strings.TrimSpace(f) != f {
			t.Errorf("field path %q has spaces", f)
		}
	}
}

// TestRestartDiagnosticsLocateEachSetting checks that a restart-only edit is reported on its
// attribute, on its block when the attribute was removed, and never with the setting's value.
func TestRestartDiagnosticsLocateEachSetting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.hcl")
	src := "host {\n  state_dir = \"/srv/fleet\"\n}\nvirtualbox {\n  ssh_port_range = [2200, 2300]\n}\nqueue {\n  redis = \"redis://:hunter2@127.0.0.1:6379/0\"\n}\nmetrics {}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field, setting string
		line           int
	}{
		{"Host.StateDir", "host.state_dir", 2},
		{"VirtualBox.SSHPortRange", "virtualbox.ssh_port_range", 5},
		{"Queue.Redis", "queue.redis", 8},
		{"Metrics.Listen", "metrics.listen", 10},    // attribute removed: its block
		{"Reconcile.Resync", "reconcile.resync", 1}, // block absent: the file
	}
	for _, c := range cases {
		t.Run(c.setting, func(t *testing.T) {
			ch := ReloadChange{Field: c.field, Class: ReloadRestart}
			if got := ch.Setting(); got != c.setting {
				t.Errorf("Setting() = %q, want %q", got, c.setting)
			}
			diags, text := RestartDiagnostics([]ReloadChange{ch}, []string{path})
			if len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Start.Line != c.line || diags[0].Subject.Filename != path {
				t.Fatalf("diags = %v, want one on %s line %d", diags, path, c.line)
			}
			for _, want := range []string{"Restart needed", c.setting, fmt.Sprintf("%s line %d", path, c.line)} {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "hunter2") {
				t.Errorf("detail holds the queue password: %s", diags[0].Detail)
			}
		})
	}
}

// TestLiveDiagnosticsLocateTheSettingWithoutItsValue: a live setting the agent failed to take
// is reported on its attribute with the cause, and never with the setting's value.
func TestLiveDiagnosticsLocateTheSettingWithoutItsValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.hcl")
	src := "queue {\n  redis = \"redis://:hunter2@127.0.0.1:6379/0\"\n}\nmetrics {\n  listen = \"127.0.0.1:9464\"\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		setting string
		line    int
	}{{"queue.redis", 2}, {"metrics.listen", 5}, {"web.listen", 1}} {
		t.Run(c.setting, func(t *testing.T) {
			diags, text := LiveDiagnostics(c.setting, "address already in use", []string{path})
			if len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Start.Line != c.line {
				t.Fatalf("diags = %v, want one on line %d", diags, c.line)
			}
			for _, want := range []string{"Error: Edit not applied", c.setting + " changed", "address already in use", fmt.Sprintf("%s line %d", path, c.line)} {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "hunter2") {
				t.Errorf("text holds the queue password:\n%s", text)
			}
		})
	}
}
