// Package simtest gives tests of other packages a VirtualBox simulator: the
// vboxsim binary built once per test process, and a fresh VBOXSIM_HOME per
// test whose guests are killed on cleanup.
package simtest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the vboxsim binary once per test process and returns its
// path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vboxsim-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vboxsim")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/fleet-agent/fleet/vbox/vboxsim/cmd/vboxsim")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = errors.New("build vboxsim: " + err.Error() + "\n" + out.String())
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// Sim is one simulated VirtualBox installation.
type Sim struct {
	// Home is the VBOXSIM_HOME directory.
	Home string
	// Bin is the vboxsim binary, to use as the driver's VBoxManage.
	Bin string
	// profile is the VBOXSIM_PROFILE value, empty for none.
	profile string
	// version is the VBOXSIM_VERSION value, empty for the simulator's default (7.0).
	version string
	boxes   atomic.Int64
}

// New makes a simulator with an empty state directory. The directory is
// outside /tmp when possible, so guests can bind the disk's tmp on /tmp.
// Cleanup kills every guest process it started and removes the directory.
func New(tb testing.TB) *Sim {
	tb.Helper()
	s := &Sim{Bin: Binary(tb)}
	home, err := os.MkdirTemp("/var/tmp", "vboxsim-")
	if err != nil {
		home = tb.TempDir()
	}
	s.Home = home
	tb.Cleanup(func() {
		if err := vboxsim.KillGuests(s.Home); err != nil {
			tb.Errorf("kill guests: %v", err)
		}
		os.RemoveAll(s.Home)
	})
	return s
}

// Env returns the environment entries the driver must add when it runs
// Bin: VBOXSIM_HOME and, if set, VBOXSIM_PROFILE and VBOXSIM_VERSION.
func (s *Sim) Env() []string {
	env := []string{"VBOXSIM_HOME=" + s.Home}
	if s.profile != "" {
		env = append(env, "VBOXSIM_PROFILE="+s.profile)
	}
	if s.version != "" {
		env = append(env, "VBOXSIM_VERSION="+s.version)
	}
	return env
}

// SetVersion makes every later call (and every driver made with Env after it) simulate
// VirtualBox version v as `--version` prints it ("6.1.50r161033"); "" is the default 7.0.
func (s *Sim) SetVersion(v string) { s.version = v }

// SetProfile makes every later call use the given latency profile text
// (see vboxsim.ParseProfile), or "realistic".
func (s *Sim) SetProfile(tb testing.TB, text string) {
	tb.Helper()
	if text == "realistic" || text == "" {
		s.profile = text
		return
	}
	p := filepath.Join(s.Home, "profile.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	s.profile = p
}

// Inject replaces the simulator's fault-injection rules.
func (s *Sim) Inject(tb testing.TB, faults ...vboxsim.Fault) {
	tb.Helper()
	if err := vboxsim.WriteFaults(s.Home, faults...); err != nil {
		tb.Fatal(err)
	}
}

// MakeBox writes a Vagrant-format box into the simulator's home and returns
// the path of its box.ovf.
func (s *Sim) MakeBox(tb testing.TB, opts vboxsim.BoxOptions) string {
	tb.Helper()
	dir := filepath.Join(s.Home, "boxes", strconv.FormatInt(s.boxes.Add(1), 10))
	p, err := vboxsim.MakeBox(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Run runs the simulator with args and returns stdout, stderr and the exit
// code. It fails the test only if the binary cannot be run at all.
func (s *Sim) Run(tb testing.TB, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = append(os.Environ(), s.Env()...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tb.Fatalf("run vboxsim %v: %v", args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}
