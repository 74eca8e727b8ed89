package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vmFake is a fakeHandler that also serves single-VM operations, recording each call.
type vmFake struct {
	*fakeHandler
	calls []string
	err   error
}

func (f *vmFake) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.calls = append(f.calls, call)
	return nil
}

func (f *vmFake) DrainVMs(vms []string, r DrainRequest) error {
	if err := f.record("drain " + strings.Join(vms, ",")); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.st.VMs {
		f.st.VMs[i].Drained = true
	}
	return nil
}
func (f *vmFake) ResumeVMs(vms []string) error { return f.record("resume " + strings.Join(vms, ",")) }
func (f *vmFake) Replace(target string) error  { return f.record("replace " + target) }
func (f *vmFake) Restart(vms []string, force bool) error {
	if force {
		return f.record("restart --force " + strings.Join(vms, ","))
	}
	return f.record("restart " + strings.Join(vms, ","))
}

func TestVMRequestsReachTheVMHandler(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want []string
	}{
		{"drain one worker", Request{Op: OpDrain, VMs: []string{"ruby-2"}}, []string{"drain ruby-2"}},
		{"resume two workers", Request{Op: OpResume, VMs: []string{"ruby-1", "ruby-2"}}, []string{"resume ruby-1,ruby-2"}},
		{"replace a golden", Request{Op: OpReplace, Target: "golden.ruby"}, []string{"replace golden.ruby"}},
		{"restart with force", Request{Op: OpRestart, VMs: []string{"ruby-1"}, Force: true}, []string{"restart --force ruby-1"}},
		{"host-wide drain is not a VM drain", Request{Op: OpDrain}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &vmFake{fakeHandler: newFake()}
			s := serve(t, h)
			if _, err := Call(context.Background(), s.Path(), c.req, nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, h.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVMRequestRefusalIsReported(t *testing.T) {
	h := &vmFake{fakeHandler: newFake(), err: errors.New("ruby-7: unknown target; valid targets: ruby-1")}
	s := serve(t, h)
	_, err := Call(context.Background(), s.Path(), Request{Op: OpRestart, VMs: []string{"ruby-7"}}, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "valid targets: ruby-1") {
		t.Fatalf("err = %v, want ErrRefused with the valid targets", err)
	}
}

// TestDrainVMWaitEndsWhenItsJobEnds: drain --wait of one worker waits for that worker's job
// only; jobs on other VMs do not hold it.
func TestDrainVMWaitEndsWhenItsJobEnds(t *testing.T) {
	h := &vmFake{fakeHandler: newFake()}
	h.setJobs(2) // vma and vmb run jobs
	s := serve(t, h)
	progress := make(chan Response, 8)
	done := make(chan error, 1)
	go func() {
		_, err := Call(context.Background(), s.Path(), Request{Op: OpDrain, VMs: []string{"vmb"}, Drain: &DrainRequest{Wait: true}},
			func(r Response) { progress <- r })
		done <- err
	}()
	<-progress // vmb still runs its job
	h.mu.Lock()
	h.st.VMs[1].Job = nil // vmb idle, vma still busy
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
