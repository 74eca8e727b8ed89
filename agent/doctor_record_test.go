package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// TestDoctorRecordWritesTranscript: `agent doctor --record DIR` leaves one transcript in DIR
// holding the VBoxManage calls doctor made, with the VirtualBox version, whether or not the
// host is ready (here Redis is unreachable).
func TestDoctorRecordWritesTranscript(t *testing.T) {
	sim := simtest.New(t)
	t.Setenv("VBOXSIM_HOME", sim.Home)
	dir := t.TempDir()
	path := writeFile(t, dir, "fleet.hcl", fmt.Sprintf(`host { state_dir = %q }
virtualbox { manage = %q }
queue { redis = "redis://127.0.0.1:1/0" }
box "lucid32" {
  version = "1"
  url     = "file:lucid32.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = 1
  memory = 128
}
`, filepath.Join(dir, "state"), sim.Bin))
	rec := filepath.Join(dir, "transcripts")
	code, stdout, stderr := runCLI(t, "doctor", "--record", rec, "-c", path)
	if code != exitError {
		t.Errorf("exit = %d, want %d (Redis is unreachable)\n%s%s", code, exitError, stdout, stderr)
	}
	files, err := filepath.Glob(filepath.Join(rec, "*.jsonl"))
	if err != nil || len(files) != 1 {
		t.Fatalf("transcripts = %v (%v), want one file\n%s", files, err, stdout)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := vbox.ParseTranscript(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || entries[0].Args[0] != "--version" || entries[0].Version == "" || entries[0].Exit != 0 {
		t.Errorf("entries = %+v, want the --version call with its version", entries)
	}
}
