package vbox

// Transcript tests: each operation is run against an ordered list of expected VBoxManage argv
// with canned output taken from the real samples. Any other call fails the test.

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// step is one expected VBoxManage call and its canned answer.
type step struct {
	args           []string
	stdout, stderr string
	exit           int
}

// transcript replaces the exec seam with a list of expected steps.
type transcript struct {
	t     testing.TB
	mu    sync.Mutex
	steps []step
	next  int
}

func (tr *transcript) run(_ context.Context, args []string, progress io.Writer) (result, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.next >= len(tr.steps) {
		tr.t.Errorf("unexpected call %q after the transcript ended", args)
		return result{exitCode: 2, stderr: []byte("VBoxManage: error: unexpected call\n")}, nil
	}
	s := tr.steps[tr.next]
	if diff := cmp.Diff(s.args, args); diff != "" {
		tr.t.Errorf("call %d: unexpected argv (-want +got):\n%s", tr.next, diff)
		return result{exitCode: 2, stderr: []byte("VBoxManage: error: unexpected call\n")}, nil
	}
	tr.next++
	if progress != nil {
		_, _ = io.WriteString(progress, s.stderr)
	}
	return result{stdout: []byte(s.stdout), stderr: []byte(s.stderr), exitCode: s.exit}, nil
}

// transcriptDriver returns a driver whose every call must follow steps, in order, and checks
// at the end of the test that all steps were used.
func transcriptDriver(t *testing.T, steps ...step) *Driver {
	t.Helper()
	tr := &transcript{t: t, steps: steps}
	d := New(Config{Retries: 3, RetryBase: time.Microsecond, PollInterval: time.Microsecond,
		LockDir: t.TempDir(), PortRange: [2]int{2222, 2224}}, nil)
	d.run = tr.run
	t.Cleanup(func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.next != len(tr.steps) {
			t.Errorf("transcript: %d of %d calls made; next expected %q", tr.next, len(tr.steps), tr.steps[tr.next].args)
		}
	})
	return d
}

// sample returns a sample's text (without its source line) for canned output.
func sample(t *testing.T, name string) string { return string(readSample(t, name)) }

// sampleLines returns lines [from, to) of a sample, for captures that mix stdout and stderr.
func sampleLines(t *testing.T, name string, from, to int) string {
	lines := strings.SplitAfter(sample(t, name), "\n")
	return strings.Join(lines[from:to], "")
}

const (
	progress100 = "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"
	vm          = "w1"
)

func infoOut(state string) string {
	return "name=\"w1\"\nUUID=\"" + uuidA + "\"\nVMState=\"" + state + "\"\nnic1=\"nat\"\nForwarding(0)=\"ssh,tcp,127.0.0.1,2222,,22\"\n"
}

var lockedErr = "VBoxManage: error: The machine 'w1' is already locked for a session (or being unlocked)\n" +
	"VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n" +
	"VBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line 525 of file VBoxManageModifyVM.cpp\n"
