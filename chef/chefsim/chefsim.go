// Package chefsim is the test side of the simulator's chef-solo stand-in
// (chef/cmd/chef-solo-sim): the record it leaves in the guest, a reader for it, and a helper that
// builds the binary once per test process so that tests can put it into a simulator box with
// `vboxsim make-box --bin`.
package chefsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// RecordRel is where, relative to the guest's root (the folder above the stand-in's bin/), the
// stand-in appends one JSON line per run. The environment variable CHEF_SOLO_SIM_RECORD, when
// set, names the file instead.
const RecordRel = "var/lib/chef-solo-sim/runs.jsonl"

// Run is one run of the stand-in as recorded in the guest.
type Run struct {
	// Config and JSON are the -c and -j paths as given.
	Config string `json:"config"`
	JSON   string `json:"json"`
	// CookbookPath are the cookbook folders solo.rb named, made absolute.
	CookbookPath []string `json:"cookbook_path"`
	// RunList is the node JSON's run_list as written (`recipe[rvm::multi]`).
	RunList []string `json:"run_list"`
	// Applied are the recipes converged, in order, as `cookbook::recipe`, includes expanded.
	Applied []string `json:"applied"`
	// Attributes are the node JSON without run_list.
	Attributes map[string]any `json:"attributes"`
	// User is the user name the stand-in ran as ($USER or $SUDO_USER).
	User string `json:"user,omitempty"`
	// OK reports success; Error is the failure chef printed.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// RecordPath is the record file of a guest whose root folder is root.
func RecordPath(root string) string { return filepath.Join(root, filepath.FromSlash(RecordRel)) }

// ReadRuns returns the runs recorded under the guest root, oldest first; none when the stand-in
// never ran.
func ReadRuns(root string) ([]Run, error) {
	f, err := os.Open(RecordPath(root))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read chef-solo-sim runs: %w", err)
	}
	defer f.Close()
	var runs []Run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("read chef-solo-sim runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read chef-solo-sim runs: %w", err)
	}
	return runs, nil
}

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary builds the stand-in once per test process and returns the path of an executable named
// chef-solo (the name boxes need on PATH).
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "chef-solo-sim-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "chef-solo")
		cmd := exec.Command("go", "build", "-o", build.path, "github.com/fleet-agent/fleet/chef/cmd/chef-solo-sim")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build chef-solo-sim: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}
